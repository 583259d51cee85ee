"""Run lineage, step entities, audit events and metric history."""
