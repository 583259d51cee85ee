"""``python -m cli`` is the ``dq`` command."""

from cli import run

run()
