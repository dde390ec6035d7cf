"""The aiohttp application: middlewares (JSON errors outside, the API key inside), every route table,
the dashboard, the OpenAPI document; and a way to serve it whose access log leaves out query strings.

    app = build_app(WebContext(db=db, api_key=settings.api.key.get_secret_value() if settings.api.key else None))
    runner = await start_server(app, settings.api.host, settings.api.port)
    ...
    await runner.cleanup()
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from . import dashboard
from .auth import auth_middleware
from .context import CTX, WebContext
from .errors import error_middleware
from .openapi import DASHBOARD_ROUTES, OPENAPI, build_document
from .routes import Route, calls, campaigns, contacts, exports, scenarios, system, webhooks

access_log = logging.getLogger("bot.web.access")

ROUTES: tuple[Route, ...] = (*system.ROUTES, *campaigns.ROUTES, *contacts.ROUTES, *calls.ROUTES, *exports.ROUTES,
                             *scenarios.ROUTES, *webhooks.ROUTES)


def documented_routes() -> tuple[Route, ...]:
    """What the OpenAPI document describes: the tables, and the routes the dashboard adds."""
    return ROUTES + DASHBOARD_ROUTES


def add_routes(app: web.Application, routes: Iterable[Route]) -> None:
    for route in routes:
        if route.handler is None:
            continue
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)  # HEAD too
        else:
            app.router.add_route(route.method, route.path, route.handler)


def build_app(ctx: WebContext) -> web.Application:
    # client_max_size bounds bodies read whole (JSON); multipart uploads are streamed and capped by the handler
    app = web.Application(middlewares=[error_middleware, auth_middleware],
                          client_max_size=ctx.max_upload_bytes)
    app[CTX] = ctx
    add_routes(app, ROUTES)
    dashboard.add_routes(app)
    app[OPENAPI] = build_document(documented_routes(), version=system.minibot_version())
    return app


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, size, duration. Never the query string (it may
    hold a phone number filter, or a key someone put there by mistake) nor any header."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %s %.1fms", request.method, request.path, response.status,
                         response.body_length, time * 1000)


async def start_server(app: web.Application, host: str = "127.0.0.1", port: int = 8080) -> web.AppRunner:
    """Serve `app` on host:port (port 0: any free port, see runner.addresses); `await runner.cleanup()`
    stops it."""
    runner = web.AppRunner(app, access_log_class=AccessLogger, access_log=access_log)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
