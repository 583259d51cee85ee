"""Composition root of the Functions app: build the app, register blueprints. Nothing else."""

import azure.durable_functions as df
import azure.functions as func

from triggers.health import bp as health_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health_bp)
