"""`minibot campaign` as an operator uses it: create, import contacts, start, pause, stats,
stop, with --json, against a real PostgreSQL."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.fixture
def minibot(database_url, tmp_path):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path)}

    def run(*args: str, code: int = 0) -> dict:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if "--json" in args else {}

    return run


def _contacts(tmp_path) -> str:
    path = tmp_path / "contacts.csv"
    path.write_text("Prénom;Nom;Téléphone\nMarie;Durand;06 12 34 56 78\nPaul;Martin;06 98 76 54 32\n",
                    encoding="cp1252")
    return str(path)


def test_a_campaign_from_creation_to_stop(minibot, tmp_path):
    created = minibot("campaign", "create", "Rentrée", "--scenario", "demo", "--max-concurrent", "3",
                      "--cps", "0.5", "--var", "offre=rentrée", "--basis", "consent", "--caller-id", "01 62 00 00 00",
                      "--json")
    cid = str(created["id"])
    assert created["status"] == "DRAFT" and created["variables"] == {"offre": "rentrée"}
    assert (created["legal_basis"], created["caller_id"]) == ("consent", "01 62 00 00 00")
    assert minibot("campaign", "start", cid, "--json", code=1) == {
        "error": f"aucun contact : importez-en avec `minibot contacts import FICHIER --campaign {cid}`"}
    report = minibot("contacts", "import", _contacts(tmp_path), "--campaign", cid, "--json")
    assert report["imported"] == 2 and report["enrolled"] == 2
    assert minibot("campaign", "start", cid, "--json")["status"] == "RUNNING"
    assert minibot("campaign", "pause", cid, "--json")["status"] == "PAUSED"
    assert "PAUSED" in minibot("campaign", "pause", cid, "--json", code=1)["error"]
    stats = minibot("campaign", "stats", cid, "--json")["stats"]
    assert stats["contacts"] == 2 and stats["attempts_by_status"] == {"SCHEDULED": 2}
    assert minibot("campaign", "stop", cid, "--json")["status"] == "CANCELLED"
    listed = minibot("campaign", "list", "--json")["campaigns"]
    assert [(c["name"], c["status"]) for c in listed] == [("Rentrée", "CANCELLED")]


def test_bad_settings_are_refused_with_the_field(minibot):
    lawful = ("--basis", "consent")
    assert "introuvable" in minibot("campaign", "create", "x", "--scenario", "nope", *lawful, "--json",
                                         code=2)["error"]
    error = minibot("campaign", "create", "x", "--scenario", "demo", "--compliance",
                    '{"frequency_cap_attempts": -1}', *lawful, "--json", code=2)["error"]
    assert "frequency_cap_attempts" in error
    error = minibot("campaign", "create", "x", "--scenario", "demo", "--retry", '{"busy": {"delay_minutes": 0}}',
                    *lawful, "--json", code=2)["error"]
    assert "retry_policy.busy.delay_minutes" in error
    assert "campagne 42 introuvable" in minibot("campaign", "stats", "42", "--json", code=2)["error"]


def test_the_law_at_creation_and_at_start(minibot, tmp_path):
    """No basis, no campaign; a banned sector is refused; a loosening needs its ground; a prospecting
    campaign starts only with a caller ID of ARCEP's canvassing ranges; other bases are warned."""
    error = minibot("campaign", "create", "x", "--scenario", "demo", "--json", code=2)["error"]
    assert "base légale requise" in error and "L223-1" in error
    error = minibot("campaign", "create", "x", "--scenario", "demo", "--basis", "consent", "--sector",
                    "renovation_energetique", "--json", code=2)["error"]
    assert "démarchage téléphonique interdit" in error and "loi 2020-901" in error
    minibot("campaign", "create", "x", "--scenario", "demo", "--basis", "contract", "--contract-subject",
            "entretien de la chaudière", "--sector", "renovation_energetique", "--json")  # the contract exception
    error = minibot("campaign", "create", "x", "--scenario", "demo", "--basis", "consent", "--compliance",
                    '{"frequency_cap_attempts": 6}', "--json", code=2)["error"]
    assert "sans fondement légal" in error and "D223-9" in error
    minibot("campaign", "create", "x", "--scenario", "demo", "--basis", "consent", "--compliance",
            '{"frequency_cap_attempts": 6}', "--legal-ground", "accord écrit des clients", "--json")

    mobile = minibot("campaign", "create", "m", "--scenario", "demo", "--basis", "consent", "--caller-id",
                     "06 12 34 56 78", "--json")["id"]
    minibot("contacts", "import", _contacts(tmp_path), "--campaign", str(mobile), "--json")
    error = minibot("campaign", "start", str(mobile), "--json", code=1)["error"]
    assert "numéro mobile" in error and "ARCEP" in error
    survey = minibot("campaign", "create", "s", "--scenario", "demo", "--basis", "not_prospecting", "--no-sales",
                     "--caller-id", "01 44 00 00 00", "--json")["id"]
    minibot("contacts", "import", _contacts(tmp_path), "--campaign", str(survey), "--json")
    assert minibot("campaign", "start", str(survey), "--json")["status"] == "RUNNING"  # a warning, not a refusal
