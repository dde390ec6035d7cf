"""Reference recordings for voice cloning: checks, cleaning, storage, and `minibot voice`.

Test references are built from the French speech fixtures: several 1–3 s sentences of one voice
with pauses between them, over a faint noise floor (a real recording is never digital silence),
then damaged on purpose: cut short, repeated too long, clipped, drowned in noise, mixed with the
other voice, made quiet.
"""

from __future__ import annotations

import hashlib
import json
import wave
from datetime import datetime
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import soxr
from typer.testing import CliRunner

import bot.speech.tts as tts
from bot.speech.pcm import Audio, to_float
from bot.speech.tts import TtsUnavailable
from bot.voice.reference import (
    VOICE_RATE,
    BadVoiceName,
    ReferenceLimits,
    ReferenceRejected,
    ReferenceUnreadable,
    VoiceExists,
    VoiceReferenceError,
    check_name,
    check_with_xtts,
    clone_voice,
    list_voices,
    measure,
    read_reference,
)
from cli.voice import voice_app
from tests.conftest import speech

MALE = ["allo", "bonjour_oui", "interesse", "non_merci", "rappelez", "robot", "ne_plus_appeler"]  # jm_kumo, ~12 s
FEMALE = ["combien", "pas_le_temps", "oui_daccord"]  # jf_alpha
RATE = 16000


def build(names: list[str], *, pause: float = 0.5, lead: float = 0.8, tail: float = 0.8,
          floor_dbfs: float = -65.0, seed: int = 0) -> np.ndarray:
    """The fixtures `names` in order, `pause` s apart, over white noise at `floor_dbfs` (16 kHz float)."""
    parts = [np.zeros(int(lead * RATE), np.float32)]
    for name in names:
        parts += [to_float(speech(name).pcm), np.zeros(int(pause * RATE), np.float32)]
    parts[-1] = np.zeros(int(tail * RATE), np.float32)
    x = np.concatenate(parts)
    return x + np.random.default_rng(seed).normal(0, 10 ** (floor_dbfs / 20), len(x)).astype(np.float32)


def save(path: Path, x: np.ndarray, rate: int = RATE, *, to_rate: int | None = None, channels: int = 1,
         fmt: str | None = None, subtype: str | None = None) -> Path:
    if to_rate:
        x, rate = soxr.resample(x, rate, to_rate).astype(np.float32), to_rate
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    sf.write(path, x, rate, format=fmt, subtype=subtype)
    return path


def speech_power(x: np.ndarray) -> float:
    return float(np.mean(x[np.abs(x) > 0.01] ** 2))


