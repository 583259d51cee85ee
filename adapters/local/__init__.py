"""Local adapters that read the process environment (kept out of dq_core)."""
