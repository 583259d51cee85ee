"""Liveness: the app is indexed and answers. Readiness arrives with the stores."""

from __future__ import annotations

import json

import azure.functions as func

from app.settings import get_settings

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves __init__ unannotated


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    body = {"status": "ok", "environment": get_settings().environment.value}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
