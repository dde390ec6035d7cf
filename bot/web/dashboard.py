"""The dashboard: one static page (bot/web/static/) that shows a campaign's live view in a browser, and
the JSON it polls, GET /api/campaigns/{id}/live (bot.campaign.live, the figures of `minibot campaign
monitor`).

The page and its assets are public (they hold no data); the figures are under /api/, so the API's key
middleware guards them like every other route. The page asks for the key in a form, keeps it in the
tab's sessionStorage and sends it only in the X-API-Key header, never in a URL.

No build step and no CDN (MiniBot's machines may be offline): plain HTML, CSS and JavaScript, the chart
drawn as SVG by the page itself. Only the files named in ASSETS are served, so no path from a request
ever reaches the file system.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..campaign.live import live_view
from .context import context
from .routes import parse_query, path_id, reply

STATIC = Path(__file__).parent / "static"
PAGE = "dashboard.html"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
LIVE_PATH = "/api/campaigns/{id}/live"

# The page loads nothing from elsewhere and talks only to its own origin; inline script and style are
# refused, so an injected string can never run. No framing (clickjacking of the key form).
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


class LiveQuery(BaseModel):
    """GET /api/campaigns/{id}/live's query: the chart's bucket and window."""

    model_config = ConfigDict(extra="forbid")

    bucket_minutes: int = Field(5, ge=1, le=1440, description="width of the chart's time buckets, minutes "
                                "(widened so the chart has at most 288 buckets)")
    hours: float | None = Field(None, gt=0, le=24 * 366, description="only the last hours in the chart "
                                "(default: the campaign's whole life)")


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / PAGE, headers={**HEADERS, "Content-Type": "text/html; charset=utf-8"})


async def asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers={**HEADERS, "Content-Type": f"{content_type}; charset=utf-8"})


async def live(request: web.Request) -> web.Response:
    """The campaign's live view as JSON; 404 for an unknown campaign (the API's error middleware turns
    the store's LookupError into it)."""
    campaign_id = path_id(request)
    query = parse_query(request, LiveQuery)
    view = await live_view(context(request).db.pool, campaign_id, bucket_minutes=query.bucket_minutes,
                           hours=query.hours)
    return reply(view, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    """GET /dashboard, its assets under /dashboard/static/, and GET /api/campaigns/{id}/live."""
    app.router.add_get("/dashboard", page)
    app.router.add_get("/dashboard/static/{name}", asset)
    app.router.add_get(LIVE_PATH, live)
