"""The ``dq`` command line."""

from cli.main import main, run

__all__ = ["main", "run"]
