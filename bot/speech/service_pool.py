"""Several servers for one speech engine: calls spread across them, a failing one set aside.

An operator scales recognition (or synthesis) by adding machines, each running a maintained
server (wyoming-faster-whisper, wyoming-piper, ...), and lists their URIs in the settings. Each
call takes the servers in turn (round robin), so the load spreads; a server that fails a call is
set aside for ``cooldown`` seconds and the call goes on with the next one. When every server is
set aside, they are all tried anyway (a pool that refuses to try is worse than a slow one).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def where(uri: str) -> str:
    """The URI without user info or query, for messages and logs (no secret ever leaks there)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class ServicePool:
    def __init__(self, uris: list[str], *, cooldown: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not uris:
            raise ValueError("a server pool needs at least one URI")
        self.uris = list(dict.fromkeys(uris))  # the same server twice would count twice
        self.cooldown = cooldown
        self._clock = clock
        self._next = itertools.count()
        self._down_until: dict[str, float] = {}
        self._why: dict[str, str] = {}

    def order(self) -> Iterator[str]:
        """The servers to try for one call: healthy ones first, round robin, then set-aside ones."""
        start = next(self._next) % len(self.uris)
        turn = self.uris[start:] + self.uris[:start]
        now = self._clock()
        healthy = [u for u in turn if self._down_until.get(u, 0.0) <= now]
        resting = [u for u in turn if u not in healthy]
        yield from healthy + resting

    def failed(self, uri: str, why: str) -> None:
        if self._down_until.get(uri, 0.0) <= self._clock():
            log.warning("speech server set aside for %g s: %s", self.cooldown, why)
        self._down_until[uri] = self._clock() + self.cooldown
        self._why[uri] = why

    def succeeded(self, uri: str) -> None:
        if self._down_until.pop(uri, None) is not None:
            log.info("speech server %s is back", where(uri))
        self._why.pop(uri, None)

    def state(self, uri: str) -> str:
        """'ok', or why the server is set aside (for /health and logs)."""
        if self._down_until.get(uri, 0.0) > self._clock():
            return f"set aside: {self._why.get(uri, 'failed')}"
        return "ok"
