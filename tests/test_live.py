"""The live view of a campaign (bot.campaign.live) and `minibot campaign monitor`, on a real PostgreSQL
with calls as the dialer writes them: counts, rates and their denominators, latency percentiles,
time buckets, masked phone numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from bot.campaign.live import MAX_BUCKETS, bucket_width, explain_waiting, live_view
from cli.monitor import monitor

NOW = datetime(2025, 3, 10, 10, 2, 30, tzinfo=UTC)


def at(hhmmss: str) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return NOW.replace(hour=h, minute=m, second=s)


# (created, status, answered, outcome, result, amd_verdict, latency)
CALLS = [
    ("09:50:10", "ENDED", "09:50:20", "answered", "QUALIFIED", "human",
     {"answer_to_first_audio_ms": 800, "turn_latency_ms": [300, 500]}),
    ("09:51:00", "ENDED", "09:51:15", "answered", "APPOINTMENT_SCHEDULED", "human",
     {"answer_to_first_audio_ms": 1000, "turn_latency_ms": [400]}),
    ("09:56:00", "ENDED", "09:56:10", "answered", "OPTED_OUT", "human",
     {"answer_to_first_audio_ms": 1200, "turn_latency_ms": [600, 700, "oops"]}),
    ("09:57:00", "ENDED", "09:57:05", "answered", "ANSWERING_MACHINE", "machine", {}),
    ("09:58:00", "ENDED", None, "busy", None, None, {}),
    ("09:59:00", "ENDED", None, "no_answer", None, None, {}),
    ("10:00:00", "INTERRUPTED", None, None, None, None, {}),
    ("10:01:30", "DIALING", None, None, None, None, {}),  # ringing
    ("10:00:30", "IN_PROGRESS", "10:01:00", None, None, None, {}),  # talking
]


async def _campaign(conn, name: str, status: str = "RUNNING") -> int:
    return await conn.fetchval("INSERT INTO campaigns (name, scenario, status) VALUES ($1, 'prospection', $2) "
                               "RETURNING id", name, status)


async def _contact(conn, n: int) -> int:
    return await conn.fetchval("INSERT INTO contacts (phone, first_name) VALUES ($1, $2) RETURNING id",
                               f"+336123456{n:02d}", f"Contact {n}")


async def seed(db, now: datetime = NOW) -> tuple[int, int]:
    """A running campaign with the calls above, waiting attempts and contacts; and a second campaign
    whose calls must not leak into the first one's figures. `now` moves the whole story in time."""

    def when(hhmmss: str) -> datetime:
        return now + (at(hhmmss) - NOW)

    async with db.pool.acquire() as conn, conn.transaction():
        cid = await _campaign(conn, "Printemps")
        other = await _campaign(conn, "Autre")
        for i, (created, status, answered, outcome, result, verdict, latency) in enumerate(CALLS):
            contact = await _contact(conn, i)
            await conn.execute(
                """INSERT INTO calls (call_uuid, campaign_id, contact_id, phone, status, outcome, result, amd_verdict,
                                      created_at, answered_at, ended_at, latency, worker)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, 'w1')""",
                f"uuid-{i}", cid, contact, f"+336123456{i:02d}", status, outcome, result, verdict, when(created),
                when(answered) if answered else None,
                when(created) + timedelta(seconds=40) if status in ("ENDED", "INTERRUPTED") else None,
                json.dumps(latency))
        statuses = ["DONE"] * 6 + ["PENDING", "IN_PROGRESS", "IN_PROGRESS", "EXCLUDED"]
        for i, status in enumerate(statuses):
            contact = await conn.fetchval("SELECT id FROM contacts WHERE phone = $1", f"+336123456{i:02d}") \
                or await _contact(conn, i)
            await conn.execute("INSERT INTO campaign_contacts (campaign_id, contact_id, status) VALUES ($1, $2, $3)",
                               cid, contact, status)
        for i, due in ((4, now - timedelta(minutes=2)), (5, now + timedelta(hours=1)), (6, now + timedelta(hours=2))):
            contact = await conn.fetchval("SELECT id FROM contacts WHERE phone = $1", f"+336123456{i:02d}")
            await conn.execute("INSERT INTO attempts (campaign_id, contact_id, due_at, number, reason) "
                               "VALUES ($1, $2, $3, 2, 'retry:busy')", cid, contact, due)
        contact = await _contact(conn, 50)
        await conn.execute("""INSERT INTO calls (call_uuid, campaign_id, contact_id, phone, status, outcome, created_at,
                                                 ended_at, answered_at)
                              VALUES ('other', $1, $2, '+33612345650', 'ENDED', 'answered', $3, $3, $3)""",
                           other, contact, when("09:52:00"))
        await conn.execute("INSERT INTO attempts (campaign_id, contact_id) VALUES ($1, $2)", other, contact)
    return cid, other


