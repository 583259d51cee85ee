"""The ``dq`` command line."""

from dq_core.cli.main import main

__all__ = ["main"]
