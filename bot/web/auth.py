"""X-API-Key on everything under /api/; `/`, /health, /metrics, /openapi.json and the dashboard page
are public (the dashboard's figures come from /api/ and need the key).

The key is compared in constant time (hmac.compare_digest on bytes) so response timing says nothing
about how much of a guess was right. A key in the query string is refused outright, on every path:
URLs end up in access logs, proxy logs and browser history, so such a key must be taken as leaked.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from .context import context
from .errors import ApiError, Handler

HEADER = "X-API-Key"
QUERY_KEYS = frozenset({"api_key", "apikey", "api-key", "key", "token", "access_token", "x-api-key"})
PROTECTED = "/api/"


def is_protected(path: str) -> bool:
    return path.startswith(PROTECTED) or path == PROTECTED.rstrip("/")


def check_key(given: str | None, expected: str | None) -> None:
    """ApiError 401 unless `given` is the configured key."""
    if not expected:
        raise ApiError(401, "the API key is not configured on the server (set MINIBOT_API__KEY); "
                            "every /api/ route is refused until it is")
    if not given:
        raise ApiError(401, f"missing {HEADER} header")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(401, f"wrong {HEADER}")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    leaked = sorted(name for name in request.query if name.lower() in QUERY_KEYS)
    if leaked:
        # the value is neither echoed nor logged; the access log (app.AccessLogger) omits query strings
        raise ApiError(400, f"send the key in the {HEADER} header, not in the query string "
                            "(treat the key you sent as leaked: URLs are logged)", field=leaked[0])
    if is_protected(request.path):
        check_key(request.headers.get(HEADER), context(request).api_key)
    return await handler(request)
