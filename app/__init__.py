"""Composition helpers shared by triggers and activities: settings, lazily built clients."""
