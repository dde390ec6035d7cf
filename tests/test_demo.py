"""`minibot demo` as a new user runs it: a whole campaign, offline, that ends by itself with 0."""

from __future__ import annotations

import io
import re
import shutil

import pytest
from rich.console import Console

from bot.config import Settings
from bot.demo.campaign import CALLEES, run_campaign_demo

pytestmark = [
    pytest.mark.slow,
    # Real-time speech over real sockets on a 2-core machine: late in the full suite a turn can be
    # segmented differently (Whisper then hears other words). One more try, never more.
    pytest.mark.flaky(reruns=1),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed"),
]


async def test_the_demo_runs_a_campaign_and_prints_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIBOT_TTS__AUDIO_DIR", str(tmp_path / "audio"))
    out = io.StringIO()
    code = await run_campaign_demo(Settings(), Console(file=out, width=140))
    text = out.getvalue()
    assert code == 0, text
    assert "10 lignes, 8 importés, 1 doublon (ligne 10), 1 invalide (ligne 11" in text
    # Each contact dialled, printed live. One more dial may come on a loaded machine: a planned retry
    # that fell due before the demo ended (seen once in CI: 9 dials for 8 callees; which one, not known).
    assert len(CALLEES) <= text.count("  numérotation +33") <= len(CALLEES) + 1, text
    assert "issue occupé" in text and "issue pas de réponse" in text and "AMD MACHINE" in text
    assert "décroché" in text and "appelé" in text  # the journal in French, the caller's words under « appelé »
    assert "taux de décroché" in text and "canaux ou ponts restés dans Asterisk : 0" in text
    assert "occupé" in text and "pas de réponse" in text  # the figures' codes as words
    # The retries planned, in words: "nouvel essai (occupé)", not the internal "retry:busy".
    assert "nouvel essai (occupé)" in text and "nouvel essai (pas de réponse)" in text and "retry:" not in text
    # Lawful end to end: each dial judged and kept, the campaign's number presented on every call, the
    # AI disclosure heard to its end on answered calls (the law's audit reads these).
    law = re.search(r"conformité: (\d+) décisions du contrôle gardées \((\d+) autorisées\), numéro présenté "
                    r"\+33162\d+ sur (\d+)/(\d+) appels, mention IA entendue en entier sur (\d+)/(\d+)", text)
    assert law, text
    decisions, allowed, presented, calls, disclosed, answered = map(int, law.groups())
    assert allowed == calls >= len(CALLEES) and decisions >= allowed and presented == calls
    assert 1 <= disclosed <= answered
