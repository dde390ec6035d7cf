"""Vosk (Kaldi) models: what a model directory says about itself. The recogniser runs in worker
processes (vosk_process.py)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)


def model_sample_rate(model_dir: Path) -> int:
    """The rate the model's features were trained at (conf/mfcc.conf), 16 kHz when unstated."""
    mfcc = model_dir / "conf" / "mfcc.conf"
    if mfcc.exists():
        m = re.search(r"--sample-frequency=(\d+)", mfcc.read_text())
        if m:
            return int(m.group(1))
    return 16000
