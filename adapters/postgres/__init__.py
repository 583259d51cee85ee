"""PostgreSQL adapters: the registry of configuration objects (ContractStore)."""
