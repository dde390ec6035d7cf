"""Every request the ARI client can make, and every event field it reads, exists in the
official Asterisk 22 API description (../shared/asterisk-ari-22, skipped where absent)."""

import json
import re
from pathlib import Path

import pytest

from ari.client import ROUTES
from ari.events import EVENT_TYPES

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "asterisk-ari-22"
pytestmark = pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"no ARI description at {SPEC_DIR}")


def _operations() -> dict[tuple[str, str], dict]:
    ops = {}
    for f in SPEC_DIR.glob("*.json"):
        for api in json.loads(f.read_text()).get("apis", []):
            for op in api["operations"]:
                ops[(op["httpMethod"], api["path"])] = op
    return ops


def _models() -> dict[str, dict]:
    models = {}
    for f in SPEC_DIR.glob("*.json"):
        models.update(json.loads(f.read_text()).get("models", {}))
    return models


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_request_exists_with_its_parameters(name):
    route = ROUTES[name]
    op = _operations().get((route.method, route.path))
    assert op is not None, f"{name}: {route.method} {route.path} is not in the ARI description"
    params = {p["name"]: p for p in op.get("parameters", [])}
    for q in route.query:
        assert q in params, f"{name}: parameter {q!r} not accepted by {route.method} {route.path}"
        assert params[q]["paramType"] == "query", f"{name}: {q!r} is a {params[q]['paramType']} parameter"
    for p in re.findall(r"{(\w+)}", route.path):
        assert params[p]["paramType"] == "path"
    if route.body:
        assert any(p["paramType"] == "body" for p in params.values()), f"{name}: takes no body"
    # Required query parameters are all sendable by the client.
    required = {n for n, p in params.items() if p.get("required") and p["paramType"] == "query"}
    assert required <= route.query, f"{name}: cannot send required {sorted(required - route.query)}"


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_field_read_exists(name):
    models = _models()
    assert name in models, f"event {name} is not in the ARI description"
    props = dict(models[name]["properties"])
    parents = {sub: m for m, model in models.items() for sub in model.get("subTypes", [])}
    parent = parents.get(name)
    while parent:  # StasisStart -> Event -> Message (Swagger 1.2 names subTypes on the parent)
        props.update(models[parent]["properties"])
        parent = parents.get(parent)
    for field in EVENT_TYPES[name].json_fields:
        assert field in props, f"{name}.{field} is not in the ARI description"
    assert {"type", "timestamp", "application"} <= set(props)


def test_a_route_with_a_typo_would_fail():
    # The check above is only worth something if it rejects what the description lacks.
    ops = _operations()
    assert ("POST", "/channels/{channelId}/play") in ops
    assert ("POST", "/channels/{channelId}/playback") not in ops
    params = {p["name"] for p in ops[("POST", "/channels/{channelId}/snoop")]["parameters"]}
    assert "spy" in params and "spy_direction" not in params
