"""The REST API over a real HTTP server (port 0 on loopback) and a real PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from bot.dialog.scenario.authoring import SCENARIOS_DIR
from bot.ops.health import Check, Health
from bot.ops.health import database as database_check
from bot.store.campaigns import create_campaign
from bot.web.app import build_app, start_server
from bot.web.context import WebContext

KEY = "k3y-for-tests-0123456789abcdef"
DEMO = (SCENARIOS_DIR / "demo.yaml").read_text(encoding="utf-8")


class Api:
    """A running server, a client that sends the key and one that does not."""

    def __init__(self, ctx: WebContext, base: str, session: aiohttp.ClientSession, anon: aiohttp.ClientSession):
        self.ctx, self.base, self.s, self.anon = ctx, base, session, anon

    async def json(self, method: str, path: str, expect: int = 200, **kwargs):
        async with self.s.request(method, path, **kwargs) as resp:
            body = await resp.json()
            assert resp.status == expect, body
            assert resp.content_type == "application/json"
            return body

    async def campaign(self, name: str = "printemps", **extra) -> dict:
        body = await self.json("POST", "/api/campaigns", 201, json={"name": name, "scenario": "demo",
                                                                          "legal_basis": "consent",
                                                                          "caller_id": "+33162000000", **extra})
        return body["campaign"]


@pytest.fixture
async def api(db):
    ctx = WebContext(db=db, api_key=KEY, metrics_registry=CollectorRegistry())
    runner = await start_server(build_app(ctx), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession(base, headers={"X-API-Key": KEY}) as session, \
                aiohttp.ClientSession(base) as anon:
            yield Api(ctx, base, session, anon)
    finally:
        await runner.cleanup()


async def insert_call(pool, call_uuid: str, phone: str, **columns) -> int:
    columns = {"call_uuid": call_uuid, "phone": phone, **columns}
    names = list(columns)
    casts = ["::jsonb" if n in ("transcript", "objections", "latency") else "" for n in names]
    values = [json.dumps(v) if n in ("transcript", "objections", "latency") else v for n, v in columns.items()]
    return await pool.fetchval(
        f"INSERT INTO calls ({', '.join(names)}) VALUES "
        f"({', '.join(f'${i}{c}' for i, c in enumerate(casts, 1))}) RETURNING id", *values)


def scratch_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("minibot-api-*")}


# -- authentication -------------------------------------------------------------------------------

async def test_public_routes_are_open_and_api_needs_the_key(api):
    async with api.anon.get("/") as resp:
        index = await resp.json()
        assert resp.status == 200
    assert index["name"] == "MiniBot" and index["version"]
    assert index["links"]["health"] == "/health" and index["links"]["openapi"] == "/openapi.json"
    for path in ("/health", "/openapi.json", "/dashboard"):
        async with api.anon.get(path) as resp:
            assert resp.status == 200, path
    async with api.anon.get("/health") as resp:
        assert await resp.json() == {"status": "ok", "components": {}}

    async with api.anon.get("/api/campaigns") as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "missing X-API-Key header"
    async with api.anon.get("/api/campaigns", headers={"X-API-Key": KEY[:-1] + "x"}) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "wrong X-API-Key"
    async with api.anon.get("/api/calls/1", headers={"X-API-Key": "é" * 10}) as resp:  # not ASCII: still a 401
        assert resp.status == 401
    async with api.anon.get("/api/nothing-here") as resp:  # no hint of which routes exist without the key
        assert resp.status == 401
    assert await api.json("GET", "/api/campaigns") == {"campaigns": []}

    api.ctx.api_key = None  # no key configured: everything under /api/ is refused, and says why
    async with api.s.get("/api/campaigns") as resp:
        assert resp.status == 401
        assert "not configured" in (await resp.json())["error"]


async def test_a_key_in_the_query_string_is_refused_and_never_logged(api, caplog):
    caplog.set_level(logging.DEBUG)
    for path in (f"/api/campaigns?api_key={KEY}", f"/api/calls?token={KEY}", f"/health?key={KEY}",
                 f"/api/campaigns?API_KEY={KEY}"):
        async with api.s.get(path) as resp:
            body = await resp.json()
            assert resp.status == 400, path
        assert body["error"].startswith("send the key in the X-API-Key header")
        assert body["field"] in ("api_key", "token", "key", "API_KEY")
        assert KEY not in json.dumps(body)
    assert KEY not in caplog.text
    access = [r.getMessage() for r in caplog.records if r.name == "bot.web.access"]
    assert any(line.startswith("GET /api/campaigns 400") for line in access), access


async def test_health_reports_the_checker_and_its_status(api, db):
    async def broken():
        raise ConnectionRefusedError("ARI unreachable")

    api.ctx.health = Health({"database": database_check(db), "ari": Check(broken)})
    async with api.anon.get("/health") as resp:
        body = await resp.json()
        assert resp.status == 503
    assert body["status"] == "down"
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["ari"]["status"] == "down"


async def test_metrics_are_public_in_the_prometheus_text_format(api):
    Counter("minibot_test_things", "things counted by the test", registry=api.ctx.metrics_registry).inc(3)
    async with api.anon.get("/metrics") as resp:
        text = await resp.text()
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "minibot_test_things_total 3.0" in text
    async with api.anon.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}) as resp:
        assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await resp.text()).rstrip().endswith("# EOF")


# -- campaigns --------------------------------------------------------------------------------------

async def test_create_a_campaign_with_inline_contacts(api, db):
    contacts = [
        {"phone": "06 12 34 56 78", "first_name": "Jeanne", "ville": "Lyon"},
        {"phone": "+33612345679", "last_name": "Martin"},
        {"phone": "12"},
        {"phone": "0612345678", "first_name": "Jeanne bis"},
    ]
    async with api.s.post("/api/campaigns", json={
        "name": "  Printemps  ", "scenario": "demo", "max_concurrent_calls": 3, "calls_per_second": 0.5,
        "variables": {"slot": "demain 10 h"}, "compliance": {"require_consent": False}, "contacts": contacts,
        "legal_basis": "consent", "advertiser": "Démo SARL", "caller_id": "+33162000000",
    }) as resp:
        body = await resp.json()
        assert resp.status == 201, body
        location = resp.headers["Location"]
    campaign, report = body["campaign"], body["import"]
    assert location == f"/api/campaigns/{campaign['id']}"
    assert campaign["name"] == "Printemps" and campaign["status"] == "DRAFT"
    assert campaign["max_concurrent_calls"] == 3 and campaign["calls_per_second"] == 0.5
    assert campaign["variables"] == {"slot": "demain 10 h"}
    assert (campaign["legal_basis"], campaign["advertiser"]) == ("consent", "Démo SARL")
    assert report["file"] == "api-contacts.json" and report["campaign"] == campaign["id"]
    assert report["imported"] == 2 and report["enrolled"] == 2
    assert report["invalid"] == [{"line": 4, "reason": report["invalid"][0]["reason"]}]
    assert report["invalid"][0]["reason"].startswith("phone :")
    assert report["duplicates"] == [{"line": 5, "phone": "+33612345678", "first_line": 2, "contact_id": None}]
    row = await db.pool.fetchrow("SELECT * FROM contacts WHERE phone = '+33612345678'")
    assert row["first_name"] == "Jeanne" and json.loads(row["extra"]) == {"ville": "Lyon"}
    assert row["source"] == "api-contacts.json"
    assert await db.pool.fetchval("SELECT count(*) FROM campaign_contacts WHERE campaign_id = $1", campaign["id"]) == 2

    assert await api.json("GET", location) == campaign
    listed = await api.json("GET", "/api/campaigns")
    assert [c["id"] for c in listed["campaigns"]] == [campaign["id"]]
    assert (await api.json("GET", "/api/campaigns?status=RUNNING")) == {"campaigns": []}
    assert not scratch_dirs()


@pytest.mark.parametrize(("body", "field"), [
    ({"scenario": "demo"}, "name"),
    ({"name": "x", "scenario": "../../etc/passwd"}, "scenario"),
    ({"name": "x", "scenario": "no_such_scenario"}, "scenario"),
    ({"name": "x", "scenario": "demo", "max_concurrent_calls": 0}, "max_concurrent_calls"),
    ({"name": "x", "scenario": "demo", "retry_policy": {"no_answer": {"delay_minutes": 60, "max_retries": "many"}}},
     "retry_policy.no_answer.max_retries"),
    ({"name": "x", "scenario": "demo", "compliance": {"hours": {"timezon": "Europe/Paris"}}},
     "compliance.hours.timezon"),
    ({"name": "x", "scenario": "demo", "contacts": [{"phone": "0612345678"}, {"first_name": "Sans numéro"}]},
     "contacts.1.phone"),
    ({"name": "x", "scenario": "demo", "contacts": [], "region": "XX"}, "region"),
    ({"name": "x", "scenario": "demo", "nme": "typo"}, "nme"),
    (["not", "an", "object"], None),
    ({"name": "x", "scenario": "demo", "legal_basis": None}, "legal_basis"),
    ({"name": "x", "scenario": "demo", "legal_basis": "opt_out"}, "legal_basis"),
    ({"name": "x", "scenario": "demo", "sector": "formation_cpf"}, "sector"),
    ({"name": "x", "scenario": "demo", "compliance": {"refusal_cooloff_days": 30}}, "legal_ground"),
    ({"name": "x", "scenario": "demo", "legal_basis": "contract"}, "contract_subject"),
])
async def test_create_refuses_bad_input_naming_the_field(api, db, body, field):
    if isinstance(body, dict) and "name" in body:
        body = {"legal_basis": "consent", **body}
        body = {k: v for k, v in body.items() if v is not None}
    answer = await api.json("POST", "/api/campaigns", 400, json=body)
    assert answer.get("field") == field, answer
    assert answer["error"]
    assert await db.pool.fetchval("SELECT count(*) FROM campaigns") == 0


async def test_bodies_that_are_not_json_are_400s(api):
    answer = await api.json("POST", "/api/campaigns", 400, data=b'{"name": ',
                            headers={"Content-Type": "application/json"})
    assert answer["field"] == "body" and answer["error"].startswith("invalid JSON")
    answer = await api.json("POST", "/api/campaigns", 400, data=b"")
    assert answer["field"] == "body"


async def test_campaign_lifecycle_and_wrong_changes_are_409(api):
    campaign = await api.campaign()
    cid = campaign["id"]
    refused = await api.json("POST", f"/api/campaigns/{cid}/start", 409)
    assert any(r.startswith("aucun contact") for r in refused["reasons"]), refused
    refused = await api.json("POST", f"/api/campaigns/{cid}/pause", 409)
    assert refused["campaign_status"] == "DRAFT"
    assert "« pause » ne s'applique qu'aux campagnes RUNNING" in refused["error"]

    await api.json("POST", f"/api/campaigns/{cid}/contacts", json=[{"phone": "0612345678"}])
    assert (await api.json("POST", f"/api/campaigns/{cid}/start"))["status"] == "RUNNING"
    assert (await api.json("POST", f"/api/campaigns/{cid}/start", 409))["campaign_status"] == "RUNNING"
    assert (await api.json("POST", f"/api/campaigns/{cid}/pause"))["status"] == "PAUSED"
    assert (await api.json("POST", f"/api/campaigns/{cid}/resume"))["status"] == "RUNNING"
    stopped = await api.json("POST", f"/api/campaigns/{cid}/stop")
    assert stopped["status"] == "CANCELLED" and stopped["finished_at"]
    assert (await api.json("POST", f"/api/campaigns/{cid}/resume", 409))["campaign_status"] == "CANCELLED"
    closed = await api.json("POST", f"/api/campaigns/{cid}/contacts", 409, json=[{"phone": "0612345679"}])
    assert "CANCELLED" in closed["error"]

    assert (await api.json("POST", "/api/campaigns/999/start", 404))["error"] == "campagne 999 introuvable"
    withheld = (await api.campaign("masqué", caller_id=None))["id"]
    refused = await api.json("POST", f"/api/campaigns/{withheld}/start", 409)
    assert any("masqué" in r and "ARCEP" in r for r in refused["reasons"]), refused
    for bad in ("abc", "0", "-1", "99999999999999999999", "١٢"):
        assert "ids are positive integers" in (await api.json("GET", f"/api/campaigns/{bad}", 404))["error"]


async def test_campaign_stats(api, db):
    campaign = await api.campaign()
    cid = campaign["id"]
    now = datetime.now(UTC)
    await insert_call(db.pool, "u1", "+33612345678", campaign_id=cid, status="ENDED", outcome="completed",
                      result="QUALIFIED", answered_at=now, duration_ms=30000,
                      latency={"answer_to_first_audio_ms": 800})
    await insert_call(db.pool, "u2", "+33612345679", campaign_id=cid, status="ENDED", outcome="no_answer")
    body = await api.json("GET", f"/api/campaigns/{cid}/stats")
    assert body["campaign"]["id"] == cid
    stats = body["stats"]
    assert stats["calls"] == 2 and stats["answered"] == 1 and stats["answer_rate"] == 0.5
    assert stats["calls_by_outcome"] == {"completed": 1, "no_answer": 1}
    assert stats["results"] == {"QUALIFIED": 1}
    assert stats["answer_to_first_audio_p95_ms"] == 800
    await api.json("GET", "/api/campaigns/4242/stats", 404)


# -- contacts ---------------------------------------------------------------------------------------

CSV = ("Prénom;Nom;Téléphone;Ville\nJean;Dupont;06 12 34 56 78;Paris\nMarie;Curie;07 00;Lyon\n;;;\n"
       "Léa;Roux;0612345679;\n")


async def test_upload_a_csv_file_into_a_campaign(api, db):
    cid = (await api.campaign())["id"]

    def form(text: str = CSV, name: str = "fichier clients.csv") -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("note", "ignored")
        data.add_field("file", io.BytesIO(text.encode("utf-8")), filename=name, content_type="text/csv")
        return data

    dry = await api.json("POST", f"/api/campaigns/{cid}/contacts?dry_run=1", data=form())
    assert dry["dry_run"] is True and dry["valid"] == 2 and dry["enrolled"] == 2
    assert await db.pool.fetchval("SELECT count(*) FROM contacts") == 0

    report = await api.json("POST", f"/api/campaigns/{cid}/contacts", data=form())
    assert report["file"] == "fichier clients.csv" and report["format"] == "csv"
    assert report["rows"] == 4 and report["imported"] == 2 and report["enrolled"] == 2
    assert [i["line"] for i in report["invalid"]] == [3] and report["empty"] == [4]
    assert report["columns"] == {"Prénom": "first_name", "Nom": "last_name", "Téléphone": "phone", "Ville": "extra"}
    assert await db.pool.fetchval("SELECT source FROM contacts WHERE phone = '+33612345678'") == "fichier clients.csv"

    again = await api.json("POST", f"/api/campaigns/{cid}/contacts", data=form(name="../../etc/passwd"))
    assert again["file"] == "passwd" and again["imported"] == 0 and len(again["duplicates"]) == 2

    belgian = await api.json("POST", "/api/contacts/import?region=be",
                             json=[{"phone": "0470 12 34 56", "first_name": "Anaïs"}])
    assert belgian["campaign"] is None and belgian["imported"] == 1
    assert await db.pool.fetchval("SELECT first_name FROM contacts WHERE phone = '+32470123456'") == "Anaïs"

    mapped = await api.json("POST", "/api/contacts/import?map=Portable%20perso=phone",
                            data=form("Nom;Portable perso\nRoux;0612345680\n", "perso.csv"))
    assert mapped["imported"] == 1 and mapped["columns"]["Portable perso"] == "phone"
    assert not scratch_dirs()


async def test_upload_errors(api, db):
    cid = (await api.campaign())["id"]
    url = f"/api/campaigns/{cid}/contacts"

    def form(content: bytes, name: str = "c.csv") -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("file", io.BytesIO(content), filename=name, content_type="application/octet-stream")
        return data

    no_phone = await api.json("POST", url, 400, data=form(b"Nom;Ville\nRoux;Paris\n"))
    assert no_phone["field"] == "file" and "c.csv" in no_phone["error"] and "/tmp" not in no_phone["error"]
    empty = await api.json("POST", url, 400, data=form(b""))
    assert empty["field"] == "file" and "vide" in empty["error"]
    missing = aiohttp.FormData(default_to_multipart=True)
    missing.add_field("other", "x")
    assert (await api.json("POST", url, 400, data=missing))["field"] == "file"
    assert (await api.json("POST", f"{url}?region=XX", 400, data=form(CSV.encode())))["field"] == "region"
    assert (await api.json("POST", f"{url}?map=nonsense", 400, data=form(CSV.encode())))["field"] == "map"
    assert (await api.json("POST", f"{url}?dry_run=maybe", 400, data=form(CSV.encode())))["field"] == "dry_run"
    assert (await api.json("POST", url, 400, json=[{"first_name": "x"}]))["field"] == "0.phone"
    await api.json("POST", "/api/campaigns/777/contacts", 404, data=form(CSV.encode()))
    unsupported = await api.json("POST", url, 415, data=CSV.encode(), headers={"Content-Type": "text/csv"})
    assert "multipart/form-data" in unsupported["error"]

    api.ctx.max_upload_bytes = 1000
    too_big = await api.json("POST", url, 413, data=form(CSV.encode() * 20))
    assert "upload limit" in too_big["error"] or "MiB" in too_big["error"]
    assert await db.pool.fetchval("SELECT count(*) FROM contacts") == 0
    assert not scratch_dirs()


# -- calls --------------------------------------------------------------------------------------------

async def test_calls_list_with_filters_and_one_call(api, db):
    cid = (await api.campaign())["id"]
    other = (await create_campaign(db.pool, "autre", "demo")).id
    contact = await db.pool.fetchval(
        "INSERT INTO contacts (phone, first_name, last_name) VALUES ('+33612345678', 'Jeanne', 'Roux') RETURNING id")
    t0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    transcript = [{"speaker": "bot", "text": "Bonjour Jeanne", "at_ms": 900},
                  {"speaker": "caller", "text": "oui bonjour", "at_ms": 2500}]
    first = await insert_call(db.pool, "call-1", "+33612345678", campaign_id=cid, contact_id=contact, status="ENDED",
                              outcome="completed", result="QUALIFIED", created_at=t0, answered_at=t0,
                              transcript=transcript, objections=[{"id": "prix.cher", "score": 0.91, "at_ms": 4000}],
                              latency={"answer_to_first_audio_ms": 900, "turn_latency_ms": [420, 510]},
                              qualification=0.8, caller_id="+33162000000", disclosure_done_ms=2400)
    await insert_call(db.pool, "call-2", "+33612345679", campaign_id=cid, status="ENDED", outcome="no_answer",
                      created_at=t0 + timedelta(hours=1))
    await insert_call(db.pool, "call-3", "+33612345680", campaign_id=cid, status="IN_PROGRESS",
                      created_at=t0 + timedelta(hours=2))
    await insert_call(db.pool, "call-4", "+33612345678", campaign_id=other, status="ENDED", outcome="busy",
                      created_at=t0 + timedelta(days=1))
    await db.pool.executemany("INSERT INTO call_events (call_id, at_ms, kind, detail) VALUES ($1, $2, $3, $4)",
                              [(first, 2500, "heard", "heard: oui bonjour"), (first, 10, "AMD", "AMD: HUMAN"),
                               (first, 900, "say", "say: hello")])

    async def uuids(query: str = "") -> tuple[list[str], int]:
        body = await api.json("GET", f"/api/calls{query}")
        return [c["call_uuid"] for c in body["calls"]], body["total"]

    everything = await api.json("GET", "/api/calls")
    assert everything["total"] == 4 and everything["limit"] == 50 and everything["offset"] == 0
    assert [c["call_uuid"] for c in everything["calls"]] == ["call-4", "call-3", "call-2", "call-1"]
    listed = everything["calls"][-1]
    assert listed["phone"] == "+33612345678" and listed["first_name"] == "Jeanne"  # in full: the operator's view
    assert "transcript" not in listed and "objections" not in listed
    assert listed["created_at"] == t0.isoformat()

    assert await uuids(f"?campaign_id={cid}") == (["call-3", "call-2", "call-1"], 3)
    assert await uuids("?outcome=no_answer") == (["call-2"], 1)
    assert await uuids("?result=QUALIFIED") == (["call-1"], 1)
    assert await uuids("?status=IN_PROGRESS") == (["call-3"], 1)
    assert await uuids("?phone=06%2012%2034%2056%2078") == (["call-4", "call-1"], 2)
    assert await uuids(f"?phone=%2B33612345678&campaign_id={cid}") == (["call-1"], 1)
    assert await uuids("?since=2025-03-10T10:00:00Z&until=2025-03-10T11:00:00%2B00:00") == (["call-2"], 1)
    assert await uuids("?since=2025-03-10T11:00:00") == (["call-4", "call-3", "call-2"], 3)  # Paris time: 10:00Z
    assert await uuids("?limit=2&offset=1") == (["call-3", "call-2"], 4)

    for query, field in (("?limit=0", "limit"), ("?limit=501", "limit"), ("?status=LOST", "status"),
                         ("?phone=123", "phone"), ("?since=yesterday", "since"), ("?campain_id=1", "campain_id"),
                         ("?campaign_id=x", "campaign_id")):
        assert (await api.json("GET", f"/api/calls{query}", 400))["field"] == field, query

    call = await api.json("GET", f"/api/calls/{first}")
    assert call["call_uuid"] == "call-1" and call["first_name"] == "Jeanne"
    assert call["transcript"] == transcript
    assert call["objections"] == [{"id": "prix.cher", "score": 0.91, "at_ms": 4000}]
    assert call["latency"] == {"answer_to_first_audio_ms": 900, "turn_latency_ms": [420, 510]}
    assert call["qualification"] == pytest.approx(0.8)
    assert (call["caller_id"], call["disclosure_done_ms"]) == ("+33162000000", 2400)  # what the law's audit reads
    assert [e["kind"] for e in call["events"]] == ["AMD", "say", "heard"]
    assert call["events"][0] == {"at_ms": 10, "kind": "AMD", "detail": "AMD: HUMAN"}
    assert (await api.json("GET", "/api/calls/123456", 404))["error"] == "no call 123456"
    await api.json("GET", "/api/calls/abc", 404)


# -- exports ----------------------------------------------------------------------------------------

async def test_export_a_campaign_as_csv_and_xlsx(api, db):
    cid = (await api.campaign())["id"]
    await insert_call(db.pool, "exp-1", "+33612345678", campaign_id=cid, status="ENDED", outcome="completed",
                      result="QUALIFIED", transcript=[{"speaker": "caller", "text": "=1+1", "at_ms": 5}])
    await insert_call(db.pool, "exp-2", "+33612345679", campaign_id=cid, status="ENDED", outcome="busy")

    async with api.s.get(f"/api/campaigns/{cid}/export?format=csv") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert resp.headers["Content-Disposition"] == f'attachment; filename="campaign-{cid}.csv"'
        assert resp.headers["X-Rows"] == "2"
        data = await resp.read()
    text = data.decode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = text.splitlines()
    assert lines[0].startswith("identifiant d'appel;date d'appel;téléphone;")  # French by default
    assert len(lines) == 3 and "+33612345678" in text and "client: =1+1" in text

    async with api.s.get(f"/api/campaigns/{cid}/export?format=xlsx") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Disposition"] == f'attachment; filename="campaign-{cid}.xlsx"'
        assert resp.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        data = await resp.read()
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data), read_only=True)["appels"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "identifiant d'appel" and {r[0] for r in rows[1:]} == {"exp-1", "exp-2"}

    assert (await api.json("GET", f"/api/campaigns/{cid}/export?format=pdf", 400))["field"] == "format"
    await api.json("GET", "/api/campaigns/5555/export", 404)
    assert not scratch_dirs()


# -- scenarios --------------------------------------------------------------------------------------

async def test_list_and_validate_scenarios(api):
    listed = (await api.json("GET", "/api/scenarios"))["scenarios"]
    demo = next(s for s in listed if s["name"] == "demo")
    assert demo["path"] == "scenarios/demo.yaml" and demo["title"] and demo["objective"]
    assert "rail_returns" not in {s["name"] for s in listed}

    ok = await api.json("POST", "/api/scenarios/validate", data=DEMO.encode(), headers={"Content-Type": "text/yaml"})
    assert ok == {"valid": True, "name": "demo", "steps": ok["steps"], "problems": [], "objections_checked": True}
    assert (await api.json("POST", "/api/scenarios/validate", json={"yaml": DEMO}))["valid"] is True

    broken = "name: cassé\ntitle: x\nrail: [hello\nsteps: {}\n"
    answer = await api.json("POST", "/api/scenarios/validate", data=broken.encode(),
                            headers={"Content-Type": "application/yaml"})
    assert answer["valid"] is False and answer["name"] is None
    assert answer["problems"][0]["line"] in (3, 4) and "YAML" in answer["problems"][0]["message"]

    lines = DEMO.splitlines()
    rail = next(i for i, line in enumerate(lines) if line.startswith("rail: [hello, "))
    lines[rail] = lines[rail].replace("[hello, ", "[hello, nowhere, ")
    wrong = await api.json("POST", "/api/scenarios/validate", json={"yaml": "\n".join(lines)})
    assert wrong["valid"] is False
    assert {"line": rail + 1, "message": "l'étape 'nowhere' du rail n'est pas définie dans steps"} in wrong["problems"]

    assert (await api.json("POST", "/api/scenarios/validate", 400, json={"yml": DEMO}))["field"] == "yaml"
    await api.json("POST", "/api/scenarios/validate", 415, data=b"x", headers={"Content-Type": "image/png"})
    assert (SCENARIOS_DIR / "objections").is_dir()  # the links to it were removed, not what they point to
    assert not scratch_dirs()


# -- system and errors ------------------------------------------------------------------------------

async def test_system_figures(api, db):
    api.ctx.system_stats = lambda: {"calls_active": 0, "dialer_workers": 1}
    cid = (await api.campaign())["id"]
    await insert_call(db.pool, "today", "+33612345678", campaign_id=cid, status="IN_PROGRESS")
    await insert_call(db.pool, "old", "+33612345679", campaign_id=cid, status="ENDED",
                      created_at=datetime.now(UTC) - timedelta(days=3))
    body = await api.json("GET", "/api/system")
    assert body["runtime"] == {"calls_active": 0, "dialer_workers": 1}
    figures = body["database"]
    assert figures["campaigns_by_status"] == {"DRAFT": 1} and figures["campaigns"] == 1
    assert figures["calls_today"] == 1 and figures["calls_active"] == 1 and figures["calls_total"] == 2
    assert figures["contacts"] == 0


async def test_errors_are_json(api):
    for client, path in ((api.s, "/api/nope"), (api.anon, "/nope")):
        async with client.get(path) as resp:
            assert resp.status == 404 and (await resp.json())["error"] == f"not found: GET {path}"
    async with api.s.delete("/api/campaigns") as resp:
        assert resp.status == 405
        assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}
        assert (await resp.json())["error"].startswith("method DELETE not allowed on /api/campaigns")
    async with api.anon.get("/dashboard/static/../../etc/passwd") as resp:
        assert resp.status == 404


async def test_a_bug_is_a_500_without_details_and_logged(db, caplog):
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app = build_app(WebContext(db=db, api_key=KEY))
    app.router.add_get("/api/boom", boom)
    runner = await start_server(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(headers={"X-API-Key": KEY}) as session, \
                session.get(f"http://127.0.0.1:{runner.addresses[0][1]}/api/boom?phone=0612345678") as resp:
            body = await resp.json()
            assert resp.status == 500
    finally:
        await runner.cleanup()
    assert body == {"error": "internal error (see the server log)"}
    failure = next(r for r in caplog.records if r.name == "bot.web.errors")
    assert failure.getMessage() == "GET /api/boom failed" and "secret internals" in caplog.text
    assert "0612345678" not in caplog.text


async def test_a_json_body_past_the_limit_is_a_413(db):
    app = build_app(WebContext(db=db, api_key=KEY, max_upload_bytes=2000))
    runner = await start_server(app, "127.0.0.1", 0)
    contacts = [{"phone": f"+336123456{i:02d}", "first_name": "x" * 40} for i in range(60)]
    try:
        async with aiohttp.ClientSession(headers={"X-API-Key": KEY}) as session, \
                session.post(f"http://127.0.0.1:{runner.addresses[0][1]}/api/contacts/import", json=contacts) as resp:
            body = await resp.json()
            assert resp.status == 413
    finally:
        await runner.cleanup()
    assert "2000" in body["error"] and set(body) == {"error"}
    assert await db.pool.fetchval("SELECT count(*) FROM contacts") == 0


async def test_upload_a_scenario_then_run_a_campaign_on_it(db, tmp_path):
    ctx = WebContext(db=db, api_key=KEY, metrics_registry=CollectorRegistry(), uploads_dir=tmp_path / "uploads")
    runner = await start_server(build_app(ctx), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    mine = DEMO.replace("name: demo", "name: mon_offre", 1)
    try:
        async with aiohttp.ClientSession(base, headers={"X-API-Key": KEY}) as s:
            api = Api(ctx, base, s, s)
            broken = mine.replace("steps:", "stepz:", 1)
            bad = await api.json("PUT", "/api/scenarios/mon_offre", 400, data=broken.encode(),
                                 headers={"Content-Type": "text/yaml"})
            assert "line" in bad["error"] and bad["field"] == "body"
            wrong_name = await api.json("PUT", "/api/scenarios/autre", 400, json={"yaml": mine})
            assert wrong_name["field"] == "name"
            assert (await api.json("PUT", "/api/scenarios/demo", 409, json={"yaml": DEMO}))["error"]
            kept = await api.json("PUT", "/api/scenarios/mon_offre", 201, json={"yaml": mine})
            assert kept["name"] == "mon_offre" and kept["steps"] > 0
            listed = {x["name"] for x in (await api.json("GET", "/api/scenarios"))["scenarios"]}
            assert {"demo", "mon_offre"} <= listed
            campaign = await api.campaign("offre", scenario="mon_offre")
            assert campaign["scenario"] == str(tmp_path / "uploads" / "mon_offre.yaml")
            await api.json("POST", "/api/campaigns", 400, json={"name": "x", "scenario": "inconnu"})
    finally:
        await runner.cleanup()
