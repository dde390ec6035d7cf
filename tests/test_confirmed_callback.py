"""The campaign calls back at the time the caller confirmed aloud (RunRecord.callback_at carried on the
CallRecord, through the dialer's journal, into the plan), not at what re-reading their words gives."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from bot.call.call import CallRecord, Utterance
from bot.call.outcome import Outcome
from bot.call.scenario_conversation import ScenarioConversation
from bot.campaign.conclude import Ending, plan_next
from bot.campaign.dialer import Dialer, DialerConfig, _Active
from bot.campaign.retries import RetryPolicy
from bot.dialog.intents import Intent, Understanding
from bot.dialog.scenario.engine import ScenarioRun
from bot.dialog.scenario.loader import load_scenario
from bot.dialog.scenario.model import CallResult
from tests.dialing import PARIS, Clock, phones, running_campaign, weekday_morning

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
# The caller gives 18 h, corrects it to 19 h once it is said back, and confirms: re-reading the words
# latest first finds "plutôt 19 heures" with no day, so today at 19 h, where the bot confirmed tomorrow.
WORDS = [("rappelez-moi demain vers 18 heures", Intent.CALLBACK), ("non plutôt 19 heures", Intent.DENY),
         ("oui c'est ça", Intent.AFFIRM)]


async def _confirmed_run(now) -> ScenarioRun:
    run = ScenarioRun(load_scenario(DEMO), {"first_name": "Marie"}, rng=random.Random(1), clock=lambda: now)
    run.start()
    for text, intent in WORDS:
        turn = await run.hear(Understanding(text, intent, None, 0.9, "test"))
    assert turn.end is CallResult.CALLBACK_REQUESTED
    return run


def test_the_confirmed_time_wins_over_re_reading_and_words_remain_the_fallback() -> None:
    now = weekday_morning()
    confirmed = (now + timedelta(days=1)).replace(hour=19, minute=0)
    said = tuple(text for text, _ in WORDS)
    naive = plan_next(Ending("answered", "CALLBACK_REQUESTED", said), RetryPolicy(), {}, now, PARIS)
    assert naive.due_at is not None and naive.due_at != confirmed  # what the words alone would give
    planned = plan_next(Ending("answered", "CALLBACK_REQUESTED", said, confirmed), RetryPolicy(), {}, now, PARIS)
    assert planned.due_at == confirmed and planned.reason == "callback"
    past = plan_next(Ending("answered", "CALLBACK_REQUESTED", said, now - timedelta(hours=1)), RetryPolicy(), {},
                     now, PARIS)
    assert past.due_at == now  # never in the past


async def test_the_scenario_conversation_puts_the_confirmed_time_on_the_call_record() -> None:
    now = weekday_morning()
    run = await _confirmed_run(now)
    call = SimpleNamespace(record=CallRecord("c1", "outbound", "+33612345678"))
    ScenarioConversation._finish(call, run, CallResult.CALLBACK_REQUESTED)
    assert call.record.callback_at == (now + timedelta(days=1)).replace(hour=19, minute=0)
    other = SimpleNamespace(record=CallRecord("c2", "outbound", "+33612345678"))
    ScenarioConversation._finish(other, run, CallResult.NOT_INTERESTED)  # only a callback carries a time
    assert other.record.callback_at is None


async def test_the_dialer_schedules_the_confirmed_time_through_its_journal(db, tmp_path) -> None:
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    clock = Clock(weekday_morning(), frozen=True)
    run = await _confirmed_run(clock().astimezone(PARIS))

    async def place_call(phone, conversation, *, call_id, on_answer=None, caller_id=None) -> CallRecord:
        record = CallRecord(call_id, "outbound", phone, outcome=Outcome.ANSWERED, result="CALLBACK_REQUESTED")
        record.utterances = [Utterance("caller", text, record.timeline.started + i) for i, (text, _) in
                             enumerate(WORDS, 1)]
        record.callback_at = run.record.callback_at
        return record

    async def no_conversation(due):
        return None

    dialer = Dialer(db, place_call, no_conversation, DialerConfig(worker_id="w1", journal_dir=tmp_path / "j"),
                    clock=clock)
    kept: list[dict] = []
    write = dialer.journal.write

    async def keep(uuid, entry):
        kept.append(json.loads(json.dumps(entry)))
        await write(uuid, entry)

    dialer.journal.write = keep
    await dialer._dial(_Active(await dialer.claim()))
    dialer.close_journal()
    assert kept[0]["ending"]["callback_at"] == run.record.callback_at.isoformat()
    row = await db.pool.fetchrow("SELECT due_at, reason FROM attempts WHERE campaign_id = $1 AND status = 'SCHEDULED'",
                                 cid)
    assert row["reason"] == "callback" and row["due_at"] == run.record.callback_at
