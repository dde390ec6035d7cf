"""`minibot call NUMBER --json` against the real Asterisk: one JSON line, the call's record."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.live.asterisk import REPO, free_port

pytestmark = [pytest.mark.slow]


def test_call_json_prints_the_call_record(live_asterisk, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "MINIBOT_ARI__URL": live_asterisk.url,
           "MINIBOT_ARI__PASSWORD": live_asterisk.password, "MINIBOT_AUDIOSOCKET_PORT": str(free_port()),
           "MINIBOT_TTS__AUDIO_DIR": str(tmp_path / "audio"), "MINIBOT_LLM__ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", "from cli.main import app; app()", "call", "Local/hangup@callee-sim",
                           "--var", "first_name=Marie", "--json"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    call = json.loads(lines[0])
    assert (call["outcome"], call["hangup_cause"], call["hangup_cause_txt"]) == ("answered", 16, "Normal Clearing")
    assert call["amd_verdict"] in ("human", "machine") and "amd_status" in call
    assert call["transcript"][0]["speaker"] == "bot" and call["transcript"][0]["at_ms"] > 0
    assert "Marie" in call["transcript"][0]["text"]
    assert call["latency"]["answer_to_first_audio_ms"] > 0
    assert call["barge_ins"] == 0 and call["barge_in_reaction_ms"] == []
    assert call["recording_path"] and call["duration_ms"] > 1500
    assert "answered" in [e["kind"] for e in call["events"]]
