"""`minibot scenario try`: a scenario rehearsed in text, with the same brain a call uses."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from bot.dialog.brain import Brain
from bot.dialog.rehearsal import Ended, Heard, Rehearsal, Said


@pytest.fixture(scope="module")
def demo():
    return Brain.build("demo", embeddings=False)


async def test_a_yes_path_qualifies_with_its_steps_and_score(demo):
    r = Rehearsal(demo, {"first_name": "Marie"})
    first = r.start()
    assert isinstance(first[0], Said) and "Marie" in first[0].text and first[0].step == "hello"
    events = await r.say("oui c'est moi")
    assert isinstance(events[0], Heard) and events[0].intent == "affirm"
    events = await r.say("oui ça m'intéresse")
    end = events[-1]
    assert isinstance(end, Ended) and end.result == "QUALIFIED" and end.steps[0] == "hello"
    assert end.qualification == 1.0 and end.points == end.max_points


async def test_hanging_up_mid_script_is_a_result_with_the_step(demo):
    r = Rehearsal(demo)
    r.start()
    [end] = r.hang_up()
    assert end.result == "HUNG_UP" and end.steps == ("hello",)
    with pytest.raises(RuntimeError):
        await r.say("allô ?")


def test_the_command_line():
    from cli.main import app

    result = CliRunner().invoke(app, ["scenario", "try", "demo", "--var", "first_name=Marie", "--no-embeddings"],
                                input="oui c'est moi\nbande d'escrocs\n/raccrocher\n", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "bot (hello) : Bonjour Marie" in out and "compris : affirm" in out
    assert "ressenti : neutre" in out and "ressenti : irrité" in out  # how the caller sounded, in French
    assert "Fin : HUNG_UP" in out and "Étapes : hello > interest" in out


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)  # real-time speech on a loaded 2-core machine, as tests/test_demo.py
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_the_rehearsal_aloud_is_a_simulated_call(tmp_path, monkeypatch):
    """--audio: the typed lines spoken by the offline voice, heard by the real recogniser, over the
    simulated Asterisk and MiniBot's real call path."""
    from cli.main import app

    monkeypatch.setenv("MINIBOT_TTS__AUDIO_DIR", str(tmp_path / "audio"))
    result = CliRunner().invoke(app, ["scenario", "try", "demo", "--audio", "--no-embeddings", "--var",
                                      "first_name=Marie"], input="oui c'est moi\noui ça m'intéresse\n\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "bot : Bonjour Marie" in out
    heard = [line for line in out.splitlines() if " client (" in line]
    assert len(heard) >= 2, out  # both typed lines came back through the recogniser, each at its step
    assert "étape hello" in heard[0] and "étape interest" in heard[1], out
    assert "Fin : QUALIFIED (issue answered)" in out and "Étapes : hello > interest" in out, out
