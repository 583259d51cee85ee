"""The ``dq`` command line.

The commands are imported with the garbage collector off: the modules, the contract's pydantic
models and polars are never garbage, and the collections that ran while they were built cost
every command about 0.05 s. :func:`~cli.main.run` (the ``dq`` process) then freezes them.
"""

import gc

_collecting = gc.isenabled()
gc.disable()
try:
    from cli.main import main, run
finally:
    if _collecting:
        gc.enable()

__all__ = ["main", "run"]
