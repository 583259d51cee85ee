"""Embedded defaults: SQLite and a local folder behind the same ports, for `dq` with no services."""
