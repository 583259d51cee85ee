"""Profiling: mergeable per-chunk states, merged into one profile per dataset."""
