"""SimulatedAsterisk: the harness tests and the demo drive.

    async with SimulatedAsterisk(password="secret") as sim:
        sim.add_callee("PJSIP/+33612345678@trunk", Human(utterances=[Say("allo", at=0.3)]))
        ... point an ARI client at sim.url / sim.ws_url ...
        assert not sim.live_channels()

Endpoints: ``Local/<kind>@callee-sim`` maps to the default party of each kind (human,
machine, busy, congestion, reject, noanswer, unallocated, agent); any other Local extension
does not exist (facts §3.2: ChannelDestroyed cause 0 on both legs). Other endpoints
(``PJSIP/...``) get the party given to add_callee(), else ``default_callee``, by default
Unallocated() (cause 1, as a trunk answering 404).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

from aiohttp import web

from . import dialing
from . import events as ev
from .bus import EventBus
from .call import Call
from .callees import Callee, Human, Unallocated, local_callee
from .core import Core, Faults, Settings
from .model import Bridge, Channel
from .rest import AriRest

log = logging.getLogger(__name__)

SOFTHANGUP_SHUTDOWN = 4  # AST_SOFTHANGUP_SHUTDOWN: ChannelHangupRequest{soft: true}.cause at `core stop`

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEECH_DIR = REPO_ROOT / "tests" / "fixtures" / "speech"
_UNSET = object()


class SimulatedAsterisk:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "minibot",
        password: str = "minibot",
        app: str = "minibot",
        sounds_dir: str | Path | None = None,
        recordings_dir: str | Path | None = None,
        speech_dir: str | Path | None = None,
        time_scale: float = 1.0,
        callee_context: str = "callee-sim",
        amd_contexts: tuple[str, ...] = ("minibot-amd", "amd"),
        inbound_context: str = "minibot-inbound",
        default_callee: Callee | None | object = _UNSET,
    ) -> None:
        self.host = host
        self.port = port
        self.app = app
        self.users = {username: password}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.sounds_dir = Path(sounds_dir) if sounds_dir else Path("/var/lib/asterisk/sounds")
        if recordings_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sim-recordings-")
            recordings_dir = self._tmp.name
        self.recordings_dir = Path(recordings_dir)
        self.settings = Settings(
            app=app,
            sounds_dir=self.sounds_dir,
            recordings_dir=self.recordings_dir,
            speech_dir=Path(speech_dir) if speech_dir else DEFAULT_SPEECH_DIR,
            time_scale=time_scale,
            callee_context=callee_context,
            amd_contexts=amd_contexts,
            inbound_context=inbound_context,
        )
        self.default_callee: Callee | None = Unallocated() if default_callee is _UNSET else default_callee  # type: ignore[assignment]
        self.faults = Faults()
        self.bus = EventBus()
        self._callees: dict[str, Callee] = {}
        self.core = self._new_core()
        self._old_calls: list[Call] = []
        self._rest = AriRest(self)
        self._runner: web.AppRunner | None = None
        # `core stop now` under way (stop_now): "allocation" refuses originates with 500, then
        # "unavailable" answers every request with Asterisk's 503 page.
        self.stopping: str | None = None

    def _new_core(self) -> Core:
        return Core(self.settings, self.bus, self.faults, self._callee_for)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.core.start()
        await self._start_http()
        log.info("simulated Asterisk on %s (app %s)", self.url, self.app)

    async def close(self) -> None:
        await self._stop_http()
        await self.core.aclose()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> SimulatedAsterisk:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _start_http(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._rest.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = addresses[0][1]

    async def _stop_http(self) -> None:
        await self.bus.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The ARI base URL, as ari.conf users would configure it: http://127.0.0.1:PORT/ari"""
        return f"http://{self.host}:{self.port}/ari"

    @property
    def ws_url(self) -> str:
        """The events websocket without its query: add ``?app=minibot`` (and ``api_key``)."""
        return f"ws://{self.host}:{self.port}/ari/events"

    def events_url(self, app: str | None = None, *, api_key: bool = False) -> str:
        """The full events URL for ``app`` (default: the simulator's), credentials optional."""
        url = f"{self.ws_url}?app={app or self.app}"
        if api_key:
            user, password = next(iter(self.users.items()))
            url += f"&api_key={user}:{password}"
        return url

    # -- parties --------------------------------------------------------------------------------

    def add_callee(self, endpoint: str, callee: Callee) -> None:
        """Bind a scripted party to an endpoint (exactly as the originate names it)."""
        self._callees[_normalise(endpoint)] = callee

    def _callee_for(self, endpoint: str) -> Callee | None:
        endpoint = _normalise(endpoint)
        if endpoint in self._callees:
            return self._callees[endpoint]
        tech, _, resource = endpoint.partition("/")
        if tech == "Local":
            exten, _, context = resource.partition("@")
            return local_callee(exten) if context == self.settings.callee_context else None
        return self.default_callee

    def inbound(self, caller_number: str, exten: str, callee: Human | None = None, *, app: str | None = None) -> Call:
        """A call arriving from the trunk into ``Stasis(app,inbound,<caller>,<exten>)``: the
        channel is in state Ring until the app answers it."""
        party = callee if callee is not None else Human(echo_db=None)
        return dialing.inbound(self.core, caller_number, exten, party, app=app or self.app,
                               context=self.settings.inbound_context, trunk=self.settings.trunk)

    # -- what tests look at ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        return self._old_calls + self.core.calls

    def call(self, channel_id: str) -> Call:
        for call in reversed(self.calls):
            if call.channel_id == channel_id:
                return call
        raise KeyError(channel_id)

    def live_channels(self) -> list[Channel]:
        return [c for c in self.core.channels.values() if c.alive]

    def live_bridges(self) -> list[Bridge]:
        return list(self.core.bridges.values())

    @property
    def time_scale(self) -> float:
        return self.settings.time_scale

    # -- failures ----------------------------------------------------------------------------

    async def drop_websockets(self) -> None:
        """An ARI network drop: every events websocket is cut (no close frame). Channels stay;
        events for the app are lost until a client connects again."""
        await self.bus.drop_all()

    async def stop_now(self, *, refusing: float = 0.1, unavailable: float = 1.0, media_first: bool = False) -> None:
        """`core stop now`, in the order a real Asterisk 22.11 does it (captured on the live one,
        tests/live/test_conformance.py): every channel gets ChannelHangupRequest{cause 4 (the
        shutdown soft-hangup flag), soft} then StasisEnd and ChannelDestroyed{cause 0}; originates
        are answered 500 "Allocation failed" for ``refusing`` seconds, then every request gets the
        503 "Shutdown in progress" page for ``unavailable`` seconds; then the event sockets close
        and connections are refused until ``start()``. ``media_first``: the AudioSocket connections
        close before the events are read, which the real one also does at times (the two travel on
        different sockets; seen in CI)."""
        self.stopping = "allocation"
        self.bus.hold(media_first)
        for ch in [c for c in self.core.channels.values() if c.alive]:
            if ch.alive:  # a Local peer or a snoop may have gone with an earlier one
                self.core.publish(ch, ev.hangup_request(ch, SOFTHANGUP_SHUTDOWN, soft=True))
                self.core.teardown(ch, 0)
        if media_first:
            await asyncio.sleep(0.1)  # the app reads the closed AudioSockets, then the events
            self.bus.hold(False)
        await asyncio.sleep(refusing)
        self.stopping = "unavailable"
        await asyncio.sleep(unavailable)
        await self.bus.close_all()
        await self._stop_http()
        self._old_calls.extend(self.core.calls)
        await self.core.aclose()
        self.core = self._new_core()
        self.stopping = None

    async def restart(self, downtime: float = 0.0) -> None:
        """Asterisk restarts: websockets cut, every channel and bridge gone without events,
        AudioSocket connections closed, then the server is back on the same port."""
        await self.bus.drop_all()
        await self._stop_http()
        self._old_calls.extend(self.core.calls)
        await self.core.aclose()
        self.core = self._new_core()
        if downtime:
            await asyncio.sleep(downtime)
        self.core.start()
        await self._start_http()


def _normalise(endpoint: str) -> str:
    # Local/x@ctx/n: the /n option does not change the party
    tech, _, resource = endpoint.partition("/")
    if tech == "Local" and "/" in resource:
        resource = resource.split("/", 1)[0]
    return f"{tech}/{resource}"


async def serve_forever(sim: SimulatedAsterisk) -> None:
    async with sim:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
