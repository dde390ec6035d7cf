"""A channel's Stasis control queue (res/stasis/control.c).

Commands for one channel run one at a time. A playback or a recording holds the queue until
it ends, so a second /play stays queued, and so do continue/answer/addChannel sent meanwhile
(facts §5.3). DELETE /channels and DELETE /playbacks bypass the queue. When the channel
leaves Stasis the queue is flushed: what was still waiting never runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Track = Callable[["asyncio.Task[Any]"], None]

log = logging.getLogger(__name__)

Command = Callable[[], Awaitable[Any]]


class ControlClosed(Exception):
    """The channel left Stasis (or hung up) before the command ran."""


class Control:
    def __init__(self, name: str, track: Track | None = None) -> None:
        self._name = name
        self._queue: deque[tuple[Command, asyncio.Future[Any], object]] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self.current: object | None = None  # what the running command is about (a Playback...)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"control-{name}")
        if track is not None:
            track(self._task)  # the owner cancels and awaits it on shutdown

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self) -> list[object]:
        """Tags of the commands still waiting (queued playbacks)."""
        return [tag for _, fut, tag in self._queue if not fut.done()]

    def submit(self, command: Command, tag: object = None) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed:
            fut.set_exception(ControlClosed(self._name))
            fut.exception()  # retrieved: an async caller may never look
            return fut
        self._queue.append((command, fut, tag))
        self._wakeup.set()
        return fut

    async def run(self, command: Command, tag: object = None) -> Any:
        return await self.submit(command, tag)

    def close(self) -> None:
        """Leave Stasis: drop what waits; the running command (if any) finishes by itself."""
        self._closed = True
        while self._queue:
            _, fut, _ = self._queue.popleft()
            if not fut.done():
                fut.set_exception(ControlClosed(self._name))
                fut.exception()
        self._wakeup.set()

    def shutdown(self) -> None:
        """Hang-up: close, and stop the running command too (the caller already ended it)."""
        self.close()
        if self._task is not asyncio.current_task():
            self._task.cancel()

    async def aclose(self) -> None:
        self.shutdown()
        if self._task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._closed:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            command, fut, tag = self._queue.popleft()
            if fut.done():
                continue
            self.current = tag
            try:
                result = await command()
            except asyncio.CancelledError:
                if not fut.done():
                    fut.cancel()
                raise
            except Exception as exc:
                log.exception("control %s: command failed", self._name)
                if not fut.done():
                    fut.set_exception(exc)
                    fut.exception()
            else:
                if not fut.done():
                    fut.set_result(result)
            finally:
                self.current = None
