"""Running checks and jobs."""
