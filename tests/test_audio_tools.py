"""Audio tools: preparing recordings for the phone, `minibot tts say`, and the office ambience."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import soxr
import yaml
from typer.testing import CliRunner

from bot.call.prompt import Prompt
from bot.config import Settings
from bot.dialog.scenario.loader import load_scenario
from bot.speech.pcm import Audio, read_wav, to_float, to_pcm
from bot.voice.ambience import AMBIENCE_DIR, load_ambience, mix_ambience
from bot.voice.cache import AudioCache
from bot.voice.prepare import TARGET_LUFS, condition
from bot.voice.voice import CachedVoice
from cli.audio import audio_app
from cli.tts import tts_app
from tests.conftest import speech

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
runner = CliRunner()


def _lufs(x: np.ndarray, rate: int) -> float:
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, np.float64)))


def _recording(path: Path, name: str, rate: int, *, gain: float = 0.1, lead: float = 0.8, tail: float = 1.2,
               subtype: str | None = None, format: str | None = None) -> np.ndarray:
    """A fixture line as a studio export would come: stereo at `rate`, quiet, with room tone
    (-70 dBFS) before and after. Returns the speech it holds (16 kHz mono, for comparison)."""
    voice = to_float(speech(name).pcm)
    x = soxr.resample(voice, 16000, rate).astype(np.float32) * gain
    rng = np.random.default_rng(7)
    x = np.concatenate([np.zeros(int(lead * rate), np.float32), x, np.zeros(int(tail * rate), np.float32)])
    x += rng.normal(0, 10 ** (-70 / 20), x.size).astype(np.float32)
    sf.write(str(path), np.stack([x, 0.8 * x], axis=1), rate, subtype=subtype, format=format)
    return voice


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalised cross-correlation: 1 when `a` holds `b` at some lag, whatever the gain."""
    n = 1 << int(np.ceil(np.log2(a.size + b.size)))
    xc = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    return float(np.max(np.abs(xc)) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _edges(x: np.ndarray, rate: int) -> tuple[float, float]:
    """Seconds before the first and after the last 10 ms frame within 30 dB of the loudest one
    (frames, not samples: the room tone, raised with the speech, has peaks of its own)."""
    frame = rate // 100
    n = x.size // frame
    levels = 10 * np.log10(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    sound = np.flatnonzero(levels > levels.max() - 30)
    return sound[0] * frame / rate, (x.size - (sound[-1] + 1) * frame) / rate


# --- minibot audio prepare ---------------------------------------------------------------------


def test_prepare_turns_wav_flac_ogg_and_mp3_into_prompts_asterisk_plays(tmp_path) -> None:
    sources = {
        "accueil.wav": ("prompt_bot", 44100, "PCM_24"),
        "message.flac": ("messagerie", 48000, None),
        "relance.ogg": ("interesse", 48000, None),
        "rappel.mp3": ("rappelez", 44100, None),
    }
    held = {}
    for file, (name, rate, subtype) in sources.items():
        held[file] = _recording(tmp_path / file, name, rate, subtype=subtype)
    out = tmp_path / "prompts"
    result = runner.invoke(audio_app, ["prepare", *(str(tmp_path / f) for f in sources), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 4 and "4 fichier(s) sur 4 préparé(s)" in result.output

    for file, voice in held.items():
        stem = Path(file).stem
        with wave.open(str(out / f"{stem}.wav")) as w:  # what Asterisk's format_wav insists on
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        narrow, wide = Prompt.load(out / f"{stem}.wav"), Prompt.load(out / f"{stem}.sln16")
        assert (narrow.audio.sample_rate, wide.audio.sample_rate) == (8000, 16000)
        assert abs(narrow.duration - wide.duration) < 0.01
        x = to_float(wide.audio.pcm)
        # the same speech, whatever the codec did to it
        assert _similarity(x, voice) > (0.9 if file.endswith((".wav", ".flac")) else 0.75), file
        # loudness on target, peaks under -1 dBFS, in both files
        assert abs(_lufs(x, 16000) - TARGET_LUFS) < 0.5, file
        assert abs(_lufs(to_float(narrow.audio.pcm), 8000) - TARGET_LUFS) < 1.5, file
        for prompt in (narrow, wide):
            assert np.max(np.abs(to_float(prompt.audio.pcm))) <= 10 ** (-1 / 20) + 1e-4
        # the 0.8 s before and 1.2 s after are gone; about 100 ms of quiet stays at each end
        lead, tail = _edges(x, 16000)
        assert 0.05 <= lead <= 0.2 and 0.05 <= tail <= 0.3, (file, lead, tail)
        assert wide.duration < voice.size / 16000 + 0.25, file
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left behind
    line = f"{tmp_path / 'message.flac'}"
    assert any(line in row and "LUFS" in row and "→" in row for row in result.output.splitlines())


def test_a_bad_file_fails_with_its_reason_and_the_others_are_prepared(tmp_path) -> None:
    _recording(tmp_path / "bon.wav", "non_merci", 48000)
    (tmp_path / "casse.mp3").write_bytes(bytes(range(256)) * 40)
    sf.write(str(tmp_path / "muet.wav"), np.zeros(16000, np.float32), 16000)
    sf.write(str(tmp_path / "vide.wav"), np.zeros(0, np.float32), 16000)
    sf.write(str(tmp_path / "long.flac"), np.full(8000 * 301, 0.01, np.float32), 8000)
    _recording(tmp_path / "aussi_bon.ogg", "oui_daccord", 44100)
    files = ["bon.wav", "casse.mp3", "muet.wav", "vide.wav", "long.flac", "absent.wav", "aussi_bon.ogg"]
    out = tmp_path / "out"
    result = runner.invoke(audio_app, ["prepare", *(str(tmp_path / f) for f in files), "--out", str(out)])
    assert result.exit_code == 1
    reasons = {row.split(":")[0].removeprefix("ÉCHEC ").strip(): row for row in result.output.splitlines()
               if row.startswith("ÉCHEC")}
    assert "illisible comme audio" in reasons[str(tmp_path / "casse.mp3")]
    assert "silencieux" in reasons[str(tmp_path / "muet.wav")]
    assert "vide (aucun échantillon audio)" in reasons[str(tmp_path / "vide.wav")]
    assert "trop long" in reasons[str(tmp_path / "long.flac")]
    assert "introuvable" in reasons[str(tmp_path / "absent.wav")]
    assert len(reasons) == 5 and "2 fichier(s) sur 7 préparé(s)" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["aussi_bon.sln16", "aussi_bon.wav", "bon.sln16", "bon.wav"]


def test_prepare_needs_inputs_and_out_or_a_scenario(tmp_path) -> None:
    assert runner.invoke(audio_app, ["prepare"]).exit_code == 2
    assert runner.invoke(audio_app, ["prepare", str(tmp_path / "a.wav")]).exit_code == 2
    both = runner.invoke(audio_app, ["prepare", str(tmp_path / "a.wav"), "--scenario", "demo"])
    assert both.exit_code == 2


def test_a_line_too_short_to_gate_is_normalised_by_rms() -> None:
    rng = np.random.default_rng(3)
    burst = (rng.normal(0, 0.01, 3200)).astype(np.float32)  # 0.2 s of sound at -40 dBFS
    done = condition(np.concatenate([np.zeros(8000, np.float32), burst]), 16000)
    assert done.method == "rms" and abs(done.loudness_out - TARGET_LUFS) < 0.5
    assert done.audio.duration == pytest.approx(0.3, abs=0.03)  # 0.2 s of sound + 0.1 s kept before it


def test_peaks_are_limited_without_losing_the_target_loudness() -> None:
    x = to_float(speech("prompt_bot").pcm).copy()
    x[40000:40016] = 0.99  # a click far above the speech: a plain gain would leave it clipping
    done = condition(x * 0.2, 16000)
    y = to_float(done.audio.pcm)
    assert np.max(np.abs(y)) <= 10 ** (-1 / 20) + 1e-4
    assert abs(_lufs(y, 16000) - TARGET_LUFS) < 0.5


def _scenario_with_audio(tmp_path: Path, interest: str, voicemail: str) -> Path:
    raw = yaml.safe_load((SCENARIOS / "demo.yaml").read_text(encoding="utf-8"))
    raw["steps"]["interest"]["audio"] = interest
    raw["voicemail"] = {"audio": voicemail}
    path = tmp_path / "campagne" / "demo_audio.yaml"
    (path.parent / "enregistrements").mkdir(parents=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_scenario_recordings_are_prepared_in_place_and_the_bot_can_play_them(tmp_path) -> None:
    path = _scenario_with_audio(tmp_path, "enregistrements/interet.wav", "enregistrements/message.wav16")
    rec = path.parent / "enregistrements"
    _recording(rec / "interet.wav", "interesse", 48000)
    _recording(rec / "message.wav16", "messagerie", 44100, format="WAV")  # any WAV, named as the scenario wants it
    result = runner.invoke(audio_app, ["prepare", "--scenario", str(path)])
    assert result.exit_code == 0, result.output
    assert "steps.interest.audio" in result.output and "voicemail.audio" in result.output

    first = Prompt.load(rec / "interet.wav")  # what CachedVoice.prompt does with a step's audio
    assert first.audio.sample_rate == 8000 and Prompt.load(rec / "interet.sln16").audio.sample_rate == 16000
    assert Prompt.load(rec / "message.wav16").audio.sample_rate == 16000
    assert Prompt.load(rec / "message.wav").audio.sample_rate == 8000
    assert (rec / "interet.orig.wav").is_file()  # the studio file is kept, not lost to the 8 kHz copy
    assert sf.info(str(rec / "interet.orig.wav")).samplerate == 48000
    load_scenario(path)  # still a valid scenario, its audio files there

    again = runner.invoke(audio_app, ["prepare", "--scenario", str(path)])
    assert again.exit_code == 0, again.output
    second = Prompt.load(rec / "interet.wav")  # prepared from the kept original: the same line
    assert second.audio.pcm == first.audio.pcm


def test_a_scenario_naming_a_format_the_bot_cannot_play_is_told_which_name_to_use(tmp_path) -> None:
    path = _scenario_with_audio(tmp_path, "enregistrements/interet.wav", "enregistrements/message.flac")
    rec = path.parent / "enregistrements"
    _recording(rec / "interet.wav", "interesse", 48000)
    _recording(rec / "message.flac", "messagerie", 48000)
    result = runner.invoke(audio_app, ["prepare", "--scenario", str(path)])
    assert result.exit_code == 1
    assert "voicemail.audio: enregistrements/message.wav" in result.output
    assert Prompt.load(rec / "message.wav").audio.sample_rate == 8000  # prepared all the same
    assert result.output.count("ok ") == 1


# --- minibot tts say ---------------------------------------------------------------------------


@needs_espeak
@pytest.mark.parametrize(("suffix", "rate"), [(".wav", 8000), (".wav16", 16000), (".sln16", 16000)])
def test_tts_say_writes_the_format_the_file_name_asks_for(tmp_path, suffix, rate) -> None:
    out = tmp_path / f"ligne{suffix}"
    result = runner.invoke(tts_app, ["say", "Bonjour, je suis Camille de MiniBot.", "--voice", "fr+f3",
                                     "--out", str(out), "--engine", "espeak", "--ambience", "none"])
    assert result.exit_code == 0, result.output
    prompt = Prompt.load(out)
    assert prompt.audio.sample_rate == rate and 1.0 < prompt.duration < 5.0
    assert f"{prompt.duration:.2f} s" in result.output and "synthétisé en" in result.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@needs_espeak
def test_tts_say_mixes_the_ambience_when_asked(tmp_path) -> None:
    plain, mixed = tmp_path / "a.sln16", tmp_path / "b.sln16"
    for out, room in ((plain, "none"), (mixed, "bureau")):
        args = ["say", "Bonjour, je suis Camille.", "--out", str(out), "--engine", "espeak", "--ambience", room]
        assert runner.invoke(tts_app, args).exit_code == 0
    assert plain.stat().st_size == mixed.stat().st_size and plain.read_bytes() != mixed.read_bytes()


def test_tts_say_refuses_what_it_cannot_do(tmp_path) -> None:
    def say(*args: str) -> tuple[int, str]:
        result = runner.invoke(tts_app, ["say", "Bonjour.", *args])
        return result.exit_code, result.output

    code, output = say("--out", str(tmp_path / "x.mp3"), "--engine", "espeak")
    assert code == 2 and "extension non prise en charge '.mp3'" in output
    code, output = say("--out", str(tmp_path / "x.wav"), "--engine", "festival")
    assert code == 2 and "moteur de synthèse inconnu 'festival'" in output
    code, output = say("--out", str(tmp_path / "x.wav"), "--engine", "espeak", "--ambience", "jungle")
    assert code == 2 and "ambience 'jungle' not found" in output and "bureau" in output
    if shutil.which("espeak-ng"):
        code, output = say("--out", str(tmp_path / "x.wav"), "--engine", "espeak", "--voice", "en-us")
        assert code == 2 and "voix inconnue 'en-us'" in output and "fr+f3" in output
    assert not list(tmp_path.iterdir())


# --- ambience ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bureau() -> Audio:
    return load_ambience("bureau")


def _long_line(seconds: float) -> Audio:
    """Fixture lines one after another, 0.3 s apart, until `seconds` of speech."""
    parts, total = [], 0.0
    names = ["prompt_bot", "messagerie", "interesse", "non_merci", "robot"]
    while total < seconds:
        x = to_float(speech(names[len(parts) % len(names)]).pcm)
        parts += [x, np.zeros(4800, np.float32)]
        total += x.size / 16000 + 0.3
    return Audio(to_pcm(np.concatenate(parts)), 16000)


def test_the_shipped_loop_is_small_16k_mono_and_loops_without_a_seam(bureau) -> None:
    path = AMBIENCE_DIR / "bureau.wav"
    assert path.stat().st_size < 1024 * 1024
    assert bureau.sample_rate == 16000 and 18.0 <= bureau.duration <= 22.0
    x = to_float(bureau.pcm)
    steps = np.abs(np.diff(x))
    assert abs(x[0] - x[-1]) <= np.percentile(steps, 99)  # wrapping around is just another step
    levels = 10 * np.log10(np.mean(x[: x.size // 1600 * 1600].reshape(-1, 1600) ** 2, axis=1))
    assert levels.max() - np.median(levels) < 8 and np.median(levels) - levels.min() < 12  # a steady murmur


def test_mixed_ambience_sits_8_db_under_the_voice(bureau) -> None:
    for voice in (speech("prompt_bot"), speech("messagerie"), _long_line(45.0)):
        mixed = mix_ambience(voice, bureau, -8.0)
        v, m = to_float(voice.pcm), to_float(mixed.pcm)
        assert m.size == v.size
        room = (m - v)[8000:-12000]  # past the fades
        ratio = _lufs(v, 16000) - _lufs(room, 16000)
        assert abs(ratio - 8.0) < (0.75 if voice.duration > 40 else 1.5), (voice.duration, ratio)
        assert _similarity(m, v) > 0.9  # the voice is still what one hears
    softer = mix_ambience(voice, bureau, -14.0)
    assert _lufs(v, 16000) - _lufs((to_float(softer.pcm) - v)[8000:-12000], 16000) == pytest.approx(14.0, abs=0.75)


def test_the_loop_repeats_seamlessly_under_a_long_line(bureau) -> None:
    voice = _long_line(50.0)
    mixed = mix_ambience(voice, bureau, -8.0, start=15.0)  # wraps 5 s in, then every 20 s
    room = to_float(mixed.pcm) - to_float(voice.pcm)
    loop = to_float(bureau.pcm)
    start = 15 * 16000
    tiled = loop[(start + np.arange(room.size)) % loop.size]
    middle = slice(16000, room.size - 16000)
    gain = float(np.dot(room[middle], tiled[middle]) / np.dot(tiled[middle], tiled[middle]))
    # it is the loop itself, tiled through every wrap (quantisation is the only difference)
    assert np.max(np.abs(room[middle] - gain * tiled[middle])) < 3 / 32768
    wraps = [loop.size - start + k * loop.size for k in range(3)]
    assert wraps[-1] < room.size - 16000
    steps = np.abs(np.diff(room[middle]))
    levels = 10 * np.log10(np.mean(room[: room.size // 1600 * 1600].reshape(-1, 1600)[10:-10] ** 2, axis=1))
    for w in wraps:
        assert abs(room[w] - room[w - 1]) <= np.percentile(steps, 99.5)  # no click at the wrap
        around = 10 * np.log10(np.mean(room[w - 800 : w + 800] ** 2))
        assert levels.min() - 1 <= around <= levels.max() + 1  # no dip or bump either
    # gentle fades: the line starts and ends on the voice, not on a wall of murmur
    assert np.sqrt(np.mean(room[:160] ** 2)) < 0.1 * np.sqrt(np.mean(room[middle] ** 2))
    assert np.sqrt(np.mean(room[-160:] ** 2)) < 0.1 * np.sqrt(np.mean(room[middle] ** 2))


class SpeechEngine:
    """A TTS engine stand-in that says a fixture line, whatever the text."""

    name, default_voice, version = "fixture", "a", "1"

    def __init__(self) -> None:
        self.calls = 0

    def voices(self) -> list[str]:
        return ["a"]

    def synthesize(self, text: str, voice: str | None = None) -> Audio:
        self.calls += 1
        return speech("prompt_bot")


def test_cache_keys_differ_with_and_without_ambience_and_mixed_lines_are_stored_mixed(tmp_path, bureau) -> None:
    engine, cache = SpeechEngine(), AudioCache(tmp_path)
    text = "Bonjour, je suis Camille."
    plain = CachedVoice(engine, cache)
    mixed = CachedVoice(engine, cache, ambience=bureau)
    softer = CachedVoice(engine, cache, ambience=bureau, ambience_db=-14.0)
    other_room = CachedVoice(engine, cache, ambience=Audio(to_pcm(to_float(bureau.pcm)[::-1]), 16000))
    keys = [v.key(text) for v in (plain, mixed, softer, other_room)]
    assert len(set(keys)) == 4
    assert CachedVoice(SpeechEngine(), cache, ambience=load_ambience("bureau")).key(text) == keys[1]  # stable

    plain_line, hit = plain.render(text)
    assert not hit and plain_line.file("sln16").read_bytes() == speech("prompt_bot").pcm
    mixed_line, hit = mixed.render(text)
    assert not hit and mixed_line.key != plain_line.key
    v, m = to_float(speech("prompt_bot").pcm), to_float(mixed_line.file("sln16").read_bytes())
    assert abs(_lufs(v, 16000) - _lufs((m - v)[8000:-12000], 16000) - 8.0) < 1.5
    assert Prompt.load(mixed_line.file("wav")).audio.sample_rate == 8000
    assert mixed.render(text) == (mixed_line, True) and engine.calls == 2


def test_settings_name_the_ambience_and_its_level(monkeypatch) -> None:
    monkeypatch.delenv("MINIBOT_TTS__AMBIENCE", raising=False)
    monkeypatch.delenv("MINIBOT_TTS__AMBIENCE_DB", raising=False)
    assert (Settings().tts.ambience, Settings().tts.ambience_db) == (None, -8.0)
    monkeypatch.setenv("MINIBOT_TTS__AMBIENCE", "bureau")
    monkeypatch.setenv("MINIBOT_TTS__AMBIENCE_DB", "-12")
    tts = Settings().tts
    assert (tts.ambience, tts.ambience_db) == ("bureau", -12.0)
    assert load_ambience(tts.ambience).pcm == read_wav(AMBIENCE_DIR / "bureau.wav").pcm
    assert load_ambience(str(AMBIENCE_DIR / "bureau.wav")).pcm == load_ambience("bureau").pcm


@pytest.mark.slow
def test_no_word_of_the_murmur_is_recognisable(bureau) -> None:
    from faster_whisper import WhisperModel

    from bot.speech.asr.models import whisper_base_dir

    model = WhisperModel(str(whisper_base_dir(Settings().cache_dir)), device="cpu", compute_type="int8")
    x = to_float(bureau.pcm)
    loud = x * 10 ** ((TARGET_LUFS - _lufs(x, 16000)) / 20)  # as loud as a prepared line: 8 LU above its mix
    segments, _ = model.transcribe(loud, language="fr", vad_filter=False, beam_size=1)
    words = [s.text for s in segments]
    control, _ = model.transcribe(to_float(speech("interesse").pcm), language="fr", beam_size=1)
    assert "intéresse" in " ".join(s.text for s in control).lower()  # the recogniser does hear speech
    assert not "".join(words).strip(), words
