"""The configuration registry: stored objects, their lifecycle, promotion between environments."""
