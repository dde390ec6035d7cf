"""Vosk in worker processes: the decoder's CPU never competes with the frame path for the GIL.

With recognition on threads, a Kaldi decoder thread and the event loop share one interpreter
lock; at 20 calls on two cores the loop then waits for it often enough to process a frame more
than 20 ms late. Here each worker process loads the model once and holds the recognisers of the
streams assigned to it; the call side keeps only resampling and a pipe. Workers run at a lower
priority (nice), so when the machine is short of CPU it is recognition that falls behind.

A stream stays on one worker (its decoder state lives there). Each worker has one thread on the
call side that sends a request and waits for its answer, so requests to a worker are in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import multiprocessing as mp
import os
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path

from ...i18n import _
from ..pcm import StreamResampler
from .base import AsrUnavailable, Transcript
from .vosk_engine import model_sample_rate

log = logging.getLogger(__name__)


def _serve(conn: Connection, model_dir: str, rate: int, nice: int) -> None:
    """The worker: (op, stream id, audio) in, one answer out per request."""
    with contextlib.suppress(OSError):
        os.nice(nice)
    import vosk

    vosk.SetLogLevel(-1)
    model = vosk.Model(model_dir)
    streams: dict[int, tuple] = {}  # id → (recogniser, committed segment texts)
    conn.send(("ready", None))
    while True:
        try:
            op, sid, data = conn.recv()
        except (EOFError, OSError):
            return  # the call side is gone
        try:
            if op == "open":
                streams[sid] = (vosk.KaldiRecognizer(model, rate), [])
                conn.send(("ok", None))
            elif op == "feed":
                rec, committed = streams[sid]
                if rec.AcceptWaveform(data):
                    text = json.loads(rec.Result()).get("text", "")
                    if text:
                        committed.append(text)
                    partial = ""
                else:
                    partial = json.loads(rec.PartialResult()).get("partial", "")
                conn.send(("ok", " ".join([*committed, partial]).strip()))
            elif op == "finish":
                rec, committed = streams.pop(sid)
                if data:
                    rec.AcceptWaveform(data)
                last = json.loads(rec.FinalResult()).get("text", "")
                conn.send(("ok", " ".join([*committed, last]).strip()))
            elif op == "drop":
                streams.pop(sid, None)
                conn.send(("ok", None))
            elif op == "stop":
                conn.send(("ok", None))
                return
        except Exception as exc:  # one bad stream must not take the worker down
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    def __init__(self, model_dir: Path, rate: int, nice: int) -> None:
        ctx = mp.get_context("spawn")  # a clean interpreter: no event loop or threads inherited
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, str(model_dir), rate, nice), daemon=True,
                                   name="asr-vosk")
        self.process.start()
        child.close()
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="asr-pipe")
        self.streams = 0

    def request(self, op: str, sid: int, data: bytes | None = None):
        self.conn.send((op, sid, data))
        status, value = self.conn.recv()
        if status == "error":
            raise RuntimeError(f"vosk worker: {value}")
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, RuntimeError):
            self.request("stop", 0)
        self.conn.close()
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
        self.thread.shutdown(wait=False)


class VoskProcessRecognizer:
    name = "vosk"
    streaming = True

    def __init__(self, model_dir: str | Path, *, workers: int = 2, nice: int = 10, ready_timeout: float = 60) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "am").is_dir() and not (model_dir / "final.mdl").exists():
            raise AsrUnavailable(
                _("pas de modèle Vosk dans {path} : lancer « minibot models pull vosk-fr » ou régler "
                  "MINIBOT_VOSK_MODEL").format(path=model_dir)
            )
        self.model_dir = model_dir
        self.model_rate = model_sample_rate(model_dir)
        self._workers = [_Worker(model_dir, self.model_rate, nice) for _ in range(max(1, workers))]
        self._ids = itertools.count(1)
        for worker in self._workers:  # each loads the model; fail loudly if one cannot
            try:
                if not worker.conn.poll(ready_timeout):
                    raise TimeoutError
                worker.conn.recv()
            except (TimeoutError, EOFError, OSError):
                self.close()
                raise AsrUnavailable(_("un processus Vosk n'a pas pu charger {path}").format(path=model_dir)) from None

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def open(self, sample_rate: int) -> VoskProcessStream:
        worker = min(self._workers, key=lambda w: w.streams)  # the least busy
        return VoskProcessStream(worker, next(self._ids), StreamResampler(sample_rate, self.model_rate),
                                 self.model_rate)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()

    def __del__(self) -> None:  # a recogniser lives as long as the process; be tidy anyway
        with contextlib.suppress(Exception):
            self.close()


class VoskProcessStream:
    def __init__(self, worker: _Worker, sid: int, resampler: StreamResampler, model_rate: int) -> None:
        self._worker, self._sid = worker, sid
        self._resampler, self._model_rate = resampler, model_rate
        self._samples = 0
        self._opened = False
        self._last_partial = ""

    async def _ask(self, op: str, data: bytes | None = None):
        loop = asyncio.get_running_loop()
        if not self._opened:
            self._opened = True
            self._worker.streams += 1
            await loop.run_in_executor(self._worker.thread, self._worker.request, "open", self._sid, None)
        return await loop.run_in_executor(self._worker.thread, self._worker.request, op, self._sid, data)

    async def feed(self, pcm: bytes) -> Transcript | None:
        data = self._resampler.process(pcm)
        if not data:
            return None
        self._samples += len(data) // 2
        text = await self._ask("feed", data)
        if text and text != self._last_partial:
            self._last_partial = text
            return Transcript(text, final=False, audio_seconds=self._samples / self._model_rate)
        return None

    async def aclose(self) -> None:
        """Abandoned (the call ended mid-utterance): free its decoder in the worker, and its place in
        the worker's count, without waiting for a final anyone reads."""
        if self._opened:
            self._opened = False
            self._worker.streams -= 1
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._worker.thread, self._worker.request, "finish", self._sid, b"")

    async def finish(self) -> Transcript:
        tail = self._resampler.process(b"", last=True)
        self._samples += len(tail) // 2
        try:
            text = await self._ask("finish", tail)
        finally:
            if self._opened:
                self._opened = False
                self._worker.streams -= 1
        return Transcript(text, final=True, audio_seconds=self._samples / self._model_rate)
