"""Actions after a run: which fire, and the executor registry that delivers them."""
