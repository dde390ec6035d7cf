"""A call's transcript as an operator reads it (`minibot call`): who spoke, in French, with the
caller's feeling on each of their turns (bot.dialog.nlu.sentiment) and the step it answered."""

from __future__ import annotations

from ..dialog.nlu.sentiment import in_french
from .call import CallRecord


def transcript_lines(record: CallRecord) -> list[str]:
    """One line per turn: "  12.3 s  client (irrité, étape interest) : arrêtez"."""
    start = record.timeline.started
    lines = []
    for u in record.utterances:
        who = "client" if u.speaker == "caller" else "bot"
        notes = [n for n in (in_french(u.sentiment), f"étape {u.step}" if u.step else None) if n]
        said = f"{who} ({', '.join(notes)})" if notes else who
        lines.append(f"{u.at - start:6.1f} s  {said} : {u.text}")
    return lines
