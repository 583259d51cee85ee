"""Monitoring of the running app: structured logs with their context, OpenTelemetry spans and metrics."""
