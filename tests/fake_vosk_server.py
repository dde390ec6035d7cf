"""A French vosk-server stand-in: alphacep's WebSocket protocol (websocket/asr_server.py), on loopback.

No French Vosk model can be installed here, so the decoding is a stand-in: the server knows
the simulator's speech clips (tests/fixtures/speech, with their words in manifest.json) and
recognises them in the audio it is sent, by matching spectral features. Like a streaming
decoder it gives each word once the audio through that word has been heard, and closes a
segment (a ``{"text": ...}`` answer) after half a second of silence, as Kaldi's endpointer does.
Audio that is not one of the clips gives no words.

``rtf`` holds every answer back for that fraction of the audio it carries, as a server
decoding at that real-time factor would (the benchmark's default, 0.3, is a server that keeps
up with room to spare; the real model's figure is to be measured where it can be installed).

Run on its own for benchmarks: ``python -m tests.fake_vosk_server --port 2700 --rtf 0.3``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr
from aiohttp import WSMsgType, web

SPEECH_DIR = Path(__file__).parent / "fixtures" / "speech"
RATE = 8000  # matching runs on telephone-band audio whatever the caller's rate
FRAME, HOP = 160, 80  # 20 ms windows every 10 ms
HOP_S = HOP / RATE
WINDOW = 40  # frames (400 ms) of a clip's start that must match before it is recognised
LOCK_SCORE = 0.75
ENDPOINT_FRAMES = 50  # 500 ms of silence after a clip closes its segment
EOF, RESET = '{"eof" : 1}', '{"reset" : 1}'
_EDGES = np.geomspace(150, 3700, 9)
_BINS = np.fft.rfftfreq(256, 1 / RATE)
_BANDS = [(lo <= _BINS) & (hi > _BINS) for lo, hi in zip(_EDGES[:-1], _EDGES[1:], strict=True)]


def features(audio: np.ndarray) -> np.ndarray:
    """Log energy in 8 bands, one row per 10 ms."""
    if len(audio) < FRAME:
        return np.zeros((0, len(_BANDS)), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(audio, FRAME)[::HOP] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, 256)) ** 2
    return np.log10(np.stack([power[:, b].sum(axis=1) for b in _BANDS], axis=1) + 1e-7).astype(np.float32)


def vosk_words(text: str) -> list[str]:
    """Words as a Vosk French model writes them: lower case, no punctuation but ' and -."""
    return re.sub(r"[^\w'’-]+", " ", text.lower()).split()


@dataclass
class Clip:
    name: str
    words: list[str]
    feats: np.ndarray
    first_voiced: int
    last_voiced: int
    word_ends: list[int] = field(default_factory=list)  # frame where each word has been said

    @classmethod
    def load(cls, name: str, text: str, audio: np.ndarray) -> Clip:
        feats = features(audio)
        energy = feats.sum(axis=1)
        voiced = np.flatnonzero(energy > energy.max() - 12)  # within ~15 dB of the loudest frame
        first, last = int(voiced[0]), int(voiced[-1])
        words = vosk_words(text)
        chars = np.cumsum([len(w) for w in words])
        ends = [first + round((last - first) * c / chars[-1]) for c in chars]
        return cls(name, words, feats, first, last, ends)


