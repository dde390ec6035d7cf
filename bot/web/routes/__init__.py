"""The API's routes, one module per resource, each with a `ROUTES` table.

A `Route` carries both what aiohttp needs (method, path, handler) and what the OpenAPI document says
about it (summary, query and body models, answers), so registering and documenting read one table.
Routes registered some other way (the dashboard's) are documented in bot.web.openapi, and
tests/test_openapi.py compares the document with what the application really serves.

Shared helpers for handlers live here too: JSON answers, path ids, query and body parsing through
pydantic (a 400 naming the field at fault).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..errors import ApiError, Handler, bad_request

M = TypeVar("M", bound=BaseModel)
MAX_ID = 2**63 - 1  # bigserial: a larger id cannot exist (and would fail in asyncpg, not as a 404)
JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    """A documented answer: its status, what it means, its content type and schema (a model or a
    JSON schema; None: any JSON object)."""

    status: int
    description: str
    content_type: str = JSON
    schema: type[BaseModel] | dict[str, Any] | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # an aiohttp template: /api/campaigns/{id}
    handler: Handler | None  # None: registered elsewhere (documented here only)
    summary: str
    tag: str
    description: str = ""
    query: type[BaseModel] | None = None
    body: Mapping[str, type[BaseModel] | dict[str, Any]] = field(default_factory=dict)  # content type → schema
    answers: tuple[Answer, ...] = ()
    errors: tuple[int, ...] = ()  # statuses answered with the Error body, besides 401 on /api/
    path_params: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # schema; default: a positive id

    @property
    def public(self) -> bool:
        from ..auth import is_protected

        return not is_protected(self.path)

    @property
    def name(self) -> str:
        return self.handler.__name__ if self.handler else self.path.strip("/").replace("/", "_")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


dumps = partial(json.dumps, ensure_ascii=False, default=_default)


def reply(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def path_id(request: web.Request, name: str = "id", what: str = "campaign") -> int:
    """A path id as an int; 404 when it is not one (nothing can have that id)."""
    text = request.match_info[name]
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise ApiError(404, f"no {what} {text!r}: ids are positive integers")
    return int(text)


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string validated by `model`; a repeated parameter is a list if the model wants one."""
    data: dict[str, Any] = {}
    for name in request.query:
        values = request.query.getall(name)
        info = model.model_fields.get(name)
        data[name] = values if info is not None and _is_list(info.annotation) else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise bad_request(exc) from None


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is list:
        return True
    return origin in (Union, UnionType) and any(_is_list(arg) for arg in get_args(annotation))


async def json_body(request: web.Request) -> Any:
    """The request body as JSON; 400 when it is not JSON (413 past the size limit, from aiohttp)."""
    text = await request.text()
    if not text.strip():
        raise ApiError(400, "the request body is empty: expected JSON", field="body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"invalid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}", field="body") from None


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise bad_request(exc, prefix) from None


async def parse_body(request: web.Request, model: type[M]) -> M:
    return validate(model, await json_body(request))
