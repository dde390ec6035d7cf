"""The OpenAPI 3.1 document of the HTTP API, built from the route tables (bot.web.routes.*.ROUTES) and
the pydantic models of their queries and bodies, served at GET /openapi.json.

Routes that bot.web.dashboard registers are described here, in `DASHBOARD_ROUTES`.
tests/test_openapi.py compares this document with the routes the application really serves, both
ways, so a route added without a description (or a description left after its route) fails it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import dashboard
from .auth import HEADER
from .routes import JSON, Answer, Route

OPENAPI = web.AppKey("minibot_openapi", dict)
SECURITY_SCHEME = "apiKey"
REF = "#/components/schemas/{model}"
PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")

_TEXT = {"type": "string"}
DASHBOARD_ROUTES = (  # registered by bot.web.dashboard.add_routes
    Route("GET", "/dashboard", None, "The live campaign dashboard (HTML)", "dashboard",
          description="A page that polls GET /api/campaigns/{id}/live (sending the key it asks for in the "
                      "X-API-Key header) and charts outcomes over time. The page itself holds no data.",
          answers=(Answer(200, "the page", content_type="text/html", schema=_TEXT),)),
    Route("GET", "/dashboard/static/{name}", None, "The dashboard's script and style sheet", "dashboard",
          path_params={"name": {"type": "string", "enum": sorted(dashboard.ASSETS)}},
          answers=tuple(Answer(200, f"the {kind.split('/')[1]} file", content_type=kind, schema=_TEXT)
                        for kind in sorted(set(dashboard.ASSETS.values()))), errors=(404,)),
    Route("GET", dashboard.LIVE_PATH, None, "A campaign's live view", "campaigns", query=dashboard.LiveQuery,
          description="bot.campaign.live.live_view: calls in progress, outcome counts, rates, latencies and a "
                      "timeline of outcomes per time bucket (what `minibot campaign monitor` shows).",
          answers=(Answer(200, "the live view"),), errors=(400, 404)),
)

_ERROR = {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "string", "description": "what went wrong, for people"},
    "field": {"type": "string", "description": "400 only: the request field at fault, dotted (contacts.2.phone)"},
    "reasons": {"type": "array", "items": {"type": "string"}, "description": "409 of a start: why it cannot"},
    "campaign_status": {"type": "string", "description": "409 of a state change: the campaign's status"},
}}
_ERROR_TEXT = {400: "bad input (`field` names it)", 401: "missing or wrong X-API-Key", 404: "no such id or route",
               409: "the campaign's status does not allow it", 413: "the body is too large",
               415: "unsupported content type", 500: "internal error"}


def _models(routes: Iterable[Route]) -> list[type[BaseModel]]:
    found: dict[type[BaseModel], None] = {}
    for route in routes:
        candidates = [route.query, *route.body.values(), *(a.schema for a in route.answers)]
        for item in candidates:
            if isinstance(item, type) and issubclass(item, BaseModel):
                found[item] = None
    return list(found)


def _schema(item: type[BaseModel] | dict[str, Any] | None, refs: dict[type[BaseModel], dict]) -> dict[str, Any]:
    if item is None:
        return {"type": "object"}
    if isinstance(item, dict):
        return item
    return refs[item]


def _parameters(route: Route, schemas: dict[str, Any], refs: dict[type[BaseModel], dict]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": route.path_params[name]}
        if name in route.path_params else
        {"name": name, "in": "path", "required": True, "description": "an id (a positive integer)",
         "schema": {"type": "integer", "minimum": 1}}
        for name in PARAM.findall(route.path)]
    if route.query is not None:
        model = schemas[refs[route.query]["$ref"].rsplit("/", 1)[-1]]
        required = set(model.get("required", ()))
        for name, prop in model.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", None)
            prop.pop("title", None)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                param["description"] = description
            if prop.get("type") == "array":
                param["explode"] = True  # ?map=a&map=b
            params.append(param)
    return params


def _operation(route: Route, schemas: dict[str, Any], refs: dict[type[BaseModel], dict]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.name, "summary": route.summary, "tags": [route.tag]}
    if route.description:
        op["description"] = route.description
    params = _parameters(route, schemas, refs)
    if params:
        op["parameters"] = params
    if route.body:
        op["requestBody"] = {"required": True, "content": {
            kind: {"schema": _schema(schema, refs)} for kind, schema in route.body.items()}}
    responses: dict[str, Any] = {}
    for answer in route.answers:
        entry = responses.setdefault(str(answer.status), {"description": answer.description, "content": {}})
        entry["content"][answer.content_type] = {"schema": _schema(answer.schema, refs)}
    errors = set(route.errors) | ({401} if not route.public else set()) | {500}
    for status in sorted(errors):
        responses[str(status)] = {"description": _ERROR_TEXT.get(status, "error"),
                                  "content": {JSON: {"schema": {"$ref": REF.format(model="Error")}}}}
    op["responses"] = responses
    op["security"] = [] if route.public else [{SECURITY_SCHEME: []}]
    return op


def build_document(routes: Iterable[Route], *, version: str) -> dict[str, Any]:
    routes = list(routes)
    models = _models(routes)
    keys, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    refs = {model: keys[(model, "validation")] for model in models}
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Error": _ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        template = PARAM.sub(r"{\1}", route.path)
        paths.setdefault(template, {})[route.method.lower()] = _operation(route, schemas, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "MiniBot API", "version": version,
                 "description": "Campaigns, contacts, calls, exports and scenarios of MiniBot, the French phone "
                                "voicebot. Everything under /api/ needs the X-API-Key header (never a query "
                                "parameter: a key in a URL is refused). Errors are JSON: {\"error\", \"field\"}."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {SECURITY_SCHEME: {"type": "apiKey", "in": "header", "name": HEADER}},
        },
    }
