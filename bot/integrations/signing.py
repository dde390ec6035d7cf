"""Signing webhook requests, and checking a signature (for receivers, and the tests).

Each request carries three headers:

- `X-MiniBot-Event-Id`: the event's UUID, the same on every retry (a receiver keeps the ids it has
  processed and ignores a repeat);
- `X-MiniBot-Timestamp`: Unix seconds when this try was sent;
- `X-MiniBot-Signature`: `sha256=` and the hex HMAC-SHA256, keyed by the campaign's shared secret,
  of `<timestamp>.<body>`. Binding the timestamp into the signature is what stops replays: a receiver
  refuses a request whose timestamp is more than a few minutes away from its own clock (the scheme
  of Stripe's and GitHub's webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

EVENT_ID = "X-MiniBot-Event-Id"
TIMESTAMP = "X-MiniBot-Timestamp"
SIGNATURE = "X-MiniBot-Signature"
TOLERANCE_S = 300  # how far a receiver accepts a timestamp from its clock


class SignatureError(ValueError):
    """A request that must be refused: unsigned, badly signed, or too old (a replay)."""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sign(secret: str, event_id: str, body: bytes, now: float) -> dict[str, str]:
    """The headers of one try."""
    ts = int(now)
    return {EVENT_ID: event_id, TIMESTAMP: str(ts), SIGNATURE: signature(secret, ts, body),
            "Content-Type": "application/json"}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float,
           tolerance_s: float = TOLERANCE_S) -> str:
    """The event id of a genuine, fresh request; SignatureError otherwise."""
    try:
        ts = int(headers[TIMESTAMP])
        given = headers[SIGNATURE]
        event_id = headers[EVENT_ID]
    except (KeyError, ValueError):
        raise SignatureError("missing or malformed signature headers") from None
    if abs(now - ts) > tolerance_s:
        raise SignatureError(f"timestamp {ts} is {now - ts:+.0f} s from now: refused as a replay")
    if not hmac.compare_digest(given, signature(secret, ts, body)):
        raise SignatureError("signature does not match the body")
    return event_id
