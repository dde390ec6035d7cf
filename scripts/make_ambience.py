"""Synthesise audio/ambience/bureau.wav: a 20 s, seamless office-murmur loop, 16 kHz mono.

Made offline from the repo's own speech fixtures (tests/fixtures/speech/*_16k.wav), so no
recording with unknown rights is shipped:

* babble: ten "talkers", each a chain of fixture utterances played backwards, pitch- and
  tempo-shifted (resampled by 0.75-1.25), at random distances (level, duller low-pass), with
  pauses; summed, band-limited to 150-1700 Hz and sent through a 0.6 s diffuse reverb, so
  syllables smear and no word survives; its level is then ridden slowly toward the mean;
* a soft pink-ish noise bed (ventilation), 14 dB under the babble;
* now and then a burst of distant typing: 4 ms clicks, high-passed, decaying in 2 ms.

The last 2 s are crossfaded (equal power) into the first 2 s, so the file loops without a seam.
Deterministic (fixed seed): running it again writes the same file.

    .venv/bin/python scripts/make_ambience.py [--out audio/ambience/bureau.wav] [--seconds 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.speech.pcm import Audio, read_wav, to_float, to_pcm, write_wav  # noqa: E402

RATE = 16000
SEED = 20240611
XFADE = 2.0
LEVEL_DBFS = -30.0  # RMS of the file; the mix sets its own level relative to the voice anyway


def band(x: np.ndarray, lo: float | None, hi: float | None, order: int = 4) -> np.ndarray:
    """Butterworth-shaped magnitude response applied in the frequency domain (zero phase)."""
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    f[0] = 1e-3
    response = np.ones_like(f)
    if lo:
        response /= np.sqrt(1 + (lo / f) ** (2 * order))
    if hi:
        response /= np.sqrt(1 + (f / hi) ** (2 * order))
    return np.fft.irfft(spectrum * response, x.size).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) or 1e-9


def fixtures() -> list[np.ndarray]:
    files = sorted((ROOT / "tests" / "fixtures" / "speech").glob("*_16k.wav"))
    if not files:
        raise SystemExit("no speech fixtures in tests/fixtures/speech (scripts/make_speech_fixtures.py)")
    return [to_float(read_wav(f).pcm) for f in files]


def talker(rng: np.random.Generator, clips: list[np.ndarray], n: int) -> np.ndarray:
    out = np.zeros(n, np.float32)
    pos = int(rng.uniform(0, 1.5) * RATE)
    while pos < n:
        clip = clips[rng.integers(len(clips))][::-1]  # backwards: speech rhythm, no words
        factor = rng.uniform(0.75, 1.25)
        clip = soxr.resample(clip, RATE, int(RATE * factor)).astype(np.float32)  # pitch and tempo
        clip *= np.float32(10 ** (rng.uniform(-6, 0) / 20))
        end = min(n, pos + clip.size)
        out[pos:end] += clip[: end - pos]
        pos = end + int(rng.uniform(0.3, 2.0) * RATE)
    return band(out, 150.0, rng.uniform(900.0, 1700.0), order=3)  # farther talkers sound duller


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: float = 0.6) -> np.ndarray:
    t = np.arange(int(rt60 * RATE)) / RATE
    ir = rng.normal(size=t.size) * np.exp(-6.9 * t / rt60)
    ir[0] += 2.0  # a little direct sound
    ir /= np.sqrt(np.sum(ir * ir))
    size = 1 << int(np.ceil(np.log2(x.size + ir.size)))
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: x.size]
    return wet.astype(np.float32)


def level(x: np.ndarray, window: float = 0.5, strength: float = 0.6) -> np.ndarray:
    """Slow gain riding: pulls the 0.5 s level toward the mean (a steady murmur, not waves of
    talk); strength 1 would flatten it, 0 leaves it alone."""
    w = int(window * RATE)
    power = np.convolve(x * x, np.ones(w) / w, mode="same")
    gain = np.clip((np.sqrt(np.maximum(power, 1e-12)) / rms(x)) ** -strength, 0.3, 3.0)
    return (x * gain).astype(np.float32)


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    return band(np.fft.irfft(spectrum / np.sqrt(f), n).astype(np.float32), 80.0, 3500.0, order=2)


def typing(rng: np.random.Generator, n: int) -> np.ndarray:
    out = np.zeros(n, np.float32)
    t = np.arange(int(0.004 * RATE)) / RATE
    for _ in range(rng.integers(3, 6)):  # a few bursts of typing in the loop
        pos = rng.uniform(0.5, n / RATE - 4.0)
        end = pos + rng.uniform(1.0, 3.0)
        while pos < end:
            i = int(pos * RATE)
            click = rng.normal(size=t.size) * np.exp(-t / 0.002) * rng.uniform(0.4, 1.0)
            out[i : i + t.size] += click[: max(0, min(t.size, n - i))].astype(np.float32)
            pos += rng.uniform(0.08, 0.25)
    return band(out, 1200.0, 5000.0, order=2)


def make(seconds: float = 20.0, seed: int = SEED) -> Audio:
    rng = np.random.default_rng(seed)
    n = int((seconds + XFADE) * RATE)
    clips = fixtures()
    babble = sum(talker(rng, clips, n) * np.float32(10 ** (rng.uniform(-10, 0) / 20)) for _ in range(10))
    babble = band(0.25 * babble + reverb(babble, rng), 150.0, 1700.0, order=4)
    babble = level(babble / rms(babble))
    bed = pink(rng, n)
    clicks = typing(rng, n)
    room = babble + bed * np.float32(10 ** (-14 / 20) / rms(bed)) + clicks * np.float32(0.5 / np.max(np.abs(clicks)))
    room = room - np.mean(room)
    # Seamless loop: the extra tail fades out over the head while the head fades in (equal power,
    # the two are uncorrelated), and sample N-1 is followed on the wrap by what followed it here.
    k, body = int(XFADE * RATE), int(seconds * RATE)
    phase = np.linspace(0.0, np.pi / 2, k, dtype=np.float32)
    loop = room[:body].copy()
    loop[:k] = room[:k] * np.sin(phase) + room[body : body + k] * np.cos(phase)
    loop *= np.float32(10 ** (LEVEL_DBFS / 20) / rms(loop))
    return Audio(to_pcm(np.clip(loop, -0.5, 0.5)), RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "audio" / "ambience" / "bureau.wav")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    audio = make(args.seconds, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_wav(args.out, audio)
    x = to_float(audio.pcm)
    print(f"wrote {args.out}: {audio.duration:.1f} s, {args.out.stat().st_size // 1024} KiB, "
          f"RMS {20 * np.log10(rms(x)):.1f} dBFS, peak {20 * np.log10(np.max(np.abs(x))):.1f} dBFS")


if __name__ == "__main__":
    main()
