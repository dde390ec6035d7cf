"""The voice: TTS engines, the content-addressed audio cache, rendering, serving over HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from typer.testing import CliRunner

from bot.dialog.scenario.engine import Line
from bot.speech.pcm import Audio, to_pcm
from bot.speech.tts import TtsUnavailable, load_engine
from bot.voice.cache import AudioCache, cache_key
from bot.voice.server import audio_app
from bot.voice.voice import CachedVoice

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def _tone(seconds: float, rate: int = 22050) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio(to_pcm(0.3 * np.sin(2 * np.pi * 440 * t)), rate)


class ToneEngine:
    """A TTS engine protocol stand-in whose output length depends on the text (for cache tests)."""

    name, default_voice, version = "tone", "a", "1"

    def __init__(self) -> None:
        self.calls = 0

    def voices(self) -> list[str]:
        return ["a", "b"]

    def synthesize(self, text: str, voice: str | None = None) -> Audio:
        self.calls += 1
        return _tone(0.05 * len(text))


def test_the_key_names_engine_version_voice_and_text_and_ignores_spacing() -> None:
    base = cache_key("espeak", "1.51", "fr", "Bonjour à vous.")
    assert cache_key("espeak", "1.51", "fr", "Bonjour  à vous. ") == base
    others = [("kokoro", "1.51", "fr", "Bonjour à vous."), ("espeak", "1.52", "fr", "Bonjour à vous."),
              ("espeak", "1.51", "fr+f3", "Bonjour à vous."), ("espeak", "1.51", "fr", "Bonsoir à vous.")]
    assert len({base, *(cache_key(*o) for o in others)}) == 5


def test_a_stored_line_is_two_files_asterisk_plays_directly(tmp_path) -> None:
    cache = AudioCache(tmp_path)
    line = cache.store("ab" * 16, _tone(1.0))
    with wave.open(str(line.file("wav"))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert abs(w.getnframes() - 8000) <= 2
    assert abs(line.file("sln16").stat().st_size - 32000) <= 4  # 1 s of 16 kHz, 16-bit, no header
    assert cache.lookup("ab" * 16) == line
    assert cache.lookup("cd" * 16) is None
    assert not [p for p in line.base.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_the_least_recently_used_lines_go_first_past_the_cap(tmp_path) -> None:
    cache = AudioCache(tmp_path)
    keys = [f"{i:02x}" * 16 for i in range(6)]
    for i, key in enumerate(keys):
        cache.store(key, _tone(1.0))
        for fmt in ("wav", "sln16"):  # age them: the first stored is the oldest
            os.utime(cache._base(key).with_name(f"{key}.{fmt}"), (1000 + i, 1000 + i))
    os.utime(cache._base(keys[0]).with_name(f"{keys[0]}.wav"), (5000, 5000))  # a recent lookup
    cache.max_bytes = 200_000  # ~4 lines of 1 s (32 kB + 16 kB each)
    assert cache.evict() == 3
    kept = {k for k in keys if cache._base(k).with_name(f"{k}.sln16").exists()}
    assert keys[0] in kept and keys[1] not in kept and keys[5] in kept
    assert sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()) <= 200_000


def _store_in_another_process(directory: str, key: str) -> int:
    cache = AudioCache(Path(directory))
    for _ in range(20):
        cache.store(key, _tone(0.5))
    return os.getpid()


def test_concurrent_renders_from_several_processes_never_leave_a_torn_file(tmp_path) -> None:
    key = "ef" * 16
    with ProcessPoolExecutor(2) as pool:
        futures = [pool.submit(_store_in_another_process, str(tmp_path), key) for _ in range(2)]
        cache = AudioCache(tmp_path)
        while not all(f.done() for f in futures):
            line = cache.lookup(key)
            if line is not None:  # whatever moment we look, the file is whole
                assert line.file("sln16").stat().st_size == 16000
        assert len({f.result() for f in futures}) == 2
    assert not [p for p in (tmp_path / "ef").iterdir() if p.name.startswith(".")]


async def test_the_voice_renders_once_even_when_calls_ask_together(tmp_path) -> None:
    engine = ToneEngine()
    voice = CachedVoice(engine, AudioCache(tmp_path))
    prompts = await asyncio.gather(*(voice.prompt(Line("Bonjour Marie.", "step:hello")) for _ in range(5)))
    assert engine.calls == 1 and len({p.path for p in prompts}) == 1
    assert prompts[0].media_uri == f"sound:{prompts[0].path.with_suffix('')}"
    assert prompts[0].audio.sample_rate == 16000
    await voice.prompt(Line("Bonjour Marie.", "step:hello"))
    assert engine.calls == 1  # the second time comes from the cache


async def test_lines_read_once_stay_in_memory_within_a_bound_and_the_file_is_still_checked(tmp_path) -> None:
    engine = ToneEngine()
    voice = CachedVoice(engine, AudioCache(tmp_path))
    first = await voice.prompt(Line("Oui.", "a"))
    assert await voice.prompt(Line("Oui.", "a")) is first  # no second read
    voice.loaded_limit = len(first.audio.pcm) * 2
    for text in ("Non.", "Peut-être.", "Merci."):
        await voice.prompt(Line(text, "b"))
    assert voice._loaded_bytes <= voice.loaded_limit and voice.key("Oui.") not in voice._loaded
    # The cache evicted the file (its cap, or an operator): the voice renders it again.
    latest = await voice.prompt(Line("Merci.", "b"))
    for path in (latest.path, latest.path.with_suffix(".wav")):
        path.unlink()
    again = await voice.prompt(Line("Merci.", "b"))
    assert engine.calls == 5 and again.path.exists() and again.audio.pcm == latest.audio.pcm


async def test_served_over_http_for_a_remote_asterisk(tmp_path) -> None:
    voice = CachedVoice(ToneEngine(), AudioCache(tmp_path), http_url="http://10.0.0.5:8090/")
    prompt = await voice.prompt(Line("Bonjour.", "x"))
    key = voice.key("Bonjour.")
    assert prompt.media_uri == f"sound:http://10.0.0.5:8090/audio/{key[:2]}/{key}.wav"
    runner = web.AppRunner(audio_app(voice.cache))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/audio/{key[:2]}/{key}.wav") as r:
                assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
                assert (await r.read())[:4] == b"RIFF"
            for bad in (f"/audio/{key[:2]}/..%2F..%2Fetc%2Fpasswd", f"/audio/zz/{key}.wav", "/audio/ab/x.wav",
                        f"/audio/{key[:2]}/{key}.mp3"):
                async with http.get(f"http://127.0.0.1:{port}{bad}") as r:
                    assert r.status == 404, bad
    finally:
        await runner.cleanup()


@needs_espeak
def test_espeak_speaks_french_and_refuses_unknown_voices() -> None:
    engine = load_engine("espeak")
    audio = engine.synthesize("Bonjour, je suis l'assistante vocale automatisée.")
    assert audio.sample_rate == 22050 and 1.5 < audio.duration < 6
    narrow = engine.synthesize("Bonjour, je suis l'assistante vocale automatisée.", sample_rate=8000)
    assert narrow.sample_rate == 8000 and abs(narrow.duration - audio.duration) < 0.01
    with pytest.raises(Exception, match="voix inconnue"):
        engine.synthesize("Bonjour", "en")


def test_engines_that_cannot_run_say_what_is_missing(tmp_path) -> None:
    with pytest.raises(TtsUnavailable, match="MINIBOT_TTS__XTTS_MODEL_DIR"):
        load_engine("xtts")
    with pytest.raises(TtsUnavailable, match="lacks config.json, model.pth, vocab.json"):
        load_engine("xtts", xtts_model_dir=tmp_path, xtts_voices_dir=tmp_path)
    with pytest.raises(TtsUnavailable, match="unknown TTS engine 'nope'"):
        load_engine("nope")


@needs_espeak
def test_scenario_render_renders_every_known_line_then_reuses_them(tmp_path, monkeypatch) -> None:
    from cli.scenario import scenario_app

    monkeypatch.setenv("MINIBOT_TTS__AUDIO_DIR", str(tmp_path))
    first = CliRunner().invoke(scenario_app, ["render", "demo"])
    assert first.exit_code == 0, first.output
    assert "en échec 0" in first.output and "réutilisées 0" in first.output
    assert "step:hello" in first.output  # needs the contact's first name: rendered during the call
    rendered = len(list(tmp_path.rglob("*.sln16")))
    assert rendered > 100  # steps, engine lines, general/standard answers, rail returns
    again = CliRunner().invoke(scenario_app, ["render", "demo"])
    assert "synthétisées 0 " in again.output and f"réutilisées {rendered}" in again.output


async def test_a_campaign_renders_its_scenario_lines_ahead_and_keeps_them_in_memory(tmp_path) -> None:
    from bot.campaign.conversations import CampaignConversations
    from bot.voice.render import known_lines

    engine = ToneEngine()
    voice = CachedVoice(engine, AudioCache(tmp_path))
    conversations = CampaignConversations(voice, embeddings=False)
    brain = await conversations.brain("demo")
    lines, _ = known_lines(brain)
    # The greeting waits for the contact's name; its question, asked again after an objection
    # or a silence, has no variable: it is ready before the first call.
    assert [line.text for line in lines if line.key == "ask_again:hello"] == ["Vous avez une petite minute ?"]
    assert conversations._readying  # started as soon as the brain was built
    await asyncio.wait_for(asyncio.gather(*conversations._readying), 60)
    assert all(voice.key(line.text) in voice._loaded for line in lines)
    assert engine.calls == len({voice.key(line.text) for line in lines})
    prompt = await voice.prompt(Line(lines[-1].text, lines[-1].key))  # a turn: no render, no read
    assert engine.calls == len({voice.key(line.text) for line in lines}) and prompt.path.exists()
    await conversations.aclose()
