"""How the caller felt, where people read it: each caller turn's sentiment and step stored with the
transcript (bot.store.calls), shown in French in the call's detail (GET /api/calls/{id}) and the export,
and counted per scenario step in the campaign's live view (bot.campaign.live)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient, TestServer

from bot.call.call import CallRecord, Utterance
from bot.campaign.export import KEYS, export_campaign
from bot.campaign.live import live_view
from bot.dialog.nlu.sentiment import in_french
from bot.store.calls import insert_call, record_fields, save_call
from bot.web.app import build_app
from bot.web.context import WebContext

KEY = "s3cr3t-sentiment-key"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NONE = {"positive": 0, "neutral": 0, "negative": 0, "irritated": 0}

# (caller's words, sentiment, step it answered), one call each
CALLS = [
    [("oui c'est moi", "neutral", "hello"), ("super, avec plaisir", "positive", "interest")],
    [("oui", "neutral", "hello"), ("bande d'escrocs", "irritated", "interest")],
    [("allô", "neutral", "hello"), ("non merci", "negative", "interest"), ("arrêtez", "irritated", "interest")],
]


def _record(i: int, turns) -> CallRecord:
    record = CallRecord(f"mood-{i}", "outbound", f"+3361234560{i}")
    start = record.timeline.started
    record.add_utterance(Utterance("bot", "Bonjour, ici Julie.", start + 1))
    for n, (text, sentiment, step) in enumerate(turns):
        record.add_utterance(Utterance("caller", text, start + 2 + n))
        record.caller_mood(text, sentiment, step)  # what the scenario conversation does once it understood
    record.steps = list(dict.fromkeys(step for _, _, step in turns))
    return record


async def _seed(db) -> tuple[int, list[int]]:
    cid = await db.pool.fetchval("INSERT INTO campaigns (name, scenario, status) VALUES ('Ressenti', 'demo', "
                                 "'RUNNING') RETURNING id")
    ids = []
    for i, turns in enumerate(CALLS):
        call_id = await insert_call(db.pool, call_uuid=f"mood-{i}", phone=f"+3361234560{i}", worker="w",
                                    campaign_id=cid)
        async with db.pool.acquire() as conn, conn.transaction():
            await save_call(conn, call_id, _record(i, turns))
        ids.append(call_id)
    return cid, ids


def test_the_transcript_line_keeps_the_sentiment_and_the_step_and_says_it_in_french() -> None:
    import json

    lines = json.loads(record_fields(_record(0, CALLS[0]))["transcript"])
    assert [(line["speaker"], line.get("sentiment"), line.get("step")) for line in lines] == [
        ("bot", None, None), ("caller", "neutral", "hello"), ("caller", "positive", "interest")]
    assert [in_french(s) for s in ("positive", "neutral", "negative", "irritated", None, "bogus")] == [
        "positif", "neutre", "négatif", "irrité", None, None]


async def test_the_live_view_counts_each_steps_caller_turns_by_feeling(db) -> None:
    cid, _ = await _seed(db)
    # An older call: its caller line has a sentiment but no step; it counts in the whole only.
    await db.pool.execute(
        """INSERT INTO calls (call_uuid, campaign_id, phone, status, steps, transcript)
           VALUES ('old', $1, '+33612345699', 'ENDED', '["hello"]',
                   '[{"speaker": "caller", "text": "non", "at_ms": 5, "sentiment": "negative"}]')""", cid)
    funnel = (await live_view(db.pool, cid, now=NOW))["funnel"]
    by_step = {s["step"]: s["sentiments"] for s in funnel["steps"]}
    assert by_step == {"hello": {**NONE, "neutral": 3},
                       "interest": {**NONE, "positive": 1, "negative": 1, "irritated": 2}}
    assert funnel["sentiments"] == {"positive": 1, "neutral": 3, "negative": 2, "irritated": 2}


async def test_the_calls_detail_and_export_show_each_caller_turns_feeling_in_french(db, tmp_path) -> None:
    cid, ids = await _seed(db)
    async with TestClient(TestServer(build_app(WebContext(db=db, api_key=KEY)))) as client:
        resp = await client.get(f"/api/calls/{ids[2]}", headers={"X-API-Key": KEY})
        assert resp.status == 200
        call = await resp.json()
    assert [(t["speaker"], t.get("sentiment"), t.get("sentiment_fr"), t.get("step")) for t in call["transcript"]] == [
        ("bot", None, None, None), ("caller", "neutral", "neutre", "hello"),
        ("caller", "negative", "négatif", "interest"), ("caller", "irritated", "irrité", "interest")]
    out = tmp_path / "export.csv"
    await export_campaign(db.pool, cid, "csv", out, lang="fr")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = [dict(zip(KEYS, row, strict=False)) for row in list(csv.reader(f, delimiter=";"))[1:]]
    assert rows[2]["transcript"] == ("bot: Bonjour, ici Julie. | client (neutre): allô | client (négatif): non merci"
                                     " | client (irrité): arrêtez")


def test_the_cli_transcript_says_each_caller_turns_feeling_and_step_in_french() -> None:
    from bot.call.transcript_view import transcript_lines

    assert transcript_lines(_record(1, CALLS[1])) == [
        "   1.0 s  bot : Bonjour, ici Julie.", "   2.0 s  client (neutre, étape hello) : oui",
        "   3.0 s  client (irrité, étape interest) : bande d'escrocs"]
