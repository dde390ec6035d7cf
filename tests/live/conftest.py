"""The live suite: one real Asterisk 22 per test session (tests/live/asterisk.py), on the project's
own `asterisk/` files; skipped where ../shared (or MINIBOT_SHARED) has no asterisk-22-runtime.

Fixtures:
- ``asterisk``: the running `LiveAsterisk` (``.ari_config()``, ``.rx()``, ``.channels()``,
  ``.bridges()``, ``.stop_now()``, ``.kill()``, ``.start()``, ``.restart()``). A test that stops or
  kills it should start it again (``asterisk.start()``) before it ends; ``live_asterisk`` below
  restarts it for the next test anyway.
- ``live_asterisk``: the same, function-scoped: it checks Asterisk is up before the test and
  brings it back if a test left it stopped.
- ``whisper``: one Whisper recogniser for the whole session (loading it takes seconds).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live.asterisk import LiveAsterisk, runtime_script, shared_dir


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/live/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.live)
            if item.get_closest_marker("flaky") is None:
                # One more try, on an Asterisk the fixture checks and restarts first. Its REST
                # interface used to stop answering for up to 30 s ("Asterisk unreachable
                # (TimeoutError)" on every request): chan_audiosocket waiting for a message with its
                # channel locked, fixed by feeding every AudioSocket line silence
                # (audiosocket/pacer.py). The retry stays for what a real Asterisk may still do; a
                # second failure still fails, and the first one's report keeps Asterisk's state.
                item.add_marker(pytest.mark.flaky(reruns=1))


@pytest.fixture(scope="session")
def asterisk():
    script = runtime_script()
    if script is None:
        pytest.skip(f"no real Asterisk: {shared_dir() / 'asterisk-22-runtime'} is absent")
    instance = LiveAsterisk.create(script)
    try:
        instance.start()
        yield instance
    finally:
        instance.close()


@pytest.fixture
def live_asterisk(asterisk):
    _ensure_healthy(asterisk)
    yield asterisk
    if not asterisk.running:
        asterisk.start()


def _ensure_healthy(asterisk) -> None:
    """Each test gets an Asterisk whose REST and event socket answer: one a previous test stopped,
    killed or left unable to take a WebSocket is started again (and says so, with its console)."""
    if asterisk.running and asterisk.healthy():
        return
    if asterisk.running:
        print(f"live Asterisk not answering: restarted. Its state:\n{asterisk.diagnosis()}")
        asterisk.kill()
    asterisk.start()


@pytest.fixture(scope="session")
def whisper():
    from bot.config import Settings
    from bot.speech.asr.models import whisper_base_dir
    from bot.speech.asr.whisper_engine import WhisperRecognizer

    with ThreadPoolExecutor(2) as pool:
        yield WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed live test's report carries Asterisk's state (its console, HTTP sessions, busiest
    task processors, threads, descriptors, the machine's load): a stall seen once in CI is then
    evidence, not a mystery."""
    report = yield
    instance = getattr(item, "funcargs", {}).get("live_asterisk") or getattr(item, "funcargs", {}).get("asterisk")
    if report.failed and isinstance(instance, LiveAsterisk):
        report.sections.append(("live Asterisk", instance.diagnosis()))
    return report
