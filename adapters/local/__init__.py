"""Embedded adapters: SQLite, a local folder and the process environment behind the ports,
for `dq` with no services."""
