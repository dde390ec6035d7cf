"""`minibot amd`: the AMD transcript layer from the command line.

    minibot amd classify "bonjour vous êtes bien sur la messagerie de" --speech-ms 2400
    minibot amd classify --jsonl < greetings.jsonl

One JSON object per greeting: {"label": "human"|"machine", "reason": "..."}. With --jsonl, one
output line per input line, in order and flushed at once; a line that cannot be read gives
{"error": "line N: ..."} and the rest still goes through.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import typer

from bot.dialog.amd import AMD_STATUSES, AmdEvidence, classify
from bot.i18n import _

amd_app = typer.Typer(help="Détection de répondeur : personne ou répondeur, d'après la première phrase.",
                      no_args_is_help=True)


@amd_app.callback()
def _amd() -> None:
    """Détection de répondeur : personne ou répondeur, d'après la première phrase."""


def _status(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string")
    if field == "amd_status" and value.strip().upper() not in AMD_STATUSES:
        raise ValueError(f"amd_status must be one of {', '.join(AMD_STATUSES)} (got {value!r})")
    return value.strip()


def evidence_from_json(obj: Any) -> AmdEvidence:
    """An `AmdEvidence` from one parsed JSONL record; ValueError says what is wrong.
    Unknown keys (a dataset's "label", say) are ignored."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "transcript" not in obj:
        raise ValueError("missing 'transcript'")
    transcript = obj["transcript"]
    if transcript is None:
        transcript = ""
    if not isinstance(transcript, str):
        raise ValueError("'transcript' must be a string")
    if "speech_ms" not in obj:
        raise ValueError("missing 'speech_ms'")
    speech_ms = obj["speech_ms"]
    if isinstance(speech_ms, bool) or not isinstance(speech_ms, int | float):
        raise ValueError("'speech_ms' must be a number of milliseconds")
    if speech_ms != speech_ms or speech_ms in (float("inf"), float("-inf")) or speech_ms < 0:
        raise ValueError("'speech_ms' must be a finite number >= 0")
    return AmdEvidence(
        transcript=transcript,
        speech_ms=int(round(speech_ms)),
        amd_status=_status(obj.get("amd_status"), "amd_status"),
        amd_cause=_status(obj.get("amd_cause"), "amd_cause"),
    )


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def classify_jsonl(lines: Iterable[str | bytes]) -> int:
    """Classify every line of `lines` (text, or UTF-8 bytes); returns how many were errors."""
    errors = 0
    for number, raw in enumerate(lines, 1):
        try:
            if isinstance(raw, bytes):
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ValueError(f"not UTF-8 (byte {exc.start + 1})") from None
            line = raw.strip()
            if not line:
                raise ValueError("empty line")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
            verdict = classify(evidence_from_json(obj))
        except ValueError as exc:
            errors += 1
            _emit({"error": f"line {number}: {exc}"})
            continue
        except Exception as exc:  # a bug must not cost the lines after it
            errors += 1
            _emit({"error": f"line {number}: internal error: {type(exc).__name__}: {exc}"})
            continue
        _emit(verdict.as_json())
    return errors


@amd_app.command("classify")
def classify_command(
    transcript: str | None = typer.Argument(None, metavar="TRANSCRIPTION",
                                            help="ce qu'a dit l'appelé (sortie de la reconnaissance) ; rien avec "
                                                 "--jsonl"),
    jsonl: bool = typer.Option(False, "--jsonl", help="lire des lignes {transcript, speech_ms, amd_status?, "
                               "amd_cause?} sur l'entrée standard, écrire une ligne de verdict pour chacune"),
    speech_ms: int | None = typer.Option(None, "--speech-ms", min=0, help="durée de la parole d'accueil, en ms"),
    amd_status: str | None = typer.Option(None, "--amd-status", help="AMDSTATUS : HUMAN, MACHINE, NOTSURE, HANGUP"),
    amd_cause: str | None = typer.Option(None, "--amd-cause",
                                             help="AMDCAUSE d'Asterisk, par ex. LONGGREETING-2000-2000"),
) -> None:
    """Personne ou répondeur pour une phrase d'accueil, ou pour chaque ligne JSONL de l'entrée standard
    (--jsonl)."""
    if jsonl:
        if transcript is not None or speech_ms is not None or amd_status or amd_cause:
            raise typer.BadParameter(_("--jsonl lit tout sur l'entrée standard : ne donner ni transcription ni autre "
                                       "option"))
        # Bytes, decoded line by line: one badly encoded line is reported, not fatal.
        classify_jsonl(getattr(sys.stdin, "buffer", sys.stdin))
        return
    if transcript is None:
        raise typer.BadParameter(_("donner une TRANSCRIPTION (et --speech-ms), ou --jsonl"))
    if speech_ms is None:
        raise typer.BadParameter(_("--speech-ms est obligatoire avec une TRANSCRIPTION"), param_hint="--speech-ms")
    try:
        status = _status(amd_status, "amd_status")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--amd-status") from None
    verdict = classify(AmdEvidence(transcript, speech_ms, status, amd_cause or None))
    _emit(verdict.as_json())
