"""The OpenAPI document matches what the application serves: every route it registers (HEAD and static
files aside) is documented with the same method and path template, and nothing else is."""

from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp import web

from bot.web.app import build_app, start_server
from bot.web.context import WebContext
from bot.web.openapi import OPENAPI

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def app_without_database() -> web.Application:
    # building the app touches no database: the handlers are never called here
    return build_app(WebContext(db=None, api_key="k"))  # type: ignore[arg-type]


def served(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route the app answers, HEAD and static files aside."""
    out = set()
    for resource in app.router.resources():
        if isinstance(resource, web.StaticResource):
            continue
        for route in resource:
            if route.method != "HEAD":
                out.add((route.method, resource.canonical))
    return out


def documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in METHODS}


def mismatch(app: web.Application, document: dict) -> str:
    """Empty when the document and the routes agree; otherwise what differs, for the failure message."""
    undocumented = sorted(served(app) - documented(document))
    stale = sorted(documented(document) - served(app))
    return "".join([f"served but not documented: {undocumented}\n" if undocumented else "",
                    f"documented but not served: {stale}\n" if stale else ""])


def test_every_route_is_documented_and_every_documented_route_exists():
    app = app_without_database()
    assert not mismatch(app, app[OPENAPI]), mismatch(app, app[OPENAPI])
    # the dashboard's routes come from another module: they must be in the document too
    assert {("GET", "/dashboard"), ("GET", "/api/campaigns/{id}/live")} <= documented(app[OPENAPI])


def test_the_check_catches_an_undocumented_route_and_a_stale_one():
    app = app_without_database()

    async def hidden(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_post("/api/campaigns/{id}/clone", hidden)
    assert "served but not documented: [('POST', '/api/campaigns/{id}/clone')]" in mismatch(app, app[OPENAPI])

    document = app_without_database()[OPENAPI]
    document["paths"]["/api/campaigns/{id}"]["delete"] = {"responses": {}}
    assert "documented but not served: [('DELETE', '/api/campaigns/{id}')]" in mismatch(app_without_database(),
                                                                                          document)


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_document_is_consistent():
    document = app_without_database()[OPENAPI]
    assert document["openapi"].startswith("3.1.")
    assert document["components"]["securitySchemes"] == {"apiKey": {"type": "apiKey", "in": "header",
                                                                    "name": "X-API-Key"}}
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    operation_ids = []
    for path, item in document["paths"].items():
        declared_in_path = set(re.findall(r"\{(\w+)\}", path))
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            operation_ids.append(op["operationId"])
            assert op["summary"] and op["responses"], where
            assert {p["name"] for p in op.get("parameters", []) if p["in"] == "path"} == declared_in_path, where
            if path.startswith("/api/"):
                assert op["security"] == [{"apiKey": []}] and "401" in op["responses"], where
            else:
                assert op["security"] == [], where
            for content in op.get("requestBody", {}).get("content", {}).values():
                assert content["schema"], where
    assert len(operation_ids) == len(set(operation_ids))

    create = document["paths"]["/api/campaigns"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = schemas[create["$ref"].rsplit("/", 1)[1]]
    assert {"name", "scenario"} <= set(body["required"]) and "contacts" in body["properties"]
    params = {p["name"]: p for p in document["paths"]["/api/calls"]["get"]["parameters"]}
    assert {"campaign_id", "outcome", "result", "status", "phone", "since", "until", "limit", "offset"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 500
    upload = document["paths"]["/api/campaigns/{id}/contacts"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert "text/yaml" in document["paths"]["/api/scenarios/validate"]["post"]["requestBody"]["content"]


async def test_the_document_is_served_publicly():
    app = app_without_database()
    runner = await start_server(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://127.0.0.1:{runner.addresses[0][1]}/openapi.json") as resp:
            assert resp.status == 200
            assert await resp.json() == app[OPENAPI]
    finally:
        await runner.cleanup()


def test_the_document_passes_an_openapi_validator():
    validator = pytest.importorskip("openapi_spec_validator")  # a dev tool; where installed, it has the last word
    validator.validate(app_without_database()[OPENAPI])
