"""The simulated Asterisk: channels, Stasis, bridges, playbacks, recordings and media routing.

Everything runs on one asyncio loop. Events are published synchronously where Asterisk
would publish them, so their order is deterministic. An event reaches the app when the
channel is subscribed: originated channels (POST /channels, externalMedia) from creation to
ChannelDestroyed; snoop and inbound channels only while in Stasis (res/stasis/app.c
"interested" count): that is why a snoop's StasisEnd is its last event.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import events as ev
from .audio import FRAME, RATE, ClipCache, SoundError, find_sound, read_sound
from .bus import EventBus
from .call import Call
from .callees import Callee, Human
from .control import Control, ControlClosed
from .media import Line, MediaClock
from .model import ASTERISK_ID, Bridge, Channel, Dialplan
from .playback import MediaItem, Playback
from .recording import LiveRecording

log = logging.getLogger(__name__)

GENERIC_500 = "An internal error prevented this request from being handled"
ORIGINATED = Dialplan(app_name="AppDial2", app_data="(Outgoing Line)")
DESTROY_AFTER_STASIS_END = 0.011  # s: a hang-up on a real Asterisk 22.11, StasisEnd -> ChannelDestroyed


class AriError(Exception):
    """An ARI error response: ``{"message": ...}`` unless ``body`` is given."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"message": message}


@dataclass
class Settings:
    app: str
    sounds_dir: Path
    recordings_dir: Path
    speech_dir: Path
    time_scale: float = 1.0
    callee_context: str = "callee-sim"
    amd_contexts: tuple[str, ...] = ("minibot-amd", "amd")
    inbound_context: str = "minibot-inbound"
    trunk: str = "trunk"


@dataclass
class Faults:
    """Failures a test can switch on."""

    external_media_status: int | None = None  # externalMedia answers this error, no TCP
    audiosocket_never_connects: bool = False  # externalMedia "succeeds" but never connects
    audiosocket_uuid_delay: float = 0.0  # connect, then send the UUID this much later (s)
    originate_status: int | None = None  # POST /channels answers this error (a stopping Asterisk: 500, 503)


