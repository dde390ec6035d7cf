"""What a lost worker leaves in Asterisk, and its removal.

A call's channels and bridges are all named after it: the caller `mb-<call id>`, its Local peer
`mb-<call id>-2`, the snoops and the AudioSocket channel `mb-<call id>-<role>`, the listen bridge
`mb-<call id>-bridge` and the bridge the prompts play on, `mb-<call id>-talk` (bot.call.call).
When a worker dies (kill -9), the kernel closes its AudioSocket connections and Asterisk hangs
the AudioSocket channels up by itself (facts §1.5), but nothing else: the caller stays in Stasis
on a silent line, the recording snoop runs, the bridges stay (checked live on 22.11: 10 s after
the event socket closed, the channel was still up and the app still listed it). Asterisk's own
timer for this, `TIMEOUT(absolute)`, needs func_timeout, which the test runtime lacks; so the
workers clean up after each other:

- `Sweeper`: every worker looks at Asterisk every `every` (2) seconds; a listen bridge (outbound
  `mb-<call id>-bridge`, inbound `<Asterisk's channel id>-bridge`) with no
  AudioSocket channel in it, seen so on `looks` (3) looks in a row and not one of this worker's
  calls, belongs to a dead worker: everything of that call is removed. (A live worker's call has
  such a bridge only while it sets the listen path up, well under the 4 s that three looks span.)
  A caller is so left on a silent line at most about `every` × `looks` seconds (6 s, plus one ARI
  round trip) after the worker died, if any worker is running on that Asterisk.
- `remove_call`: the dialer's lease recovery removes what the lost call left (its attempt is
  closed as interrupted at the same time), which also covers calls that had no bridge yet.

A transferred call (caller and agent bridged in `mb-<call id>-xfer`) is people talking: it is
never cut here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Collection

from ari.client import AriClient
from ari.errors import AriError, AriNotFound

log = logging.getLogger(__name__)

PREFIX = "mb-"
_UNIQUE_ID = re.compile(r"^\d+\.\d+$")  # an inbound caller channel keeps Asterisk's own id (1733461234.12)


def _caller_of(bridge_id: str) -> str | None:
    """The caller channel id of a MiniBot listen bridge `<caller>-bridge`, else None (a bridge
    of some other application on the same Asterisk is never touched)."""
    if not bridge_id.endswith("-bridge"):
        return None
    caller = bridge_id[: -len("-bridge")]
    if caller.startswith(PREFIX) and "-" not in caller[len(PREFIX):] or _UNIQUE_ID.match(caller):
        return caller
    return None


async def remove_call(client: AriClient, caller: str) -> int:
    """Hang up every channel and destroy every bridge of the call whose caller channel is `caller`
    (`mb-<call id>` for an outbound call); returns how many were removed."""
    channels = [c.id for c in await client.list_channels() if c.id == caller or c.id.startswith(caller + "-")]
    bridges = [b for b in await client.list_bridges() if b.id.startswith(caller + "-")]
    talking = next((b for b in bridges if b.id == f"{caller}-xfer" and len(b.channels) >= 2), None)
    if talking is not None:  # transferred: caller and agent talk; only the bot's own parts go
        channels = [c for c in channels if c not in talking.channels]
        bridges = [b for b in bridges if b is not talking]
    removed = 0
    # The caller first: its snoops end with it; then whatever is left, then the bridges.
    for cid in sorted(channels, key=lambda c: (c != caller, c)):
        with contextlib.suppress(AriNotFound):
            await client.hangup(cid)
            removed += 1
    for bridge in bridges:
        with contextlib.suppress(AriNotFound):
            await client.destroy_bridge(bridge.id)
            removed += 1
    if removed:
        log.warning("call of channel %s: removed %d channels/bridges a lost worker left in Asterisk", caller, removed)
    return removed


class Sweeper:
    """Finds calls whose worker is gone (their AudioSocket channel died with it) and removes them."""

    def __init__(self, client: AriClient, own_callers: Callable[[], Collection[str]], *, every: float = 2.0,
                 looks: int = 3) -> None:
        self.client, self.own_callers, self.every, self.looks = client, own_callers, every, looks
        self._suspects: dict[str, int] = {}  # caller channel id → looks in a row its call seemed orphaned
        self.removed_calls = 0

    async def sweep(self) -> list[str]:
        """One look; returns the calls removed."""
        bridges = await self.client.list_bridges()
        orphans = set()
        own = set(self.own_callers())
        for bridge in bridges:
            caller = _caller_of(bridge.id)
            if caller is None or caller in own:
                continue
            if f"{caller}-ext" not in bridge.channels:
                orphans.add(caller)
        self._suspects = {c: self._suspects.get(c, 0) + 1 for c in orphans}
        confirmed = [c for c, n in self._suspects.items() if n >= self.looks]
        for caller in confirmed:
            del self._suspects[caller]
        for caller in sorted(confirmed):
            try:
                await remove_call(self.client, caller)
                self.removed_calls += 1
            except AriError as exc:
                log.warning("call of channel %s: leftovers not removed yet: %s", caller, exc)
        return sorted(confirmed)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.sweep()
            except AriError as exc:  # Asterisk away: the next look tries again
                log.debug("sweep skipped: %s", exc)