async def test_the_live_view_counts_rates_and_latencies(db):
    cid, _ = await seed(db)
    view = await live_view(db.pool, cid, now=NOW)
    assert {k: view["campaign"][k] for k in ("id", "name", "status", "scenario")} == {
        "id": cid, "name": "Printemps", "status": "RUNNING", "scenario": "prospection"}
    totals = view["totals"]
    assert totals["contacts"] == 10
    assert totals["contacts_by_status"] == {"DONE": 6, "PENDING": 1, "IN_PROGRESS": 2, "EXCLUDED": 1}
    assert (totals["calls"], totals["active"], totals["ended"], totals["answered"]) == (9, 2, 7, 4)
    assert totals["outcomes"] == {"answered": 4, "busy": 1, "no_answer": 1, "interrupted": 1}
    assert totals["results"] == {"QUALIFIED": 1, "APPOINTMENT_SCHEDULED": 1, "OPTED_OUT": 1, "ANSWERING_MACHINE": 1}
    # Answered over ended (the two live calls are not counted yet), the others over answered.
    assert view["rates"] == {"answer": round(4 / 7, 4), "qualified": 0.5, "opt_out": 0.25, "machine": 0.25}
    # percentile_cont: first audio over 800/1000/1200, turns over 300..700 (the string is skipped).
    assert view["latencies"] == {"answer_to_first_audio_p50_ms": 1000, "answer_to_first_audio_p95_ms": 1180,
                                 "turn_p50_ms": 500, "turn_p95_ms": 680, "turns": 5}
    assert view["waiting"] == {"due_now": 1, "later": 2,
                               "next_due_at": (NOW + timedelta(hours=1)).isoformat(), "gate_reasons": []}
    # Answered calls without a result are counted, so result shares are never of a subset.
    assert totals["answered_without_result"] == 0 and view["campaign"]["timezone"] == "Europe/Paris"
    assert view["webhooks"] is None
    assert view["at"] == NOW.isoformat()
    json.dumps(view)  # served as is by the API


async def test_active_calls_show_who_is_called_and_are_aged(db):
    cid, _ = await seed(db)
    view = await live_view(db.pool, cid, now=NOW)
    calls = view["active_calls"]
    assert [(c["state"], c["seconds"], c["talking_seconds"]) for c in calls] == [("talking", 120, 90),
                                                                                ("ringing", 60, None)]
    # The authenticated operator sees who is being called (masking is for logs).
    assert [c["phone"] for c in calls] == ["+33612345608", "+33612345607"]
    assert [c["name"] for c in calls] == ["Contact 8", "Contact 7"]
    assert calls[0]["since"] == at("10:00:30").isoformat() and calls[0]["worker"] == "w1"


async def test_the_timeline_buckets_calls_by_how_they_ended(db):
    cid, _ = await seed(db)
    view = await live_view(db.pool, cid, now=NOW)
    assert view["bucket_minutes"] == 5
    assert view["timeline"] == [
        {"at": at("09:50:00").isoformat(), "QUALIFIED": 1, "APPOINTMENT_SCHEDULED": 1},
        {"at": at("09:55:00").isoformat(), "OPTED_OUT": 1, "ANSWERING_MACHINE": 1, "busy": 1, "no_answer": 1},
        {"at": at("10:00:00").isoformat(), "interrupted": 1, "in_progress": 2},
    ]
    # The last 6 minutes: from 09:56:30, in one-minute buckets, empty ones kept for the time axis.
    recent = await live_view(db.pool, cid, now=NOW, bucket_minutes=1, hours=0.1)
    assert [b["at"][11:16] for b in recent["timeline"]] == ["09:56", "09:57", "09:58", "09:59", "10:00",
                                                            "10:01", "10:02"]
    assert recent["timeline"][0] == {"at": at("09:56:00").isoformat()}  # 09:56:00 is before the window
    assert recent["timeline"][1]["ANSWERING_MACHINE"] == 1 and recent["timeline"][6] == {"at": at("10:02:00")
                                                                                          .isoformat()}
    assert sum(v for b in recent["timeline"] for k, v in b.items() if k != "at") == 6


