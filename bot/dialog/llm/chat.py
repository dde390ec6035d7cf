"""The seam every LLM user talks through: one async `chat` call, one error type."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class LlmFailure(StrEnum):
    """Why the LLM gave no usable answer; short, it ends up in `Understanding.source`."""

    TIMEOUT = "timeout"
    DOWN = "down"  # nothing listens, or the connection broke
    MODEL_MISSING = "model missing"
    HTTP = "http error"
    BAD_REPLY = "bad reply"  # the server answered something that is not its API
    CIRCUIT_OPEN = "circuit open"  # not even tried: too many failures just before


class LlmUnavailable(Exception):
    """The LLM could not answer. Callers fall back; none of these is worth a retry within a call."""

    def __init__(self, reason: LlmFailure, detail: str = "") -> None:
        super().__init__(f"LLM unavailable ({reason}){': ' + detail if detail else ''}")
        self.reason = reason
        self.detail = detail


class ChatModel(Protocol):
    """Messages in (`role`/`content` dicts), the assistant's text out, within `timeout` seconds.

    `schema` (a JSON schema) asks for JSON that follows it. Raises `LlmUnavailable`, never hangs."""

    async def chat(self, messages: list[dict[str, str]], *, schema: dict | None = None, timeout: float) -> str: ...
