"""Every failure as a JSON body: {"error": "...", "field": "..." (400 only), ...}.

Handlers raise `ApiError` for what they decide themselves; the middleware also turns aiohttp's own
HTTP errors (unknown route 404, 405, 413) and the business errors the API shares with the CLI
(a wrong state change, a campaign not ready, an unknown id) into the same shape. Anything else is a
bug: logged with its traceback, answered 500 with no detail (a traceback tells an attacker too much).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import ValidationError

from ..campaign.control import CampaignNotReady
from ..campaign.lifecycle import TransitionError
from ..contacts.importer import ClosedCampaign, UnknownCampaign

log = logging.getLogger(__name__)



def database_away(exc: BaseException) -> bool:
    """The database stopped, restarting or unreachable: answered 503, never 500. A unix socket gone
    raises FileNotFoundError with no file name (a missing file names itself: that one is a bug)."""
    if isinstance(exc, FileNotFoundError):
        return exc.filename is None
    return isinstance(exc, (ConnectionRefusedError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                            asyncpg.InterfaceError))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An answer other than success, with the HTTP status, a message for people and, for a 400, the
    request field at fault (dotted: `contacts.2.phone`)."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.extra = status, message, field, extra or {}

    def response(self, headers: dict[str, str] | None = None) -> web.Response:
        body: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return web.json_response(body, status=self.status, headers=headers)


def bad_request(exc: ValidationError, prefix: str = "") -> ApiError:
    """A 400 naming the first field pydantic refused (the others usually follow from it)."""
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"])
    field = ".".join(p for p in (prefix, loc) if p) or None
    return ApiError(400, f"{field}: {first['msg']}" if field else first["msg"], field=field)


def _translate(exc: Exception) -> ApiError | None:
    """The business errors with one meaning wherever they come from."""
    if isinstance(exc, TransitionError):
        return ApiError(409, str(exc), extra={"campaign_status": exc.status})
    if isinstance(exc, CampaignNotReady):
        reasons = [line for line in str(exc).splitlines() if line.strip()]
        return ApiError(409, "the campaign cannot start: " + "; ".join(reasons), extra={"reasons": reasons})
    if isinstance(exc, ClosedCampaign):
        return ApiError(409, str(exc))
    if isinstance(exc, UnknownCampaign):
        return ApiError(404, str(exc).removeprefix("--campaign ").strip())
    # The store raises a plain LookupError for an unknown id; KeyError and IndexError are LookupErrors
    # too, but from a bug, so only the exact type means 404.
    if type(exc) is LookupError:
        return ApiError(404, str(exc).strip("'\""))
    return None


def _from_http(exc: web.HTTPException, request: web.Request) -> web.Response:
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    default = f"{exc.status}: {exc.reason}"
    if exc.status == 404:
        message = f"not found: {request.method} {request.path}"
    elif exc.status == 405:
        message = f"method {request.method} not allowed on {request.path} (allowed: {exc.headers.get('Allow', '')})"
    else:
        message = exc.text if exc.text and exc.text != default else exc.reason
    return ApiError(exc.status, message).response(headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects are answers, not errors
            raise
        return _from_http(exc, request)
    except ConnectionResetError:  # the client went away: nobody to answer
        raise
    except Exception as exc:
        if database_away(exc):  # not a bug: the database is down or restarting; calls go on meanwhile
            log.warning("%s %s: database unavailable (%s)", request.method, request.path, type(exc).__name__)
            return ApiError(503, "database unavailable; try again shortly",
                            extra={"component": "database"}).response({"Retry-After": "5"})
        translated = _translate(exc)
        if translated is not None:
            return translated.response()
        # the path only: a query string may hold a phone number
        log.exception("%s %s failed", request.method, request.path)
        return ApiError(500, "internal error (see the server log)").response()
