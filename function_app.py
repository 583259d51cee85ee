"""Composition root of the Functions app: build the app, register blueprints. Nothing else."""

import azure.durable_functions as df
import azure.functions as func

from activities.blueprint import bp as activities_bp
from monitoring.telemetry import configure_monitoring
from orchestrators.blueprint import bp as orchestrators_bp
from triggers.api import bp as api_bp
from triggers.blob_events import bp as blob_events_bp
from triggers.retention import bp as retention_bp
from triggers.schedules import bp as schedules_bp

configure_monitoring()  # DQ_LOG_FORMAT; Application Insights when its connection string is set
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)  # the API's own trigger is anonymous: it checks tokens
app.register_functions(api_bp)
app.register_functions(blob_events_bp)
app.register_functions(schedules_bp)
app.register_functions(retention_bp)
app.register_functions(orchestrators_bp)
app.register_functions(activities_bp)
