from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.speech.pcm import Audio, read_wav

FIXTURES = Path(__file__).parent / "fixtures" / "speech"


@pytest.fixture(scope="session")
def speech_manifest() -> dict:
    return json.loads((FIXTURES / "manifest.json").read_text())


def speech(name: str, rate: int = 16000) -> Audio:
    return read_wav(FIXTURES / f"{name}_{rate // 1000}k.wav")


@pytest.fixture
async def fake():
    """A fake Ollama server on loopback (tests/fake_ollama.py), for the LLM tests."""
    from tests.fake_ollama import FakeOllama

    async with FakeOllama() as server:
        yield server
