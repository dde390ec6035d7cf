"""`minibot scenario try`: a scenario rehearsed in text, with the same brain a call uses."""

from __future__ import annotations

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
