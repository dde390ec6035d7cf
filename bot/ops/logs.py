"""Log lines an operator can search: JSON (one object a line) or plain text, with the call id.

The call id comes from a context variable that `Call.run` sets for its task: every task the call
starts inherits it, so a line logged anywhere below a call (listener, recogniser, voice) carries
it without passing the id around. Phone numbers are masked by the handler as a safety net (the
code masks them itself with `bot.call.call.mask`); so are passwords in URLs and any secret value
registered with `redact`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("minibot_call_id", default=None)

# E.164 (+33612345678, +33 6 12 34 56 78) and international 0033..., then the French national
# form (0612345678, 06 12 34 56 78, 06.12.34.56.78). Digits glued to letters or other digits
# (call ids, timestamps) are not numbers.
_PHONE = re.compile(
    r"(?<![\w+*])(?:\+|00)[1-9](?:[ .-]?\d){7,14}(?![\w*])"
    r"|(?<![\w+*.,:-])0[1-9](?:[ .-]?\d{2}){4}(?![\w*])"
)
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s]+):([^@\s]+)@")
_secrets: set[str] = set()


def mask_number(number: str) -> str:
    """As `bot.call.call.mask` (the first three characters and the last two digits), separators
    dropped. Kept here so that logging needs nothing from the call code."""
    compact = re.sub(r"[ .-]", "", number)
    return compact[:3] + "*" * max(0, len(compact) - 5) + compact[-2:] if len(compact) > 5 else "***"


def redact(*secrets: str | None) -> None:
    """Never print these values (API key, database and ARI passwords): they become ***."""
    _secrets.update(s for s in secrets if s and len(s) >= 4)


def scrub(text: str) -> str:
    """`text` with phone numbers masked, URL passwords and registered secrets replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    return _PHONE.sub(lambda m: mask_number(m.group(0)), text)


class ScrubFilter(logging.Filter):
    """On a handler: every record it writes, whichever logger made it, is scrubbed. The message
    is rendered once here (``msg % args``) so that numbers passed as arguments are caught too."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call; let the formatter report it as logging does
            return True
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class CallIdFilter(logging.Filter):
    """Stamps each record with the call id of the task that logged it (None outside a call)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_id = call_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (UTC, ISO 8601), level, logger, message, call_id when known,
    exc (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        call_id = getattr(record, "call_id", None) or call_id_var.get()
        if call_id:
            line["call_id"] = call_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(call)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        call_id = getattr(record, "call_id", None) or call_id_var.get()
        record.call = f" [{call_id}]" if call_id else ""
        return super().format(record)


def setup_logging(level: int | str = "INFO", json: bool = False, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record to `stream` (stderr) as JSON lines or text; replaces the handlers
    an earlier call installed (idempotent). Returns the handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_minibot", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._minibot = True  # type: ignore[attr-defined]
    handler.addFilter(CallIdFilter())
    handler.addFilter(ScrubFilter())
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
