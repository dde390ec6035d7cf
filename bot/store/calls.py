"""Call rows: written before the dial (so a lost worker leaves a trace), completed from the
CallRecord when the call ends, with its timeline as call events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from ..call.call import CallRecord


async def insert_call(conn: asyncpg.Connection | asyncpg.Pool, *, call_uuid: str, phone: str, worker: str,
                      campaign_id: int | None = None, contact_id: int | None = None, attempt_id: int | None = None,
                      direction: str = "outbound", caller_id: str | None = None) -> int:
    """`caller_id`: the number presented to the callee (written before the dial, so the row and the
    audit show it even if the call's end is only journaled)."""
    return await conn.fetchval(
        """INSERT INTO calls (call_uuid, phone, worker, campaign_id, contact_id, attempt_id, direction, caller_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        call_uuid, phone, worker, campaign_id, contact_id, attempt_id, direction, caller_id)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def record_fields(record: CallRecord) -> dict[str, Any]:
    """The call row's columns from what the call recorded."""
    start = record.timeline.started
    answered = record.answered_at
    ended = record.ended_at
    latency: dict[str, Any] = {}
    if record.answer_to_first_audio is not None:
        latency["answer_to_first_audio_ms"] = _ms(record.answer_to_first_audio)
    if record.turn_latencies:
        latency["turn_latency_ms"] = [_ms(t) for t in record.turn_latencies]
    return {
        "status": "ENDED",
        "outcome": record.outcome.value if record.outcome else None,
        "result": record.result,
        "amd_status": record.amd_status or None,
        "amd_cause": record.amd_cause or None,
        "amd_verdict": record.amd_verdict,
        "hangup_cause": record.cause,
        "hangup_cause_txt": record.cause_txt or None,
        "answered_at": record.wall(answered) if answered is not None else None,
        "ended_at": record.wall(ended) if ended is not None else None,
        "ring_ms": _ms((answered if answered is not None else ended or start) - start),
        "duration_ms": _ms(ended - answered) if answered is not None and ended is not None else None,
        "transcript": json.dumps([{"speaker": u.speaker, "text": u.text, "at_ms": _ms(u.at - start)}
                                  | ({"sentiment": u.sentiment} if u.sentiment else {})
                                  | ({"step": u.step} if u.step else {})
                                  for u in record.utterances], ensure_ascii=False),
        "recording_path": record.recording,
        "objections": json.dumps([{"id": o.id, "score": round(o.score, 3), "at_ms": _ms(o.at - start)}
                                  for o in record.objections]),
        "freestyle_turns": record.freestyle_turns,
        "barge_ins": record.barge_ins,
        "latency": json.dumps(latency),
        # When the AI disclosure had been heard to its end, from the answer (AI Act art. 50; the audit reads it).
        "disclosure_done_ms": _ms(record.disclosure_done_at - answered)
        if record.disclosure_done_at is not None and answered is not None else None,
        "qualification": record.qualification,
        "steps": json.dumps(record.steps, ensure_ascii=False),
        "note": record.note or None,
    }


async def save_call(conn: asyncpg.Connection, call_id: int, record: CallRecord) -> None:
    """Complete the call row and write its timeline as events (one transaction with the caller's)."""
    await save_fields(conn, call_id, record_fields(record), record.timeline.entries)


def journal_fields(record: CallRecord) -> dict[str, Any]:
    """`record_fields` as JSON (for the journal, bot.store.journal); `stored_fields` reads it back."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record_fields(record).items()}


def stored_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: datetime.fromisoformat(v) if k in _TIMES and v is not None else v for k, v in fields.items()}


_TIMES = {"answered_at", "ended_at"}


async def save_fields(conn: asyncpg.Connection, call_id: int, fields: dict[str, Any],
                      events: list[tuple[float, str]] | list[list]) -> None:
    columns = list(fields)
    sets = ", ".join(f"{name} = ${i}{'::jsonb' if name in _JSON else ''}" for i, name in enumerate(columns, 2))
    await conn.execute(f"UPDATE calls SET {sets} WHERE id = $1", call_id, *fields.values())
    await conn.executemany(
        "INSERT INTO call_events (call_id, at_ms, kind, detail) VALUES ($1, $2, $3, $4)",
        [(call_id, round(t * 1000), _kind(what), what) for t, what in events])


_JSON = {"transcript", "objections", "latency", "steps"}


def _kind(entry: str) -> str:
    """A timeline entry's kind: its first word(s), for filtering ("heard", "say", "barge-in", "AMD")."""
    head = entry.split(":", 1)[0].split(" (", 1)[0]
    return " ".join(head.split()[:2])[:40]


async def mark_answered(conn: asyncpg.Connection | asyncpg.Pool, call_id: int) -> None:
    """The callee answered: the call is in progress (live views show it talking, not ringing)."""
    await conn.execute("UPDATE calls SET status = 'IN_PROGRESS', answered_at = now() WHERE id = $1 AND status = "
                       "'DIALING'", call_id)


async def interrupt_call(conn: asyncpg.Connection, call_id: int, note: str) -> None:
    await conn.execute(
        """UPDATE calls SET status = 'INTERRUPTED', ended_at = coalesce(ended_at, now()),
                  note = coalesce(note, $2) WHERE id = $1 AND status <> 'ENDED'""", call_id, note)


async def call_row(conn: asyncpg.Connection | asyncpg.Pool, call_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM calls WHERE id = $1", call_id)


def record_json(record: CallRecord) -> dict[str, Any]:
    """The call as `minibot call --json` prints it: the stored row's fields (the same names as the
    calls table) with its JSON columns as objects, plus the keys pressed and each barge-in's reaction."""
    fields = record_fields(record)
    for name in _JSON:
        fields[name] = json.loads(fields[name])
    start = record.timeline.started
    return {
        "call_uuid": record.call_id, "direction": record.direction, "phone": record.number,
        **{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in fields.items()},
        "dtmf": [{"digit": d, "at_ms": _ms(at - start)} for at, d in record.dtmf],
        "barge_in_reaction_ms": [_ms(t) for t in record.barge_in_reactions],
        "events": [{"at_ms": round(t * 1000), "kind": _kind(what), "detail": what}
                   for t, what in record.timeline.entries],
    }