class Core:
    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        faults: Faults,
        callee_for: Callable[[str], Callee | None],
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.faults = faults
        self.callee_for = callee_for  # endpoint -> its party; None: no such extension
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.playbacks: dict[str, Playback] = {}
        self.recordings: dict[str, LiveRecording] = {}
        self.calls: list[Call] = []
        self.clips = ClipCache(settings.speech_dir)
        self.clock = MediaClock(self._tick, self._skipped)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._call_tasks: dict[Call, set[asyncio.Task[Any]]] = {}
        self._chan_counter = itertools.count(0x10)
        self._snoop_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._boot = int(time.time())
        self.started = time.time()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self.clock.start()

    async def aclose(self) -> None:
        """Asterisk stops: no more events; tasks cancelled and awaited, TCP legs closed."""
        await self.clock.stop()
        channels = list(self.channels.values())
        self.channels.clear()
        for ch in channels:
            ch.alive = False
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ch in channels:
            if ch.leg is not None:
                await ch.leg.aclose()
            if ch.control is not None:
                await ch.control.aclose()
        for call in self.calls:
            call.ended.set()

    def spawn(
        self, coro: Coroutine[Any, Any, Any], call: Call | None = None, name: str | None = None
    ) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        if call is not None:
            self._call_tasks.setdefault(call, set()).add(task)
        task.add_done_callback(lambda t: self._task_done(t, call))
        return task

    def track(self, task: asyncio.Task[Any]) -> None:
        """Own a task created elsewhere (a control worker, a leg reader)."""
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, None))

    def _task_done(self, task: asyncio.Task[Any], call: Call | None) -> None:
        self._tasks.discard(task)
        if call is not None and call in self._call_tasks:
            self._call_tasks[call].discard(task)
        if not task.cancelled() and task.exception() is not None:
            # one call's failure stays with that call
            log.error("simulator task %s failed", task.get_name(), exc_info=task.exception())

    def _cancel_call_tasks(self, call: Call) -> None:
        current = asyncio.current_task()
        for task in self._call_tasks.pop(call, set()):
            if task is not current:
                task.cancel()

    def scaled(self, seconds: float) -> float:
        return seconds * self.settings.time_scale

    # -- ids and names -----------------------------------------------------------------

    def new_id(self) -> str:
        return f"{self._boot}.{next(self._id_counter)}"

    def next_chan_no(self) -> int:
        return next(self._chan_counter)

    def check_free(self, *ids: str | None) -> None:
        for cid in ids:
            if cid and cid in self.channels:
                raise AriError(409, "Channel with given unique ID already exists")

    def register(self, ch: Channel, call: Call | None = None) -> Channel:
        self.channels[ch.id] = ch
        if call is not None:
            ch.call = call
            if ch not in call.channels:
                call.channels.append(ch)
        return ch

    # -- events ------------------------------------------------------------------------

    def publish(self, ch: Channel, event: dict[str, Any] | None) -> None:
        """Send a channel (or playback/recording) event if the app is subscribed to ``ch``."""
        if event is None or not ch.subscribed or ch.app is None:
            return
        event = {**event, "asterisk_id": ASTERISK_ID, "application": ch.app}
        ch.events.append((self.bus.next_seq(), event))
        self.bus.deliver(ch.app, event)

    def publish_bridge(self, bridge: Bridge, event: dict[str, Any]) -> None:
        if bridge.app is None:
            return
        event = {**event, "asterisk_id": ASTERISK_ID, "application": bridge.app}
        bridge.events.append((self.bus.next_seq(), event))
        self.bus.deliver(bridge.app, event)

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        if name.upper() == "VOLUME(TX)":
            # func_volume: an audiohook scales what is written to the channel; like
            # ast_frame_adjust_volume, a positive value multiplies, a negative one divides.
            try:
                factor = float(value)
            except ValueError:
                raise AriError(400, "Failed to execute function") from None
            if ch.line is not None:
                ch.line.tx_gain = factor if factor > 0 else 1.0 / -factor if factor < 0 else 1.0
            return  # a function: no ChannelVarset, nothing stored
        ch.variables[name] = value
        self.publish(ch, ev.varset(ch, name, value))

    def set_state(self, ch: Channel, state: str) -> None:
        if ch.state != state:
            ch.state = state
            self.publish(ch, ev.state_change(ch))

    # -- Stasis --------------------------------------------------------------------------

    def enter_stasis(self, ch: Channel, app: str, args: list[str], app_data: str | None = None) -> bool:
        """Stasis(app,args) on ``ch``; False (and the channel hangs up) if the app has no websocket."""
        if not ch.alive:
            return False
        ch.app = app
        ch.dialplan = replace(ch.dialplan, app_name="Stasis", app_data=app_data or ",".join([app, *args]))
        if not self.bus.active(app):
            # res_stasis.c: "Stasis app 'x' not active" -> STASISSTATUS=FAILED, dialplan ends
            log.warning("Stasis app %r has no websocket: %s hangs up", app, ch.name)
            self.set_var(ch, "STASISSTATUS", "FAILED")
            self.spawn(self._hangup_soon(ch, 16), ch.call)
            return False
        self.set_var(ch, "STASISSTATUS", "")
        ch.in_stasis = True
        ch.control = Control(ch.id, self.track)
        self.publish(ch, ev.stasis_start(ch, args))
        return True

    async def _hangup_soon(self, ch: Channel, cause: int) -> None:
        await asyncio.sleep(0)
        self.teardown(ch, cause)

    def leave_stasis(self, ch: Channel) -> None:
        if not ch.in_stasis:
            return
        if ch.bridge is not None:
            self.leave_bridge(ch)
        self.publish(ch, ev.stasis_end(ch))
        ch.in_stasis = False
        self.set_var(ch, "STASISSTATUS", "SUCCESS")
        if ch.control is not None:
            # called from the control's own worker (continue): it ends after this command
            self._drop_queued(ch.control)
            ch.control.close()
            ch.control = None

    def _drop_queued(self, control: Control) -> None:
        for tag in control.pending():
            if isinstance(tag, Playback):
                tag.dropped()
                self.playbacks.pop(tag.id, None)

    # -- hang-ups ------------------------------------------------------------------------

    def teardown(self, ch: Channel, cause: int, *, cascade_peer: bool = True) -> None:
        """The channel is gone: what was playing ends, it leaves its bridge and Stasis, its
        snoops die with it, its Local peer is hung up, then ChannelDestroyed."""
        if not ch.alive:
            return
        ch.alive = False
        ch.hangup_cause = cause
        if ch.control is not None:
            current = ch.control.current
            if isinstance(current, Playback):
                current.abort(self)
                self.playbacks.pop(current.id, None)
            self._drop_queued(ch.control)
        if ch.recording is not None:
            self.finish_recording(ch.recording)
        if ch.bridge is not None:
            self.leave_bridge(ch)
        call = ch.call
        # The real Asterisk destroys an answered caller channel ~10 ms after its StasisEnd (after the
        # snoops' StasisEnd): an app that stops reading at StasisEnd loses the cause (tests/live).
        late_destroy = ch.in_stasis and ch.snoop_of is None and call is not None and call.channel_id == ch.id
        if ch.in_stasis:
            self.publish(ch, ev.stasis_end(ch))
            ch.in_stasis = False
            self.set_var(ch, "STASISSTATUS", "SUCCESS")
        if ch.control is not None:
            ch.control.shutdown()
            ch.control = None
        for snoop in list(ch.snoops):
            self.teardown(snoop, 16)
        if ch.line is not None:
            self.clock.detach(ch.line)
            ch.line.notify()
        if ch.leg is not None:
            ch.leg.close()
            self.spawn(ch.leg.aclose(), name="as-close")
        peer = ch.local_peer
        if cascade_peer and peer is not None and peer.alive:
            self.publish(peer, ev.hangup_request(peer, cause))
            self.teardown(peer, cause, cascade_peer=False)
        if ch.home_dialplan is not None:
            ch.dialplan = replace(ch.home_dialplan)
        elif ch.name.endswith(";2"):
            ch.dialplan = replace(ch.dialplan, app_name="", app_data="")
        destroyed = ev.destroyed(ch, cause)
        self.channels.pop(ch.id, None)
        if ch.snoop_of is not None and ch in ch.snoop_of.snoops:
            ch.snoop_of.snoops.remove(ch)
        if call is not None and call.channel_id == ch.id:
            call.ended_at = time.monotonic()
            call.cause = cause
            self._cancel_call_tasks(call)
        if late_destroy:
            self.spawn(self._destroyed_later(ch, destroyed, call), name=f"destroy-{ch.id}")
            return
        self.publish(ch, destroyed)
        if call is not None and call.channel_id == ch.id:
            call.ended.set()

    async def _destroyed_later(self, ch: Channel, destroyed: dict[str, Any], call: Call) -> None:
        await asyncio.sleep(DESTROY_AFTER_STASIS_END)
        self.publish(ch, destroyed)
        call.ended.set()

    def callee_hangs_up(self, ch: Channel, cause: int = 16) -> None:
        """The party behind ``ch`` hangs up (the capture's order for a Local callee)."""
        if not ch.alive:
            return
        peer = ch.local_peer
        if peer is not None and peer.alive:
            peer.dialplan = replace(peer.dialplan, priority=peer.dialplan.priority + 1, app_name="Hangup",
                                    app_data="")
            self.publish(peer, ev.dialplan(peer))
            self.publish(peer, ev.hangup_request(peer, 16, soft=True))
        self.publish(ch, ev.hangup_request(ch, cause))
        if peer is not None and peer.alive:
            self.teardown(peer, cause, cascade_peer=False)
        self.teardown(ch, cause)

    def hangup_request(self, ch: Channel, cause: int) -> None:
        """DELETE /channels/{id}: soft hang-up (the event's cause is the flag, 32)."""
        self.publish(ch, ev.hangup_request(ch, 32, soft=True))
        self.teardown(ch, cause)

    def audiosocket_lost(self, ch: Channel, reason: str) -> None:
        """MiniBot closed the TCP connection (or sent 0x00): StasisEnd, ChannelDestroyed 0."""
        if ch.alive:
            log.info("%s: AudioSocket gone (%s): channel hangs up", ch.name, reason)
            self.teardown(ch, 0)

    # -- bridges -------------------------------------------------------------------------

    def create_bridge(self, bridge_id: str | None, bridge_type: str, name: str, app: str | None) -> Bridge:
        bid = bridge_id or self.new_id()
        if bid in self.bridges:
            raise AriError(409, f"Bridge with id '{bid}' already exists")
        kind = "holding" if "holding" in bridge_type.split(",") else "mixing"
        bridge = Bridge(bid, kind, name, app)
        self.bridges[bid] = bridge
        return bridge

    def add_to_bridge(self, bridge: Bridge, ch: Channel) -> None:
        if not bridge.alive or not ch.alive or ch.bridge is bridge:
            return
        if ch.bridge is not None:
            self.leave_bridge(ch)
        bridge.members.append(ch)
        ch.bridge = bridge
        self.publish(ch, ev.entered_bridge(bridge, ch))
        self._associate(bridge)

    def update_bridgepeers(self, bridge: Bridge) -> None:
        if len(bridge.members) < 2:
            return
        for member in bridge.members:
            value = ",".join(x.name for x in bridge.members if x is not member)
            if member.variables.get("BRIDGEPEER") != value:
                self.set_var(member, "BRIDGEPEER", value)

    def leave_bridge(self, ch: Channel) -> None:
        bridge = ch.bridge
        if bridge is None:
            return
        if bridge.sounding and ch.line is not None:
            # it stops hearing the announcer as it leaves
            for line, segment in [x for x in bridge.sounding if x[0] is ch.line]:
                bridge.sounding.remove((line, segment))
                self._end_segment(line, segment)
        self.set_var(ch, "BRIDGEPEER", "")
        bridge.members.remove(ch)
        ch.bridge = None
        ch.suspended = False
        self.publish(ch, ev.left_bridge(bridge, ch))

    def destroy_bridge(self, bridge: Bridge) -> None:
        announcer = bridge.announcer
        if announcer is not None and announcer.control is not None:
            # chan_bridge_media's channel is hung up with its bridge: what it plays ends "failed"
            current = announcer.control.current
            if isinstance(current, Playback):
                current.abort(self)
                self.playbacks.pop(current.id, None)
            self._drop_queued(announcer.control)
            announcer.control.shutdown()
            announcer.control = None
        for member in list(bridge.members):
            self.leave_bridge(member)
        bridge.alive = False
        self.bridges.pop(bridge.id, None)
        self.publish_bridge(bridge, ev.bridge_destroyed(bridge))

    def _associate(self, bridge: Bridge) -> None:
        """An externalMedia channel belongs to the call it is bridged with (for sim.calls)."""
        calls = {m.call for m in bridge.members if m.call is not None}
        for call in calls:
            if bridge not in call.bridges:
                call.bridges.append(bridge)
            for member in bridge.members:
                if member not in call.channels:
                    call.channels.append(member)
                if member.call is None:
                    member.call = call

    # -- media, every 20 ms ----------------------------------------------------------------

    def _tick(self) -> None:
        for line in list(self.clock.lines):
            line.step()
        bot_frames: dict[Channel, np.ndarray | None] = {}
        for ch in list(self.channels.values()):
            if ch.leg is not None:
                bot_frames[ch] = ch.leg.pop_frame()
        for bridge in list(self.bridges.values()):
            members = list(bridge.members)
            if len(members) < 2:
                continue
            reads = {m: self._read(m, bot_frames) for m in members}
            for member in members:
                heard = [reads[x] for x in members if x is not member and reads[x] is not None]
                if heard:
                    self._write(member, heard[0] if len(heard) == 1 else np.sum(heard, axis=0))
        for rec in list(self.recordings.values()):
            if rec.state == "recording":
                rec.feed(self._record_read(rec.channel, bot_frames))

    def _skipped(self, ticks: int) -> None:
        """The loop stalled: recordings keep wall-clock length (silence), media just resumes."""
        for rec in list(self.recordings.values()):
            if rec.state == "recording":
                for _ in range(ticks):
                    rec.feed(np.zeros(FRAME, np.float32))

    def _snoop_tap(self, snoop: Channel) -> np.ndarray:
        target = snoop.snoop_of
        line = target.line if target is not None and target.alive else None
        if line is None or snoop.spy == "none":
            return np.zeros(FRAME, np.float32)  # the snoop's timer still produces (silent) frames
        if snoop.spy == "in":
            return line.up_frame
        if snoop.spy == "out":
            return line.down_frame
        return np.clip(line.up_frame + line.down_frame, -1.0, 1.0)

    def _read(self, ch: Channel, bot_frames: dict[Channel, np.ndarray | None]) -> np.ndarray | None:
        """The frame ``ch`` contributes to its bridge this tick (None: nothing)."""
        if ch.tech == "Snoop":
            return self._snoop_tap(ch)
        if ch.leg is not None:
            return bot_frames.get(ch)
        if ch.line is not None and not ch.suspended:
            return ch.line.up_frame
        return None

    def _record_read(self, ch: Channel, bot_frames: dict[Channel, np.ndarray | None]) -> np.ndarray:
        frame = self._read(ch, bot_frames)
        return frame if frame is not None else np.zeros(FRAME, np.float32)

    def _write(self, ch: Channel, audio: np.ndarray) -> None:
        if ch.leg is not None:
            ch.leg.send(audio)
        elif ch.line is not None and not ch.suspended:
            ch.line.hear(audio)
        elif ch.tech == "Snoop" and ch.whisper in ("out", "both"):
            target = ch.snoop_of
            if target is not None and target.line is not None:
                target.line.hear(audio)

    def start_line(self, ch: Channel, callee: Callee | None) -> Line:
        party = callee if isinstance(callee, Human) else Human(echo_db=None)
        line = Line(echo_db=party.echo_db, echo_delay_ms=party.echo_delay_ms, noise_dbfs=party.noise_dbfs,
                    seed=len(self.calls))
        self.clock.attach(line)
        ch.line = line
        return line

    # -- playbacks (PlaybackHost) ----------------------------------------------------------

    def publish_playback(self, playback: Playback) -> None:
        bridge = playback.channel.bridge if playback.target_type == "bridge" else None
        if bridge is not None:
            self.publish_bridge(bridge, ev.playback(playback.to_json()))
        else:
            self.publish(playback.channel, ev.playback(playback.to_json()))

    def load_media(self, uri: str, language: str) -> MediaItem:
        scheme, _, rest = uri.partition(":")
        if scheme == "sound":
            if rest.startswith(("http://", "https://")):
                log.warning("sound:%s: the media cache is not simulated", rest)
                return MediaItem(failed=True)
            return self._load_file(find_sound(rest, self.settings.sounds_dir, language))
        if scheme == "recording":
            base = (self.settings.recordings_dir / rest).resolve()
            if not base.is_relative_to(self.settings.recordings_dir.resolve()):
                return MediaItem(unsupported=True)
            path = find_sound(str(base), self.settings.recordings_dir, language)
            # play_on_channel: a missing recording is logged and skipped, no final update
            return self._load_file(path) if path is not None else MediaItem(unsupported=True)
        if scheme == "tone":
            return MediaItem(duration=None)  # plays until stopped
        if scheme in ("number", "digits", "characters"):
            return MediaItem(duration=0.6 * max(1, len(rest)), controllable=False)
        log.error("Attempted to play URI '%s' but scheme is unsupported", uri)
        return MediaItem(unsupported=True)

    @staticmethod
    def _load_file(path: Path | None) -> MediaItem:
        if path is None:
            return MediaItem(failed=True)
        try:
            audio = read_sound(path)
        except (SoundError, OSError) as exc:
            log.warning("playback failed: %s", exc)
            return MediaItem(failed=True)
        return MediaItem(audio=audio, duration=len(audio) / RATE)

    def start_sound(self, ch: Channel, audio: np.ndarray, offset: float) -> Any:
        if ch.tech == "Announcer":
            return self._announce(ch, audio, offset)
        if ch.bridge is not None:
            ch.suspended = True  # bridge_channel_suspend: the bridge stops hearing it
        line = ch.line
        if line is None or not ch.alive:
            return None
        segment = line.down.add(line.sample_at(), audio[int(offset * RATE) :])
        line.calibrate_echo(audio)
        if line.playing == 0:
            line.talk_started_at = time.monotonic()
        line.playing += 1
        line.notify()
        return line, segment

    def stop_sound(self, ch: Channel, handle: Any) -> None:
        if ch.tech == "Announcer":
            for line, segment in handle:
                self._end_segment(line, segment)
            if ch.bridge is not None:
                ch.bridge.sounding = None
            return
        ch.suspended = False
        if handle is None:
            return
        self._end_segment(*handle)

    def _announce(self, announcer: Channel, audio: np.ndarray, offset: float) -> list:
        """A bridge playback: every member with a line hears it (the bridge mixes it in)."""
        bridge = announcer.bridge
        handle: list = []
        if bridge is None or not bridge.alive:
            return handle
        for member in bridge.members:
            line = member.line
            if line is None or not member.alive:
                continue
            handle.append((line, line.down.add(line.sample_at(), audio[int(offset * RATE):])))
            line.calibrate_echo(audio)
            if line.playing == 0:
                line.talk_started_at = time.monotonic()
            line.playing += 1
            line.notify()
        bridge.sounding = handle
        return handle

    @staticmethod
    def _end_segment(line: Line, segment: Any) -> None:
        segment.cut(line.sample_at())
        line.playing = max(0, line.playing - 1)
        line.talk_ends += 1
        line.notify()

    def play_on_bridge(self, bridge: Bridge, medias: list[str], language: str, playback_id: str | None,
                       offsetms: int) -> Playback:
        """POST /bridges/{id}/play: an Announcer channel joins the bridge and plays, one playback
        after the other on its own control queue; the members' channels stay free, so commands
        for them (a VOLUME(TX) set, say) run at once instead of waiting for the playback's end."""
        announcer = bridge.announcer
        if announcer is None or announcer.control is None:
            announcer = Channel(self.new_id(), f"Announcer/ARI-{bridge.id}-{self.new_id()[:8]}", "Announcer",
                                state="Up", bridge=bridge)
            announcer.control = Control(announcer.id, self.track)
            bridge.announcer = announcer
        assert announcer.control is not None
        playback = Playback(playback_id or self.new_id(), medias, announcer, language, offsetms,
                            target_type="bridge", target_id=bridge.id)
        self.playbacks[playback.id] = playback
        for call in {m.call for m in bridge.members if m.call is not None}:
            call.played.extend(playback.log)
        fut = announcer.control.submit(lambda: playback.run(self), tag=playback)
        fut.add_done_callback(lambda _: self.playbacks.pop(playback.id, None))
        for member in bridge.members:
            if member.line is not None:
                member.line.notify()
        return playback

    def play(self, ch: Channel, medias: list[str], language: str, playback_id: str | None, offsetms: int) -> Playback:
        assert ch.control is not None
        playback = Playback(playback_id or self.new_id(), medias, ch, language, offsetms)
        self.playbacks[playback.id] = playback
        if ch.call is not None:
            ch.call.played.extend(playback.log)
        fut = ch.control.submit(lambda: playback.run(self), tag=playback)
        fut.add_done_callback(lambda _: self.playbacks.pop(playback.id, None))
        if ch.line is not None:
            ch.line.notify()
        return playback

    def bot_busy(self, ch: Channel) -> bool:
        """The bot is talking to ``ch``'s party or has more queued to say."""
        line = ch.line
        if line is not None and line.bot_talking:
            return True
        announcer = ch.bridge.announcer if ch.bridge is not None else None
        controls = [ch.control, announcer.control if announcer is not None else None]
        return any(c is not None and any(isinstance(t, Playback) for t in c.pending()) for c in controls)

    # -- recordings --------------------------------------------------------------------------

    async def run_recording(self, rec: LiveRecording) -> None:
        ch = rec.channel
        if ch.bridge is not None:
            rec.state = "failed"
            rec.cause = "Cannot record channel while in bridge"
            self.recordings.pop(rec.name, None)
            self.publish(ch, ev.recording(rec.to_json()))
            return
        rec.start()
        ch.recording = rec
        self.publish(ch, ev.recording(rec.to_json()))
        await rec.wait()
        self.finish_recording(rec)

    def finish_recording(self, rec: LiveRecording) -> None:
        if rec.state not in ("recording", "canceled") or self.recordings.get(rec.name) is not rec:
            return
        ch = rec.channel
        if ch.recording is rec:
            ch.recording = None
        rec.finish()
        self.recordings.pop(rec.name, None)
        if rec.state == "done" and ch.call is not None:
            ch.call.recordings.append(rec.path)
        self.publish(ch, ev.recording(rec.to_json()))

    # -- lookups for the REST layer -------------------------------------------------------

    def channel(self, channel_id: str) -> Channel | None:
        ch = self.channels.get(channel_id)
        return ch if ch is not None and ch.alive else None

    def control_of(self, channel_id: str) -> tuple[Channel, Control]:
        """resource_channels.c find_control: 404 unknown, 409 not in Stasis."""
        ch = self.channel(channel_id)
        if ch is None:
            raise AriError(404, "Channel not found")
        if not ch.in_stasis or ch.control is None or ch.control.closed:
            raise AriError(409, "Channel not in Stasis application")
        return ch, ch.control

    @staticmethod
    def check_state(ch: Channel) -> None:
        """channel_state_invalid: media needs an answered channel (inbound Ring is fine)."""
        if ch.state in ("Down", "Rsrvd", "Ringing"):
            raise AriError(412, "Channel in invalid state")

    async def in_control(self, control: Control, command: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        try:
            return await control.run(command)
        except ControlClosed:
            raise AriError(500, "Internal Server Error") from None