def load_clips(speech_dir: Path = SPEECH_DIR) -> list[Clip]:
    manifest = json.loads((speech_dir / "manifest.json").read_text())
    clips = []
    for name, entry in sorted(manifest.items()):
        path = next((p for p in (speech_dir / f"{name}_16k.wav", speech_dir / f"{name}_8k.wav") if p.exists()), None)
        if path is None or not entry.get("text"):
            continue
        with wave.open(str(path)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
            rate = w.getframerate()
        clips.append(Clip.load(name, entry["text"], soxr.resample(pcm, rate, RATE)))
    return clips


def _znorm(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)


class ClipDecoder:
    """One connection's decoder: audio in, the words heard so far out."""

    def __init__(self, clips: list[Clip], sample_rate: int) -> None:
        self._clips = clips
        self._resampler = None if sample_rate == RATE else soxr.ResampleStream(sample_rate, RATE, 1, dtype="float32")
        self._audio = np.zeros(0, np.float32)
        self._matched_frames = 0
        self._lock: tuple[Clip, int] | None = None  # the clip recognised, and where it starts

    def accept(self, pcm: bytes) -> bool:
        """Add audio; True when a segment has just closed (then `result` holds its words)."""
        audio = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(audio)
        self._audio = np.concatenate([self._audio, audio])
        frames = max(0, (len(self._audio) - FRAME) // HOP + 1)
        if frames - self._matched_frames >= 10:  # look again every 100 ms: a partial may be revised
            self._matched_frames = frames
            self._match()
        if self._lock is None:
            return False
        clip, start = self._lock
        return frames - start >= clip.last_voiced + ENDPOINT_FRAMES and self._quiet_for(ENDPOINT_FRAMES)

    def _quiet_for(self, frames: int) -> bool:
        """The last ``frames`` are 25 dB under the loudest of the segment: the endpointer's silence."""
        level = np.log10(np.sum(10.0 ** features(self._audio), axis=1))
        return len(level) >= frames and float(level[-frames:].max()) < float(level.max()) - 2.5

    def partial(self) -> str:
        if self._lock is None:
            return ""
        clip, start = self._lock
        heard = (len(self._audio) - FRAME) // HOP + 1 - start
        return " ".join(w for w, end in zip(clip.words, clip.word_ends, strict=True) if end + 3 <= heard)

    def result(self) -> str:
        """The segment's words; the decoder starts a new segment."""
        text = self.partial()
        self._audio, self._matched_frames, self._lock = np.zeros(0, np.float32), 0, None
        return text

    def _match(self) -> None:
        """Find where each clip's start fits best, then score every such candidate over all the
        audio heard since (the clip followed by silence): a clip that is only the beginning of
        what was said ("allô" in "allô, oui, bonjour") loses once the rest is heard."""
        feats = features(self._audio)
        if len(feats) < WINDOW:
            return
        windows = _znorm(np.lib.stride_tricks.sliding_window_view(feats, WINDOW, axis=0).reshape(
            len(feats) - WINDOW + 1, -1))
        best: tuple[float, Clip | None, int] = (LOCK_SCORE, None, 0)
        for clip in self._clips:
            head = clip.feats[clip.first_voiced: clip.first_voiced + WINDOW]
            if len(head) < WINDOW:
                continue
            scores = windows @ _znorm(head.T.reshape(-1))
            at = int(np.argmax(scores))
            if scores[at] < LOCK_SCORE:
                continue
            heard = feats[at:]
            ref = clip.feats[clip.first_voiced: clip.first_voiced + len(heard)]
            if len(ref) < len(heard):  # after the clip: its own closing silence
                ref = np.concatenate([ref, np.repeat(clip.feats[-1:], len(heard) - len(ref), axis=0)])
            score = float(_znorm(heard.T.reshape(-1)) @ _znorm(ref.T.reshape(-1)))
            if score > best[0]:
                best = (score, clip, at - clip.first_voiced)
        if best[1] is not None:
            self._lock = (best[1], best[2])

def _result_json(text: str) -> str:
    return json.dumps({"result": [{"conf": 1.0, "word": w} for w in text.split()], "text": text},
                      ensure_ascii=False)


class FakeVoskServer:
    """The WebSocket server. ``messages`` records what each connection sent (text, or the
    byte count of audio), so tests can check the wire."""

    def __init__(self, *, speech_dir: Path = SPEECH_DIR, rtf: float = 0.0, host: str = "127.0.0.1",
                 port: int = 0, sample_rate: int = 8000) -> None:
        self.clips = load_clips(speech_dir)
        self.rtf, self.host, self.port, self.default_rate = rtf, host, port, sample_rate
        self.messages: list[list[str | int]] = []
        self.hold: float | None = None  # a fault: answer nothing for this long
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> FakeVoskServer:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._connection)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeVoskServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _connection(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        seen: list[str | int] = []
        self.messages.append(seen)
        rate, decoder = self.default_rate, None
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                seen.append(msg.data)
                if "config" in msg.data:  # as asr_server.py: configuration, no answer
                    rate = int(float(json.loads(msg.data)["config"].get("sample_rate", rate)))
                    continue
                decoder = decoder or ClipDecoder(self.clips, rate)
                if self.hold:
                    await asyncio.sleep(self.hold)
                await ws.send_str(json.dumps({"text": decoder.result()}, ensure_ascii=False))
                if msg.data == EOF:
                    break
                if msg.data != RESET:
                    break  # asr_server.py would feed the text to the decoder and fail: end the stream
            elif msg.type == WSMsgType.BINARY:
                seen.append(len(msg.data))
                decoder = decoder or ClipDecoder(self.clips, rate)
                closed = decoder.accept(msg.data)
                delay = self.hold or self.rtf * len(msg.data) / 2 / rate
                if delay:
                    await asyncio.sleep(delay)
                answer = _result_json(decoder.result()) if closed else json.dumps(
                    {"partial": decoder.partial()}, ensure_ascii=False)
                await ws.send_str(answer)
        await ws.close()
        return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2700)
    parser.add_argument("--rtf", type=float, default=0.0)
    args = parser.parse_args()

    async def serve() -> None:
        async with FakeVoskServer(host=args.host, port=args.port, rtf=args.rtf) as server:
            print(server.url, flush=True)
            await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
