"""What an author needs besides the models: the rule reference (docs/rules.md) and the
JSON Schemas editors validate authoring files with (schemas/), both generated from the
pydantic models so that neither can say something the loader does not accept."""
