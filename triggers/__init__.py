"""Azure Functions entry points (HTTP, blob/Event Grid, timer), as blueprints."""
