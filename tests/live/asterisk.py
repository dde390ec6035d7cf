"""A real Asterisk 22 (../shared/asterisk-22-runtime) on the project's own `asterisk/` files.

The copy it runs changes only what a test instance must change: the HTTP (ARI) port, the ARI
password, where `[callee-sim]` reads its sounds and where the `scripted` callee's AudioSocket
server listens (the two `[globals]` of extensions.conf). Everything else is the repository's
configuration, byte for byte, so a live test checks what an operator installs.

Used by tests/live/conftest.py (one instance per test session) and by fault tests that stop,
kill and restart it on the same ports.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ari.client import AriConfig

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "asterisk"
SPEECH = REPO / "tests" / "fixtures" / "speech"
# The sounds [callee-sim] plays, as asterisk/README.md says to install them.
SOUNDS = {"allo.wav": "bonjour_oui_8k.wav", "interet.wav": "interesse_8k.wav", "messagerie.wav": "messagerie_8k.wav"}


def shared_dir() -> Path:
    """../shared beside the repository (MINIBOT_SHARED overrides it, e.g. from a git worktree)."""
    return Path(os.environ.get("MINIBOT_SHARED") or REPO.parent / "shared")


def runtime_script() -> Path | None:
    script = shared_dir() / "asterisk-22-runtime" / "run-asterisk"
    return script if script.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _set(text: str, section: str, key: str, value: str, *, where: str) -> str:
    """Replace `key = ...` inside `[section]` (keeping its comment); fail loudly if it is not there,
    so a renamed setting cannot silently leave the test instance on the production value."""
    pattern = re.compile(rf"(^\[{re.escape(section)}\][^\[]*?^\s*{re.escape(key)}\s*=>?\s*)([^;\n]*?)(\s*(;.*)?)$",
                         re.MULTILINE | re.DOTALL)
    new, count = pattern.subn(lambda m: m.group(1) + value + m.group(3), text, count=1)
    if count != 1:
        raise ValueError(f"{where}: no '{key}' in [{section}] to set for the test instance")
    return new


class LiveAsterisk:
    """One Asterisk process on a private ETC and STATE directory, on free ports."""

    def __init__(self, script: Path, base: Path) -> None:
        self.script = script
        self.base = base  # short: the control socket lives in base/state/run (<= 107 bytes)
        self.etc, self.state, self.sounds = base / "etc", base / "state", base / "sounds"
        self.http_port = free_port()
        self.scripted_port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.process: subprocess.Popen | None = None
        self._log = None
        self._write_config()

    @classmethod
    def create(cls, script: Path | None = None) -> LiveAsterisk:
        script = script or runtime_script()
        if script is None:
            raise FileNotFoundError(f"no {shared_dir() / 'asterisk-22-runtime' / 'run-asterisk'}")
        return cls(script, Path(tempfile.mkdtemp(prefix="mbast-", dir="/tmp")))

    # -- configuration ------------------------------------------------------------------------

    def _write_config(self) -> None:
        self.etc.mkdir(parents=True)
        self.sounds.mkdir()
        for name, fixture in SOUNDS.items():
            shutil.copyfile(SPEECH / fixture, self.sounds / name)
        for conf in CONFIG.glob("*.conf"):
            text = conf.read_text()
            where = f"asterisk/{conf.name}"
            if conf.name == "http.conf":
                text = _set(text, "general", "bindport", str(self.http_port), where=where)
            elif conf.name == "ari.conf":
                text = _set(text, "minibot", "password", self.password, where=where)
            elif conf.name == "extensions.conf":
                text = _set(text, "globals", "MINIBOT_SOUNDS", str(self.sounds), where=where)
                text = _set(text, "globals", "MINIBOT_SCRIPTED", f"127.0.0.1:{self.scripted_port}", where=where)
            (self.etc / conf.name).write_text(text)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/ari"

    @property
    def scripted_address(self) -> tuple[str, int]:
        """Where the `scripted` callee's AudioSocket() connects (a test runs its server there)."""
        return "127.0.0.1", self.scripted_port

    @property
    def recordings(self) -> Path:
        return self.state / "spool" / "recording"

    def ari_config(self, app: str = "minibot") -> AriConfig:
        return AriConfig(url=self.url, username="minibot", password=self.password, app=app)

    # -- process ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start Asterisk (again, on the same ports) and wait until ARI answers."""
        if self.running:
            raise RuntimeError("Asterisk is already running")
        self._log = open(self.base / "asterisk.out", "ab")  # noqa: SIM115 (closed in _reap)
        self.process = subprocess.Popen([str(self.script), str(self.etc), str(self.state)], stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self._ari_answers():
            if not self.running:
                code = self.process.returncode
                raise RuntimeError(f"Asterisk exited ({code}) while starting: {self.output()[-2000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"ARI did not answer within {timeout} s: {self.output()[-2000:]}")
            time.sleep(0.1)

    def _ari_answers(self) -> bool:
        token = base64.b64encode(f"minibot:{self.password}".encode()).decode()
        request = urllib.request.Request(f"{self.url}/asterisk/info", headers={"Authorization": f"Basic {token}"})
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def events_answer(self, timeout: float = 3.0, app: str = "minibot") -> bool:
        """Does ARI's event WebSocket accept a connection for the tests' Stasis app (what every call
        needs), not only REST? The app is the tests' own: once in CI, a probe on another app name
        connected while every registration of "minibot" and every dial into it hung for a minute."""
        import asyncio
        import threading

        import aiohttp

        async def probe() -> bool:
            token = base64.b64encode(f"minibot:{self.password}".encode()).decode()
            ws_url = self.url.replace("http://", "ws://") + f"/events?app={app}"
            try:
                async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as session, \
                        asyncio.timeout(timeout), \
                        session.ws_connect(ws_url):
                    return True
            except (aiohttp.ClientError, OSError, TimeoutError):
                return False

        answer: list[bool] = []
        # A thread of its own: the fixture may run while the test's event loop exists.
        worker = threading.Thread(target=lambda: answer.append(asyncio.run(probe())))
        worker.start()
        worker.join(timeout + 2)
        return bool(answer and answer[0])

    def healthy(self) -> bool:
        return self.running and self._ari_answers() and self.events_answer()

    def output(self) -> str:
        """What Asterisk printed (its console), for failure messages."""
        path = self.base / "asterisk.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def diagnosis(self) -> str:
        """What to read when a live test failed: never raises."""
        parts = [f"running: {self.running}; load average: {os.getloadavg()}"]
        if self.running and self.process is not None:
            with contextlib.suppress(OSError):
                parts.append(f"descriptors: {len(os.listdir(f'/proc/{self.process.pid}/fd'))}")
            for command in ("http show status", "core show threads", "core show taskprocessors",
                            "core show channels concise", "ari show apps"):
                try:
                    out = self.rx(command, timeout=5)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    out = f"(failed: {exc})"
                if command == "core show threads":
                    out = out.strip().splitlines()[-1:] and out.strip().splitlines()[-1]
                elif command == "core show taskprocessors":
                    # columns: processed, in queue, max depth, low/high water, low/high time (us)
                    rows = [r for r in out.splitlines() if len(r.split()) >= 8 and r.split()[-5].isdigit()]
                    out = "\n".join(sorted(rows, key=lambda r: -int(r.split()[-5]))[:8])
                parts.append(f"$ {command}\n{out}")
        parts.append("console (end):\n" + self.output()[-4000:])
        return "\n".join(parts)

    def rx(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command on the running instance (`asterisk -rx`) and return its output."""
        done = subprocess.run([str(self.script), str(self.etc), str(self.state), "-rx", command],
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"asterisk -rx {command!r} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done.stdout

    def channels(self) -> list[str]:
        """The channels Asterisk still has (`core show channels concise`: one line each)."""
        return [line.split("!")[0] for line in self.rx("core show channels concise").splitlines() if "!" in line]

    def bridges(self) -> list[str]:
        """The bridges Asterisk still has (`bridge show all`: a header line, then one line each)."""
        lines = [line for line in self.rx("bridge show all").splitlines() if line.strip()]
        return [line.split()[0] for line in lines[1:] if not line.startswith("Bridge-ID")]

    def stop_now(self, timeout: float = 15.0) -> int:
        """`core stop now`: every channel hung up, then the process exits. Returns its exit code."""
        assert self.process is not None
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.rx("core stop now")  # the CLI connection can drop as Asterisk exits
        return self._reap(timeout)

    def kill(self) -> int:
        """SIGKILL: a crash, nothing hung up, no goodbye on any socket."""
        assert self.process is not None
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        return self._reap(10)

    def restart(self, timeout: float = 30.0) -> None:
        if self.running:
            self.stop_now()
        self.start(timeout)

    def _reap(self, timeout: float) -> int:
        assert self.process is not None
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def close(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and remove its directories."""
        if self.process is not None and self.running:
            self.process.terminate()
            self._reap(10)
        shutil.rmtree(self.base, ignore_errors=True)
