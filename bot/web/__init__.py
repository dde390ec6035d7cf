"""MiniBot's HTTP side (aiohttp): the REST API under /api/, /health, /metrics, the OpenAPI document
and the dashboard. `app.build_app(WebContext)` assembles it; `app.start_server` serves it."""
