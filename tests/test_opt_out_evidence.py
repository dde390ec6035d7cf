"""The evidence of a do-not-call request heard on a call: the request's own words and their
confirmation, dated, kept in `opt_outs` and shown in French (`contacts show`, the audit export).
Before, a confirmed request kept only the caller's last words: the "oui"."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from bot.call.call import CallRecord, Utterance
from bot.call.outcome import Outcome
from bot.call.scenario_conversation import opt_out_words
from bot.campaign.dialer import Dialer, DialerConfig, _Active
from bot.compliance.audit import export_audit
from bot.compliance.opt_out_evidence import Said, opt_out_evidence
from bot.dialog.intents import Intent, Understanding
from bot.dialog.scenario.engine import ScenarioRun
from bot.dialog.scenario.lines import ENGINE_LINES
from bot.dialog.scenario.loader import load_scenario
from cli.main import app
from tests.dialing import Clock, phones, running_campaign, weekday_morning

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
PLACED = datetime(2026, 12, 3, 9, 30, 0, tzinfo=UTC)  # 10:30 in Paris
QUESTION = ENGINE_LINES["confirm_opt_out"]


def test_the_evidence_reads_in_french_with_the_request_its_question_and_the_yes():
    text = opt_out_evidence(Said("Ne m'appelez  plus.", datetime(2026, 12, 3, 9, 30, 5, tzinfo=UTC)), QUESTION,
                            Said("Oui.", datetime(2026, 12, 3, 9, 30, 12, tzinfo=UTC)))
    assert text == ("Demande : « Ne m'appelez plus. » (le 03/12/2026 à 10:30:05, heure de Paris) ; "
                    f"question du robot : « {QUESTION} » ; "
                    "confirmation : « Oui. » (le 03/12/2026 à 10:30:12, heure de Paris)")
    assert opt_out_evidence(Said("stop")) == "Demande : « stop »"  # decided at once, no time known


async def _confirmed(record: CallRecord) -> ScenarioRun:
    """The engine asks about "stop" and hears "oui", as on the call whose transcript is `record`'s."""
    run = ScenarioRun(load_scenario(DEMO), {"first_name": "Marie"}, rng=random.Random(1))
    run.start()
    await run.hear(Understanding("Stop.", Intent.OPT_OUT, None, 0.9, "test", confirm=True))
    await run.hear(Understanding("Oui.", Intent.AFFIRM, None, 0.9, "test"))
    assert run.record.opted_out
    return run


def _record(phone: str, said: list[tuple[float, str]]) -> CallRecord:
    record = CallRecord("c-1", "outbound", phone, placed_at=PLACED, outcome=Outcome.ANSWERED, result="OPTED_OUT")
    record.utterances = [Utterance("caller", text, record.timeline.started + at) for at, text in said]
    return record


async def test_the_words_are_taken_from_the_transcript_with_the_times_they_were_said():
    record = _record("+33612000001", [(1.0, "Allô ?"), (9.0, "Stop."), (14.0, "Oui."), (20.0, "Au revoir.")])
    run = await _confirmed(record)
    assert opt_out_words(record, run.record) == (
        "Demande : « Stop. » (le 03/12/2026 à 10:30:09, heure de Paris) ; "
        f"question du robot : « {QUESTION} » ; confirmation : « Oui. » (le 03/12/2026 à 10:30:14, heure de Paris)")


async def test_a_confirmation_in_the_requests_own_words_keeps_both_lines():
    record = _record("+33612000001", [(9.0, "Stop."), (14.0, "Stop.")])
    run = ScenarioRun(load_scenario(DEMO), {"first_name": "Marie"}, rng=random.Random(1))
    run.start()
    await run.hear(Understanding("Stop.", Intent.OPT_OUT, None, 0.9, "test", confirm=True))
    await run.hear(Understanding("Stop.", Intent.OPT_OUT, None, 0.9, "test"))  # said again: decided
    assert run.record.opted_out and run.record.opt_out_confirmation == "Stop."
    text = opt_out_words(record, run.record)
    assert "Demande : « Stop. » (le 03/12/2026 à 10:30:09" in text and "« Stop. » (le 03/12/2026 à 10:30:14" in text


async def test_the_request_and_its_confirmation_are_stored_and_shown_in_french(db, database_url, tmp_path):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    said = [(1.0, "Allô ?"), (9.0, "Stop."), (14.0, "Oui.")]

    async def phone(number, conversation, *, call_id, on_answer=None, caller_id=None) -> CallRecord:
        if on_answer is not None:
            await on_answer()
        record = _record(number, said)
        record.call_id = call_id
        record.opt_out_evidence = opt_out_words(record, (await _confirmed(record)).record)
        return record

    async def no_conversation(due):
        return None

    dialer = Dialer(db, phone, no_conversation, DialerConfig(journal_dir=tmp_path / "journal"),
                    clock=Clock(weekday_morning()))
    due = await dialer.claim()
    await dialer._dial(_Active(due))  # through the journal, as every call is stored
    dialer.close_journal()
    row = await db.pool.fetchrow("SELECT * FROM opt_outs WHERE phone = $1", number)
    assert row["source"] == "call" and row["campaign_id"] == cid
    assert row["evidence"].startswith("Demande : « Stop. » (le 03/12/2026 à 10:30:09, heure de Paris) ; ")
    assert row["evidence"].endswith("confirmation : « Oui. » (le 03/12/2026 à 10:30:14, heure de Paris)")

    # What the operator reads: `contacts show`, in French, with the words; and the audit export's oppositions.
    env = {"DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path), "COLUMNS": "400"}
    shown = await asyncio.to_thread(CliRunner().invoke, app, ["contacts", "show", number], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Oppositions au démarchage" in shown.output and "au téléphone" in shown.output
    assert "Demande : « Stop. »" in shown.output and "confirmation : « Oui. »" in shown.output
    as_json = await asyncio.to_thread(CliRunner().invoke, app, ["contacts", "show", number, "--json"], env=env)
    detail = json.loads(as_json.stdout)
    assert detail["opted_out"] and detail["opt_outs"][0]["evidence"] == row["evidence"]
    await export_audit(db.pool, cid, "json", tmp_path / "audit.json")
    audit = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert [o["paroles"] for o in audit["oppositions"]] == [row["evidence"]]
    assert [d["opposition_paroles"] for d in audit["decisions"] if d["opposition_paroles"]] == [row["evidence"]]
