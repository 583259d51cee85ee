"""Durable activities: thin, JSON in and out, delegating to dq_core (arrive with orchestration)."""
