"""`minibot contacts list/show/update` and `minibot campaign show`, as an operator uses them, against a
real PostgreSQL."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.fixture
def minibot(database_url, tmp_path):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path), "COLUMNS": "160",
           "MINIBOT_DIAL__CALLER_ID": "Agence <+33162000000>"}

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if "--json" in args else result.stdout + result.stderr

    return run


@pytest.fixture
def campaign(minibot, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("Prénom;Nom;Téléphone;Société;Code client\nMarie;Durand;06 12 34 56 78;Acme;C-1\n"
                    "Paul;Martin;06 98 76 54 32;Globex;C-2\n", encoding="utf-8")
    cid = minibot("campaign", "create", "printemps", "--scenario", "demo", "--basis", "consent", "--json")["id"]
    minibot("contacts", "import", str(path), "--campaign", str(cid), "--json")
    return cid


def test_list_with_filters(minibot, campaign):
    everyone = minibot("contacts", "list", "--json")
    assert everyone["total"] == 2
    assert minibot("contacts", "list", "--search", "durand", "--json")["contacts"][0]["first_name"] == "Marie"
    assert minibot("contacts", "list", "--search", "06 98 76", "--json")["contacts"][0]["last_name"] == "Martin"
    pending = minibot("contacts", "list", "--campaign", str(campaign), "--status", "pending", "--json")
    assert pending["total"] == 2 and pending["contacts"][0]["campaign_status"] == "PENDING"
    assert minibot("contacts", "list", "--campaign", str(campaign), "--status", "done", "--json")["total"] == 0
    assert minibot("contacts", "list", "--limit", "1", "--offset", "1", "--json")["total"] == 2
    text = minibot("contacts", "list", "--campaign", str(campaign))
    assert "Marie Durand" in text and "à appeler" in text and "2 affiché(s) sur 2" in text
    assert "préciser la campagne" in minibot("contacts", "list", "--status", "DONE", code=2)


def test_show_and_update(minibot, campaign):
    shown = minibot("contacts", "show", "0612345678", "--json")
    assert shown["first_name"] == "Marie" and shown["extra"] == {"Code client": "C-1"}
    assert shown["campaigns"][0]["campaign_id"] == campaign and shown["opted_out"] is False
    text = minibot("contacts", "show", str(shown["id"]))
    assert "Marie Durand" in text and "Code client : C-1" in text and "printemps" in text

    updated = minibot("contacts", "update", "+33612345678", "--email", "marie@exemple.fr", "--timezone",
                      "America/Martinique", "--set", "Code client=C-9", "--set", "Agence=Lyon", "--json")
    assert updated["email"] == "marie@exemple.fr" and updated["timezone"] == "America/Martinique"
    assert updated["extra"] == {"Code client": "C-9", "Agence": "Lyon"}
    cleared = minibot("contacts", "update", str(shown["id"]), "--company", "", "--unset", "Agence", "--json")
    assert cleared["company"] is None and cleared["extra"] == {"Code client": "C-9"}
    assert "fuseau inconnu" in minibot("contacts", "update", str(shown["id"]), "--timezone", "Mars/Base", code=2)
    assert "adresse invalide" in minibot("contacts", "update", str(shown["id"]), "--email", "pas-une-adresse", code=2)
    assert "aucun contact" in minibot("contacts", "show", "0699999999", code=2)


def test_campaign_show(minibot, campaign):
    out = minibot("campaign", "show", str(campaign), "--json")
    assert out["scenario"]["version"] and len(out["scenario"]["version"]) == 12
    assert out["caller_id"] == "Agence <+33162000000>" and out["caller_id_check"]["status"] == "ok"
    assert out["stats"]["contacts"] == 2 and out["webhook"] is None and out["timezone"] == "Europe/Paris"
    text = minibot("campaign", "show", str(campaign))
    for words in ("Campagne", "brouillon", "Scénario : demo (version", "Base légale : consent", "2 à appeler",
                  "Numéro présenté", "tranche de démarchage 01 62", "Contacts : 2", "Webhook : aucun"):
        assert words in text, (words, text)
    assert "campagne 999 introuvable" in minibot("campaign", "show", "999", code=2)