async def test_a_long_campaign_gets_wider_buckets(db):
    assert bucket_width(timedelta(hours=2), 5) == 5
    assert bucket_width(timedelta(days=3), 5) == 15  # 3 days / 288 = 15 min
    assert bucket_width(timedelta(days=30), 5) == 180
    cid, _ = await seed(db)
    view = await live_view(db.pool, cid, now=NOW + timedelta(days=2))
    assert view["bucket_minutes"] == 15 and len(view["timeline"]) <= MAX_BUCKETS + 1


async def test_an_empty_campaign_and_an_unknown_one(db):
    cid = await _campaign(db.pool, "Vide", "DRAFT")
    view = await live_view(db.pool, cid, now=NOW)
    assert view["timeline"] == [] and view["active_calls"] == []
    assert set(view["rates"].values()) == {None}
    assert view["latencies"]["turn_p95_ms"] is None and view["totals"]["outcomes"] == {}
    with pytest.raises(LookupError, match="campagne 999 introuvable"):
        await live_view(db.pool, 999)


async def test_a_campaign_the_gate_holds_back_says_when_it_may_call(db):
    """Sunday 6 December 2026, 09:00 UTC: every attempt was moved by the gate to Monday 10:00 Paris
    time; the view says so in words, in the campaign's time zone, not UTC."""
    sunday = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    monday_10_paris = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    cid = await _campaign(db.pool, "Dimanche")
    for n in range(3):
        contact = await _contact(db.pool, 70 + n)
        await db.pool.execute("INSERT INTO attempts (campaign_id, contact_id, due_at, gate_reasons) "
                              "VALUES ($1, $2, $3, '{weekend}')", cid, contact, monday_10_paris)
    view = await live_view(db.pool, cid, now=sunday)
    assert view["waiting"]["gate_reasons"] == ["weekend"]
    assert explain_waiting(view, "fr") == ("Aucun appel possible maintenant (week-end) ; premier créneau légal : "
                                           "lundi 7 décembre, 10:00")
    assert explain_waiting(view, "en") == "No call possible now (weekend); first legal slot: Monday 7 December, 10:00"
    await db.pool.execute("UPDATE campaigns SET compliance = '{\"hours\": {\"timezone\": \"America/Martinique\"}}'"
                          " WHERE id = $1", cid)
    view = await live_view(db.pool, cid, now=sunday)
    assert explain_waiting(view, "fr").endswith("lundi 7 décembre, 05:00")


# -- the terminal view -------------------------------------------------------------------------------------

@pytest.fixture
def campaign_cli(database_url, tmp_path):
    app = typer.Typer()
    app.command("monitor")(monitor)
    app.command("other")(lambda: None)  # two commands, so the app keeps its command name like `campaign`
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path), "COLUMNS": "120"}
    return lambda *args: runner.invoke(app, list(args), env=env)


@pytest.fixture
async def seeded(db):
    return await seed(db)


def test_monitor_once_prints_one_frame(campaign_cli, seeded):
    cid, _ = seeded
    result = campaign_cli("monitor", str(cid), "--once")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Printemps", "EN COURS", "appels en cours (2)", "en ligne", "sonne", "+33612345608",
                 "Contact 8", "taux de décroché", "57\xa0%", "taux de qualifiés", "50\xa0%", "taux d'opposition",
                 "25\xa0%", "1000 ms / 1180 ms", "500 ms / 680 ms", "busy", "no_answer", "QUALIFIED", "OPTED_OUT",
                 "appels dus maintenant", "appels par ", "Europe/Paris"):
        assert text in out, (text, out)
    for english in ("active calls", "answer rate", "ringing", "talking"):
        assert english not in out, (english, out)
    assert "█" in out


