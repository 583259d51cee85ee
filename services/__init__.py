"""Transport-agnostic services: what the CLI and the HTTP API both call (no web framework here)."""
