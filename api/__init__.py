"""The HTTP API: one FastAPI application, hosted by the Functions app (an ASGI adapter in
``triggers/api.py``) and by ``dq serve`` (uvicorn). Routers stay thin over the services."""