def test_monitor_refuses_an_unknown_campaign(campaign_cli, seeded):
    result = campaign_cli("monitor", "999", "--once")
    assert result.exit_code == 2
    assert "campagne 999 introuvable" in result.stderr


async def test_monitor_redraws_until_ctrl_c(db, seeded, database_url, tmp_path):
    """The live mode in its own process: a call placed while it runs shows up in the next frames, and
    Ctrl-C (SIGINT) ends it with 0."""
    import asyncio
    import os
    import signal
    import sys

    cid, _ = seeded
    # A pipe, but drawn as on a terminal (rich only animates terminals): frames stream as they come.
    env = {**os.environ, "DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path), "COLUMNS": "120",
           "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
    env["PYTHONFAULTHANDLER"] = "1"  # a monitor still running at the end dumps its threads (SIGABRT)

    def as_from_a_shell() -> None:
        # A terminal's Ctrl-C: SIGINT delivered and handled by default in the monitor, whatever the
        # test process inherited or blocked (in full runs this child once ignored it: the test's
        # environment, not the monitor's behaviour).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import typer; from cli.monitor import monitor; typer.run(monitor)",
        str(cid), "--interval", "0.2", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        preexec_fn=as_from_a_shell)
    try:
        await asyncio.wait_for(process.stdout.readuntil(b"appels 9 : 2 en cours"), 60)
        await db.pool.execute("INSERT INTO calls (call_uuid, campaign_id, phone) VALUES ('new', $1, '+33699999999')",
                              cid)
        await asyncio.wait_for(process.stdout.readuntil(b"appels 10 : 3 en cours"), 30)
        process.send_signal(signal.SIGINT)
        communicating = asyncio.ensure_future(process.communicate())
        try:
            out, err = await asyncio.wait_for(asyncio.shield(communicating), 30)
        except TimeoutError:
            process.send_signal(signal.SIGABRT)  # faulthandler: where it hangs, in the failure
            _, err = await asyncio.wait_for(communicating, 10)
            where = err.decode(errors="replace")[-4000:]
            raise AssertionError(f"the monitor did not end on Ctrl-C:\n{where}") from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err


async def test_campaign_run_says_once_what_it_waits_for(db, capsys):
    from cli.campaign import _say_why_waiting

    cid = await _campaign(db.pool, "Dimanche")
    contact = await _contact(db.pool, 80)
    tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    await db.pool.execute("INSERT INTO attempts (campaign_id, contact_id, due_at, gate_reasons) "
                          "VALUES ($1, $2, $3, '{outside_hours}')", cid, contact, tomorrow)
    said: dict[int, str] = {}
    await _say_why_waiting(db, [cid], said, until_done=True)
    await _say_why_waiting(db, [cid], said, until_done=True)  # the same reason is not repeated
    out = capsys.readouterr().out
    assert out.count("--until-done attend : Aucun appel possible maintenant (hors des heures d'appel) ; "
                     "premier créneau légal : ") == 1, out


async def test_the_funnel_says_where_people_went_and_dropped(db):
    cid = await _campaign(db.pool, "Parcours")
    paths = [(["hello", "interest", "is_lead", "goodbye_qualified"], "QUALIFIED"),
             (["hello", "interest"], "HUNG_UP"), (["hello"], "HUNG_UP"), (["hello", "interest"], "NOT_INTERESTED")]
    for i, (steps, result) in enumerate(paths):
        await db.pool.execute(
            """INSERT INTO calls (call_uuid, campaign_id, phone, status, result, steps, objections)
               VALUES ($1, $2, '+33612345699', 'ENDED', $3, $4::jsonb, $5::jsonb)""",
            f"f-{i}", cid, result, json.dumps(steps), json.dumps([{"id": "prix", "score": 0.9, "at_ms": 1}] * (i % 2)))
    funnel = (await live_view(db.pool, cid, now=NOW))["funnel"]
    assert [{k: v for k, v in s.items() if k != "sentiments"} for s in funnel["steps"][:3]] == [
        {"step": "hello", "reached": 4, "ended_here": 1, "hung_up_here": 1},
        {"step": "interest", "reached": 3, "ended_here": 2, "hung_up_here": 1},
        {"step": "is_lead", "reached": 1, "ended_here": 0, "hung_up_here": 0}]
    assert funnel["objections"] == [{"id": "prix", "count": 2}]
