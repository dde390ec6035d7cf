"""Whether this process may dial now, and what stops it starting at all.

A dial is only safe while the ARI event socket is connected *and* Asterisk has registered the
Stasis app on it: an originate answered before that is dropped by Asterisk once the callee has
picked up ("Stasis app '...' doesn't exist", seen 0.8 s after a restart, before the event socket
reconnected). An originate that Asterisk refuses (500 "Allocation failed" or a 503 page while it
stops, a refused connection) never rang: it is `NotDialled`, not a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging

from ari.client import AriClient
from ari.errors import AriError, AriHttpError, AriNotFound, AriUnavailable
from ari.events import ChannelHangupRequest, OtherEvent
from ari.stream import ConnectionLost, EventStream, Reconnected

log = logging.getLogger(__name__)


SOFTHANGUP_SHUTDOWN = 4  # ChannelHangupRequest{soft: true}.cause on every channel at `core stop` (checked live)


class NotDialled(Exception):
    """Nothing rang: Asterisk was not ready, or refused the originate. Not a dial attempt."""


class StartupError(Exception):
    """This process cannot take calls as configured; the message says what to change (French:
    operators read it)."""


def refused(exc: BaseException) -> bool:
    """An originate error after which the number certainly never rang: Asterisk answered with an
    error status, or the connection was refused before the request left. A timeout or a reset
    connection may have been acted on: that one counts as a (failed) dial."""
    if isinstance(exc, AriHttpError):
        return True
    return isinstance(exc, AriUnavailable) and not exc.sent


def port_in_use(exc: OSError, what: str, address: str) -> StartupError | None:
    """A clear start-up error for a listening port already taken (else None)."""
    if exc.errno != errno.EADDRINUSE:
        return None
    return StartupError(f"le port {what} {address} est déjà utilisé (un autre worker MiniBot tourne-t-il sur "
                        f"cette machine ?) : donnez à chaque worker son propre port")


class Readiness:
    """Tracks the event socket and the app's registration; ``ready`` gates every dial."""

    def __init__(self, client: AriClient, stream: EventStream) -> None:
        self.client, self.stream = client, stream
        self.app = client.config.app
        self.replaced = False  # another connection took our Stasis app over: we get no events any more
        self._verified = -1  # the event-socket connection (stream.connections) whose app was seen registered
        self._stopping = -2  # the connection on which Asterisk was seen shutting down (`core stop`)
        self._changed = asyncio.Event()

    @property
    def ready(self) -> bool:
        return (not self.replaced and self.stream.connected.is_set()
                and self._verified == self.stream.connections != self._stopping)

    @property
    def why_not(self) -> str:
        """Why dials are held, in French (empty when ready)."""
        if self.replaced:
            return (f"l'application Stasis « {self.app} » a été reprise par une autre connexion : deux workers "
                    f"utilisent le même nom d'application (MINIBOT_ARI__APP)")
        if not self.stream.connected.is_set():
            return "Asterisk injoignable : la connexion d'événements ARI est coupée"
        if self._stopping == self.stream.connections:
            return "Asterisk s'arrête (core stop) : aucun appel jusqu'à son redémarrage"
        if not self.ready:
            return "connexion ARI rétablie, application Stasis pas encore enregistrée"
        return ""

    async def warn_if_taken(self) -> None:
        """Before connecting: an app already registered means another worker may be using it
        (or one that died left calls behind); connecting would silently take its events."""
        try:
            app = await self.client.application(self.app)
        except AriNotFound:
            return
        except AriError:
            return  # unreachable: the connection attempt says so
        log.warning("l'application Stasis « %s » est déjà enregistrée sur Asterisk (%d canaux) : un autre worker "
                    "l'utilise (il ne recevra plus rien : donnez à chaque worker son propre MINIBOT_ARI__APP), "
                    "ou un worker arrêté y a laissé des appels", self.app, len(app.get("channel_ids") or []))

    async def verify(self) -> bool:
        """After a (re)connection: is the app registered on it?"""
        seen = self.stream.connections
        try:
            await self.client.application(self.app)
        except AriError as exc:
            log.info("ARI: app %s not confirmed yet (%s)", self.app, exc)
            return False
        if self.stream.connections == seen and self.stream.connected.is_set():
            self._verified = seen
            self._changed.set()
            return True
        return False

    async def wait(self, timeout: float) -> bool:
        """Until ready (True), or `timeout` seconds (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.ready:
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, 0.5)):
                    await self._changed.wait()
        return True

    async def watch(self) -> None:
        """Runs for the controller's life: verify every (re)connection, notice a takeover."""
        with self.stream.subscribe(everything=True) as sub:
            while True:
                if not self.ready and not self.replaced and self.stream.connected.is_set():
                    await self._verify_until_ok()
                try:
                    event = await sub.get(timeout=0.5)  # also a tick: a first connection sends no event
                except TimeoutError:
                    continue
                if isinstance(event, ConnectionLost | Reconnected):
                    self._changed.set()
                elif (isinstance(event, ChannelHangupRequest) and event.soft and event.cause == SOFTHANGUP_SHUTDOWN
                      and self._stopping != self.stream.connections):
                    # Asterisk hangs every channel up this way as it stops, before its sockets close; an
                    # originate now could still ring (checked live: one sent then got a StasisStart).
                    self._stopping = self.stream.connections
                    self._changed.set()
                    log.warning("ARI: Asterisk is shutting down; dials held until it is back")
                elif isinstance(event, OtherEvent) and event.type == "ApplicationReplaced" and not self.replaced:
                    self.replaced = True
                    self._changed.set()
                    log.error("%s ; ce worker ne numérote plus (ARI app %s replaced by another connection)",
                              self.why_not, self.app)

    async def _verify_until_ok(self) -> None:
        delay = 0.1
        while self.stream.connected.is_set() and not await self.verify():
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)


def asterisk_down(exc: BaseException) -> bool:
    """Asterisk itself is gone or going (unreachable, or a 5xx while it stops), as opposed to a
    request it refused for this call alone."""
    if isinstance(exc, AriUnavailable):
        return True
    return isinstance(exc, AriHttpError) and exc.status >= 500


def note_for(exc: BaseException) -> str:
    """One clear line for a call's note (operators read it in exports), never a raw page."""
    if isinstance(exc, AriUnavailable):
        return "Asterisk injoignable"
    if isinstance(exc, AriHttpError):
        # "/channels/mb-1a2b/play" -> "channels/play": the resource and the action, without ids.
        what = f"{exc.method} {'/'.join(p for p in exc.path.split('/') if p.isalpha())}"
        text = " ".join(exc.message.split())[:120]
        if exc.status >= 500:
            return f"erreur Asterisk {exc.status} ({text}) sur {what}"
        return f"Asterisk a refusé {what} ({exc.status} {text})"
    if isinstance(exc, TimeoutError):
        return "Asterisk n'a pas répondu à temps"
    text = " ".join(str(exc).split())
    return text[:200] or exc.__class__.__name__