def frame_dbfs(x: np.ndarray, rate: int, ms: int = 20) -> np.ndarray:
    n = rate * ms // 1000
    frames = x[: len(x) // n * n].reshape(-1, n)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


@pytest.fixture
def voices(tmp_path: Path) -> Path:
    return tmp_path / "voices"


def rejected(path: Path, voices: Path) -> ReferenceRejected:
    with pytest.raises(ReferenceRejected) as info:
        clone_voice(path, "julie", voices)
    assert not (voices / "julie.wav").exists() and not (voices / "julie.json").exists()
    return info.value


# -- a good reference ------------------------------------------------------------------------------


def test_a_good_reference_is_stored_cleaned_for_xtts(tmp_path: Path, voices: Path) -> None:
    # 44.1 kHz stereo FLAC, 1.5 s of room before the first word, 2 s after the last, one 2 s pause
    x = build(MALE[:4], lead=1.5, tail=2.0, floor_dbfs=-60.0)
    x = np.concatenate([x, np.zeros(2 * RATE, np.float32), build(MALE[4:], lead=0.0, floor_dbfs=-60.0, seed=1)])
    x *= 0.4  # a conservative recording level: loudness normalisation has work to do
    source = save(tmp_path / "ref.flac", x, to_rate=44100, channels=2)

    voice = clone_voice(source, "julie", voices)

    assert voice.wav == voices / "julie.wav" and voice.meta == voices / "julie.json"
    with wave.open(str(voice.wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
    y, rate = sf.read(voice.wav, dtype="float64")
    assert pyloudnorm.Meter(rate).integrated_loudness(y) == pytest.approx(-20.0, abs=0.5)
    assert 20 * np.log10(np.max(np.abs(y))) <= -0.99
    # trimmed: the first and last words sit ~150 ms from the ends, and the 2 s pause is gone
    level = frame_dbfs(y, rate)
    loud = np.flatnonzero(level > -45.0)
    assert 0.1 <= loud[0] * 0.02 <= 0.3
    assert 0.1 <= len(y) / rate - (loud[-1] + 1) * 0.02 <= 0.3
    gaps = np.diff(loud) * 0.02
    assert gaps.max() < 1.0  # pauses over 0.6 s (by the VAD) are cut to 0.3 s; quiet word edges add a little
    source_s = len(x) / RATE
    assert len(y) / rate < source_s - 1.5 - 2.0 - 2.0 + 0.3 * 2 + 0.6
    # cleaner: the floor between words sits further under the speech than in the source
    assert measure(y.astype(np.float32), 0.0).snr_db > voice.measurements.snr_db + 5

    meta = json.loads(voice.meta.read_text())
    assert meta["name"] == "julie"
    assert meta["source"]["file"] == "ref.flac"
    assert meta["source"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (meta["source"]["sample_rate"], meta["source"]["channels"]) == (44100, 2)
    assert meta["source"]["duration_s"] == pytest.approx(source_s, abs=0.01)
    assert datetime.fromisoformat(meta["created"]).tzinfo is not None
    measured = meta["measured"]
    assert 6 <= measured["speech_s"] <= 30 and measured["snr_db"] > 30 and measured["clipped_ratio"] == 0
    assert 70 < measured["pitch_hz"] < 130 and measured["pitch_spread_st"] < 7
    assert measured["speech_s"] == pytest.approx(meta["output"]["duration_s"], abs=0.05)
    assert [s["step"] for s in meta["processing"]] == [
        "mono_mix", "resample", "noise_reduction", "trim", "shorten_pauses", "loudness", "peak_limit"]
    steps = {s["step"]: s for s in meta["processing"]}
    assert steps["trim"]["start_s"] == pytest.approx(1.5 - 0.15, abs=0.1)
    assert steps["shorten_pauses"]["removed_s"] > 1.5
    assert steps["loudness"]["from_lufs"] < -25
    assert meta["output"]["loudness_lufs"] == pytest.approx(-20.0, abs=0.5)


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_16"), ("WAV", "FLOAT"), ("FLAC", None), ("OGG", "VORBIS"),
                                              ("MP3", None)])
def test_each_format_reads_as_24_khz_mono(tmp_path: Path, fmt: str, subtype: str | None) -> None:
    # MP3 needs libsndfile >= 1.1; the soundfile wheels bundle one (1.2.2 here)
    x = build(MALE[:2])
    path = save(tmp_path / f"ref.{fmt.lower()}", x, to_rate=48000, channels=2, fmt=fmt, subtype=subtype)
    mono, source, clipped = read_reference(path)
    assert mono.dtype == np.float32 and mono.ndim == 1
    assert len(mono) / VOICE_RATE == pytest.approx(len(x) / RATE, abs=0.1)  # mp3 pads a frame or two
    assert (source.sample_rate, source.channels, source.format) == (48000, 2, fmt)
    assert clipped == 0.0


def test_one_peak_at_full_scale_is_not_clipping(tmp_path: Path, voices: Path) -> None:
    x = build(MALE)
    x[RATE * 3 : RATE * 3 + 10] = 1.0  # 10 samples: 0.005 %, well under 0.1 %
    voice = clone_voice(save(tmp_path / "ref.wav", x), "julie", voices)
    assert 0 < voice.measurements.clipped_ratio < 0.001


# -- refusals, each naming the value and the limit -------------------------------------------------


def test_too_short(tmp_path: Path, voices: Path) -> None:
    exc = rejected(save(tmp_path / "short.wav", build(MALE[:3])), voices)
    assert exc.checks == {"speech_length"}
    assert 4.0 < exc.measurements.speech_s < 6.0
    assert f"too short: {exc.measurements.speech_s:.1f} s of speech, at least 6 s needed" in str(exc)


def test_too_long(tmp_path: Path, voices: Path) -> None:
    exc = rejected(save(tmp_path / "long.wav", build(MALE * 3)), voices)
    assert exc.checks == {"speech_length"}
    assert exc.measurements.speech_s > 30.0
    assert f"too long: {exc.measurements.speech_s:.1f} s of speech, at most 30 s" in str(exc)


def test_silence_is_no_speech(tmp_path: Path, voices: Path) -> None:
    exc = rejected(save(tmp_path / "silence.wav", np.zeros(10 * RATE, np.float32)), voices)
    assert [p.message for p in exc.problems] == ["no speech found: 0.0 s of speech, at least 6 s needed"]


def test_clipped(tmp_path: Path, voices: Path) -> None:
    x = np.clip(build(MALE) * 6.0, -1.0, 1.0)  # +15.6 dB into a 16-bit file: the peaks flatten
    exc = rejected(save(tmp_path / "clipped.wav", x, subtype="PCM_16"), voices)
    assert "clipping" in exc.checks
    assert exc.measurements.clipped_ratio > 0.001
    assert f"clipped: {exc.measurements.clipped_ratio:.2%} of samples at full scale, at most 0.10%" in str(exc)


@pytest.mark.parametrize(("snr", "refused"), [(10.0, True), (15.0, True), (30.0, False)])
def test_noise_is_measured_and_a_noisy_reference_refused(tmp_path: Path, voices: Path, snr: float,
                                                         refused: bool) -> None:
    x = build(MALE)
    noise_db = 10 * np.log10(speech_power(x)) - snr
    x = x + np.random.default_rng(7).normal(0, 10 ** (noise_db / 20), len(x)).astype(np.float32)
    path = save(tmp_path / "noisy.wav", x)
    if not refused:
        assert clone_voice(path, "julie", voices).measurements.snr_db == pytest.approx(snr, abs=3.0)
        return
    exc = rejected(path, voices)
    assert exc.checks == {"snr"}
    assert exc.measurements.snr_db == pytest.approx(snr, abs=3.0)
    assert f"too noisy: signal-to-noise {exc.measurements.snr_db:.1f} dB, at least 20 dB needed" in str(exc)


def test_two_speakers(tmp_path: Path, voices: Path) -> None:
    names = ["interesse", "combien", "non_merci", "pas_le_temps", "rappelez", "oui_daccord", "robot"]
    exc = rejected(save(tmp_path / "two.wav", build(names)), voices)
    assert exc.checks == {"speakers"}
    assert exc.measurements.pitch_spread_st > 7.0
    assert f"segment pitch spreads over {exc.measurements.pitch_spread_st:.1f} semitones" in str(exc)
    assert "at most 7 for one voice" in str(exc)


def test_one_higher_voice_alone_is_one_speaker(tmp_path: Path, voices: Path) -> None:
    voice = clone_voice(save(tmp_path / "alpha.wav", build(FEMALE + ["prompt_bot"])), "alpha", voices)
    assert voice.measurements.pitch_spread_st < 7.0
    assert voice.measurements.pitch_hz > 200


def test_too_quiet(tmp_path: Path, voices: Path) -> None:
    exc = rejected(save(tmp_path / "quiet.wav", build(MALE, floor_dbfs=-75.0) * 0.02), voices)  # -34 dB
    assert exc.checks == {"level"}
    assert f"too quiet: speech at {exc.measurements.speech_dbfs:.1f} dBFS, below -40 dBFS" in str(exc)


def test_every_failed_check_is_reported_at_once(tmp_path: Path, voices: Path) -> None:
    x = build(MALE[:2] + FEMALE[:2])
    x = x + np.random.default_rng(3).normal(0, 0.02, len(x)).astype(np.float32)
    exc = rejected(save(tmp_path / "bad.wav", x), voices)
    assert {"speech_length", "snr"} <= exc.checks


@pytest.mark.parametrize("content", [b"", b"not audio at all, just words\n" * 20, b"RIFF\x24\x00\x00\x00WAVEfmt "])
def test_unreadable_files_are_refused(tmp_path: Path, voices: Path, content: bytes) -> None:
    path = tmp_path / "ref.wav"
    path.write_bytes(content)
    with pytest.raises(ReferenceUnreadable, match="ref.wav"):
        clone_voice(path, "julie", voices)
    with pytest.raises(ReferenceUnreadable, match="cannot read"):
        clone_voice(tmp_path / "missing.wav", "julie", voices)
    assert not voices.exists()


# -- names, overwrite, listing ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Julie", "j", "1julie", "-julie", "julie!", "ju lie", "../julie", "a" * 33, "julié"])
def test_bad_names_are_refused_before_anything_is_read(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadVoiceName, match="bad voice name"):
        clone_voice(tmp_path / "does-not-exist.wav", name, tmp_path)


@pytest.mark.parametrize("name", ["julie", "jm", "julie-2", "jm_kumo", "a" * 32])
def test_good_names(name: str) -> None:
    check_name(name)


def test_an_existing_voice_is_kept_unless_forced(tmp_path: Path, voices: Path) -> None:
    first = save(tmp_path / "first.wav", build(MALE))
    second = save(tmp_path / "second.wav", build(MALE[::-1], seed=5))
    clone_voice(first, "julie", voices)
    before = (voices / "julie.wav").read_bytes()
    with pytest.raises(VoiceExists, match="--force"):
        clone_voice(second, "julie", voices)
    assert (voices / "julie.wav").read_bytes() == before
    clone_voice(second, "julie", voices, force=True)
    meta = json.loads((voices / "julie.json").read_text())
    assert meta["source"]["file"] == "second.wav"
    assert (voices / "julie.wav").read_bytes() != before
    assert sorted(p.name for p in voices.iterdir()) == ["julie.json", "julie.wav"]  # no temporary left


def test_list_voices(tmp_path: Path, voices: Path) -> None:
    assert list_voices(voices) == []
    clone_voice(save(tmp_path / "a.wav", build(MALE)), "paul", voices)
    clone_voice(save(tmp_path / "b.wav", build(FEMALE * 3)), "alice", voices)
    save(voices / "handmade.wav", build(MALE[:1]))  # copied in by hand: no metadata
    listed = {v.name: v for v in list_voices(voices)}
    assert list(listed) == ["alice", "handmade", "paul"]
    assert listed["paul"].snr_db > 30 and 6 <= listed["paul"].duration_s <= 30 and listed["paul"].created
    assert listed["handmade"].snr_db is None and listed["handmade"].created is None
    assert listed["handmade"].duration_s == pytest.approx(len(build(MALE[:1])) / RATE, abs=0.01)


# -- the cloning engine ----------------------------------------------------------------------------


class FakeXtts:
    """Stands in for XttsEngine: synthesising with a voice reads its reference, as XTTS does."""

    name, default_voice, version = "xtts", "", "fake"

    def __init__(self, voices_dir: Path) -> None:
        self.voices_dir = voices_dir
        self.calls: list[tuple[str, str | None]] = []

    def voices(self) -> list[str]:
        return sorted(p.stem for p in self.voices_dir.glob("*.wav"))

    def synthesize(self, text: str, voice: str | None = None) -> Audio:
        self.calls.append((text, voice))
        with wave.open(str(self.voices_dir / f"{voice}.wav")) as w:
            assert w.getframerate() == 24000
        return Audio(b"\x00\x01" * 2400, 24000)


def _settings(voices: Path, model_dir: Path | None):
    from bot.config import Settings, TtsSettings

    return Settings(tts=TtsSettings(xtts_voices_dir=voices, xtts_model_dir=model_dir))


def test_xtts_not_configured_is_said_plainly(voices: Path) -> None:
    result = check_with_xtts("julie", voices, _settings(voices, None))
    assert result.status == "not_configured"
    assert "XTTS is not configured" in result.message and "ready for it" in result.message


def test_xtts_configured_computes_the_conditioning_once(tmp_path: Path, voices: Path, monkeypatch) -> None:
    clone_voice(save(tmp_path / "ref.wav", build(MALE)), "julie", voices)
    engines: list[FakeXtts] = []

    def load_engine(name: str, *, xtts_model_dir=None, xtts_voices_dir=None):
        assert (name, xtts_model_dir, xtts_voices_dir) == ("xtts", tmp_path / "model", voices)
        engines.append(FakeXtts(xtts_voices_dir))
        return engines[-1]

    monkeypatch.setattr(tts, "load_engine", load_engine)
    result = check_with_xtts("julie", voices, _settings(voices, tmp_path / "model"))
    assert result.status == "ok"
    assert [call[1] for call in engines[0].calls] == ["julie"]


def test_xtts_that_cannot_load_is_no_failure(voices: Path, monkeypatch, tmp_path: Path) -> None:
    def load_engine(name: str, **_):
        raise TtsUnavailable("XTTS needs the coqui-tts package (TTS missing): pip install coqui-tts")

    monkeypatch.setattr(tts, "load_engine", load_engine)
    result = check_with_xtts("julie", voices, _settings(voices, tmp_path / "model"))
    assert result.status == "unavailable" and "coqui-tts" in result.message


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, voices: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("MINIBOT_TTS__XTTS_VOICES_DIR", str(voices))
    monkeypatch.delenv("MINIBOT_TTS__XTTS_MODEL_DIR", raising=False)
    return voices


def test_cli_clone_then_list(tmp_path: Path, cli_env: Path) -> None:
    runner = CliRunner()
    ref = save(tmp_path / "ref.wav", build(MALE))
    result = runner.invoke(voice_app, ["clone", str(ref), "--name", "julie"])
    assert result.exit_code == 0, result.output
    assert "mesuré : parole 1" in result.output and "SNR 4" in result.output
    assert f"rangé : {cli_env / 'julie.wav'}" in result.output
    assert "XTTS is not configured" in result.output

    again = runner.invoke(voice_app, ["clone", str(ref), "--name", "julie"])
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    assert runner.invoke(voice_app, ["clone", str(ref), "--name", "julie", "--force"]).exit_code == 0

    listed = runner.invoke(voice_app, ["list"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "julie" in line)
    meta = json.loads((cli_env / "julie.json").read_text())
    assert f"{meta['output']['duration_s']:.1f} s" in row and f"{meta['measured']['snr_db']:.1f} dB" in row
    assert meta["created"][:10] in row


def test_cli_refusal_exits_1_with_the_reason(tmp_path: Path, cli_env: Path) -> None:
    result = CliRunner().invoke(voice_app, ["clone", str(save(tmp_path / "short.wav", build(MALE[:2]))),
                                            "--name", "julie"])
    assert result.exit_code == 1
    assert "refusé" in result.output and "too short" in result.output and "at least 6 s needed" in result.output
    assert not cli_env.exists() or not list(cli_env.iterdir())


def test_cli_unreadable_and_bad_name(tmp_path: Path, cli_env: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_text("hello")
    result = CliRunner().invoke(voice_app, ["clone", str(junk), "--name", "julie"])
    assert result.exit_code == 1 and "junk.mp3" in result.output and "not an audio file" in result.output
    result = CliRunner().invoke(voice_app, ["clone", str(junk), "--name", "Julie"])
    assert result.exit_code == 1 and "bad voice name 'Julie'" in result.output


def test_cli_list_empty(cli_env: Path) -> None:
    result = CliRunner().invoke(voice_app, ["list"])
    assert result.exit_code == 0 and "aucune voix dans" in result.output


def test_the_limits_are_the_documented_ones() -> None:
    limits = ReferenceLimits()
    assert (limits.min_speech_s, limits.max_speech_s, limits.max_clipped_ratio, limits.min_snr_db,
            limits.min_speech_dbfs, limits.max_pitch_spread_st) == (6.0, 30.0, 0.001, 20.0, -40.0, 7.0)


def test_an_hour_long_file_is_refused_before_decoding(tmp_path: Path, voices: Path) -> None:
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", 8000, 1, subtype="PCM_U8") as f:  # 11 minutes, 5 MB
        f.write(np.zeros(11 * 60 * 8000, np.float32))
    with pytest.raises(VoiceReferenceError, match="lasts 660 s"):
        clone_voice(path, "julie", voices)
