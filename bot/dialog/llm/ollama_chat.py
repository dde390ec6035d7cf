"""`ChatModel` on a local Ollama, through the official `ollama` client (async httpx underneath)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import httpx
import ollama

from .chat import LlmFailure, LlmUnavailable

if TYPE_CHECKING:
    from ...config import LlmSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

PREWARM_TIMEOUT = 60.0  # loading a 3B model from disk takes seconds, far more on a cold page cache
# The httpx ceiling: only a backstop, each call is bounded by its own (much shorter) timeout.
CLIENT_TIMEOUT = 120.0


class OllamaChat:
    """One model on one Ollama server. Every request sends `keep_alive`, so the model stays
    resident between calls of a campaign instead of being reloaded (seconds) after 5 idle minutes."""

    def __init__(self, url: str, model: str, *, keep_alive: str = "30m", temperature: float = 0.1,
                 num_predict: int = 160) -> None:
        self.model = model
        self.keep_alive = keep_alive
        self.host = _safe_host(url)  # for messages: the URL may carry credentials
        # Low temperature: classification must be repeatable and answers sober. num_predict caps
        # a runaway answer (3 short sentences are ~80 tokens; the NLU JSON ~30).
        self._options = {"temperature": temperature, "num_predict": num_predict}
        self._client = ollama.AsyncClient(host=url, timeout=CLIENT_TIMEOUT)

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> OllamaChat:
        return cls(settings.ollama_url, settings.model, keep_alive=settings.keep_alive)

    async def chat(self, messages: list[dict[str, str]], *, schema: dict | None = None, timeout: float) -> str:
        reply = await self._bounded(self._client.chat(model=self.model, messages=messages, format=schema,
                                                      options=self._options, keep_alive=self.keep_alive), timeout)
        if reply.message.content is None:
            raise LlmUnavailable(LlmFailure.BAD_REPLY, f"{self.model} sent a message without content")
        return reply.message.content

    async def prewarm(self, timeout: float = PREWARM_TIMEOUT) -> bool:
        """Load the model now and keep it loaded (Ollama loads on an empty prompt), so the first
        caller does not wait for it. False, with one warning, when Ollama cannot do it."""
        try:
            await self._bounded(self._client.generate(model=self.model, prompt="", keep_alive=self.keep_alive),
                                timeout)
        except LlmUnavailable as exc:
            log.warning("Ollama prewarm failed: %s", exc)
            return False
        log.info("Ollama model %s loaded at %s, kept %s", self.model, self.host, self.keep_alive)
        return True

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OllamaChat:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _bounded(self, request: Awaitable[T], timeout: float) -> T:
        """Await one client request within `timeout`, turning every way it can fail into `LlmUnavailable`."""
        try:
            return await asyncio.wait_for(request, timeout)
        except (TimeoutError, httpx.TimeoutException):
            raise LlmUnavailable(LlmFailure.TIMEOUT, f"{self.model} gave no answer within {timeout:g} s") from None
        except ollama.ResponseError as exc:
            if exc.status_code == 404 and "model" in str(exc.error):
                raise LlmUnavailable(LlmFailure.MODEL_MISSING,
                                     f"{exc.error} at {self.host}; run: ollama pull {self.model}") from None
            raise LlmUnavailable(LlmFailure.HTTP, f"{self.host} answered {exc.status_code}: {exc.error}") from None
        except ConnectionError:  # what the ollama client makes of httpx.ConnectError
            raise LlmUnavailable(LlmFailure.DOWN, f"cannot connect to Ollama at {self.host}") from None
        except httpx.HTTPError as exc:  # the connection broke mid-request
            raise LlmUnavailable(LlmFailure.DOWN, f"connection to {self.host} failed: {exc!r}") from None
        except ValueError as exc:  # not JSON, or JSON that is not a chat reply (pydantic's error is one)
            raise LlmUnavailable(LlmFailure.BAD_REPLY,
                                 f"{self.host} sent an unreadable reply: {_first_line(exc)}") from None


def _safe_host(url: str) -> str:
    """scheme://host:port, without any user:password@ the URL may carry."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
