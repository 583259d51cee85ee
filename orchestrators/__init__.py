"""Durable orchestrators: deterministic generators that only yield activities (arrive with orchestration)."""
