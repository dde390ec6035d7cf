"""Bad input that crashed or misled (issue 15): each gets a clear answer that names what and where."""

from __future__ import annotations

import asyncio
import logging

from tests.test_api import KEY, Api, api, insert_call  # noqa: F401 - the API fixture, shared

assert KEY and Api


async def test_an_api_export_logs_one_access_line_and_no_error(api, db, caplog):  # noqa: F811
    cid = (await api.campaign())["id"]
    await insert_call(db.pool, "exp-1", "+33612345678", campaign_id=cid, status="ENDED", outcome="completed")
    caplog.set_level(logging.INFO)
    caplog.clear()
    async with api.s.get(f"/api/campaigns/{cid}/export?format=csv") as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) == len(await resp.read())
    async with asyncio.timeout(5):  # the server logs once the answer is sent: the client may read it first
        while not (access := [r.getMessage() for r in caplog.records if r.name == "bot.web.access"]):  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # log records: nothing to wait on
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert len(access) == 1 and access[0].startswith(f"GET /api/campaigns/{cid}/export 200")


# -- contact files ----------------------------------------------------------------------------------

async def test_a_nul_byte_is_found_by_the_dry_run_with_its_line_and_the_import_keeps_the_rest(db, tmp_path):
    from bot.contacts.importer import import_contacts

    path = tmp_path / "nul.csv"
    path.write_bytes(b"telephone;prenom\n0612345678;Zo\x00e\n0612345679;Luc\n")
    dry = await import_contacts(db, path, dry_run=True)
    assert [(i.line, "NUL" in i.reason) for i in dry.invalid] == [(2, True)] and dry.imported == 1
    done = await import_contacts(db, path)
    assert done.imported == 1 and [i.line for i in done.invalid] == [2]
    assert await db.pool.fetchval("SELECT first_name FROM contacts") == "Luc"


async def test_the_api_answers_a_nul_byte_with_the_line_not_a_500(api):  # noqa: F811
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("file", b"telephone;prenom\n0612345678;Zo\x00e\n", filename="nul.csv", content_type="text/csv")
    async with api.s.post("/api/contacts/import", data=form) as resp:
        body = await resp.json()
        assert resp.status < 500, body
    assert body["invalid"][0]["line"] == 2 and "NUL" in body["invalid"][0]["reason"]


async def test_a_bad_email_is_dropped_with_a_warning_and_extra_cells_are_reported(db, tmp_path):
    from bot.contacts.importer import import_contacts

    path = tmp_path / "c.csv"
    path.write_text("telephone;prenom;email\n0612345678;Jérôme;jerome@@example\n"
                    "0612345679;Luc;luc@example.fr;en trop\n", encoding="utf-8")
    report = await import_contacts(db, path)
    assert report.imported == 2 and report.invalid == []
    assert [(w.line, w.reason.split(":")[0]) for w in report.warnings] == [(2, "email "), (3, "4 cellules pour 3 "
                                                                                              "en-têtes ")]
    assert "jerome@@example" in report.warnings[0].reason
    stored = dict(await db.pool.fetch("SELECT first_name, email FROM contacts"))
    assert stored == {"Jérôme": None, "Luc": "luc@example.fr"}
    assert report.to_json()["warnings"][0]["line"] == 2


# -- scenario files ---------------------------------------------------------------------------------

def _demo_copy(tmp_path):
    import shutil

    from bot.dialog.scenario.authoring import SCENARIOS_DIR

    for item in SCENARIOS_DIR.iterdir():  # audio and other files the scenario names sit beside it
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name, dirs_exist_ok=True)
    return (SCENARIOS_DIR / "demo.yaml").read_text(encoding="utf-8")


def test_a_scenario_saved_in_windows_ansi_is_read(tmp_path):
    from bot.dialog.scenario.loader import load_scenario

    text = _demo_copy(tmp_path)
    path = tmp_path / "demo.yaml"
    path.write_bytes(text.encode("cp1252"))
    assert load_scenario(path).title == "Démonstration courte"


def test_the_scenario_commands_say_what_is_wrong_without_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from cli import scenario as scenario_cli

    path = tmp_path / "broken.yaml"
    path.write_bytes("name: x\ntitle: caf\xe9\n".encode("cp1252") + b"\x81\x8d\n")  # neither UTF-8 nor cp1252
    result = CliRunner().invoke(scenario_cli.scenario_app, ["validate", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"{path}:2" in result.output and "UTF-8" in result.output


def test_a_key_given_twice_is_reported_with_its_line(tmp_path):
    import pytest

    from bot.dialog.scenario.loader import ScenarioInvalid, load_scenario

    text = _demo_copy(tmp_path)
    path = tmp_path / "twice.yaml"
    path.write_text(text.rstrip("\n") + "\ntitle: autre\n", encoding="utf-8")
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path)
    [problem] = caught.value.problems  # alone: not the cascade a replaced key leads to
    assert problem.line == len(text.rstrip("\n").splitlines()) + 1
    assert "title : clé donnée deux fois (la première à la ligne" in problem.message


# -- a campaign's variables -------------------------------------------------------------------------

async def test_start_refuses_variables_no_contact_provides_and_map_fills_them(db, tmp_path):
    import pytest

    from bot.campaign import control
    from bot.campaign.control import CampaignNotReady
    from bot.contacts.headers import parse_map
    from bot.contacts.importer import import_contacts

    campaign = await control.new_campaign(db, "rdv", "or_rendez_vous", legal_basis="not_prospecting",
                                          no_sales_declared=True)
    path = tmp_path / "c.csv"
    path.write_text("telephone;prenom;Créneau;Autre\n0612345678;Zoé;mardi 10 h;jeudi 14 h\n0612345679;Luc;;\n",
                    encoding="utf-8")
    await import_contacts(db, path, campaign_id=campaign.id)
    with pytest.raises(CampaignNotReady) as refused:
        await control.start(db, campaign.id)
    text = str(refused.value)
    assert "{{slot_1}}" in text and "{{slot_2}}" in text and "2 contact(s)" in text
    assert "0612345678" not in text and "+33612345678" not in text  # numbers masked

    second = await control.new_campaign(db, "rdv2", "or_rendez_vous", legal_basis="not_prospecting",
                                        no_sales_declared=True)
    other = tmp_path / "d.csv"
    other.write_text(path.read_text(encoding="utf-8").replace("061234567", "069876543"), encoding="utf-8")
    mapping = parse_map(["Créneau=slot_1", "Autre=slot_2"])
    report = await import_contacts(db, other, campaign_id=second.id, mapping=mapping)
    assert report.columns["Créneau"] == "slot_1"
    with pytest.raises(CampaignNotReady) as refused:  # Luc's cells are empty
        await control.start(db, second.id)
    assert "1 contact(s)" in str(refused.value)


# -- what a campaign runs ---------------------------------------------------------------------------

async def test_a_campaign_runs_the_scenario_stored_at_start_wherever_its_file_went(db, tmp_path, monkeypatch):
    from bot.campaign import control
    from bot.campaign.conversations import CampaignConversations
    from bot.dialog.scenario.authoring import SCENARIOS_DIR
    from bot.store import attempts as q
    from tests.dialing import weekday_morning

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mine.yaml").write_text((SCENARIOS_DIR / "demo.yaml").read_text(encoding="utf-8"),
                                                encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    campaign = await control.new_campaign(db, "relative", "sub/mine.yaml", legal_basis="not_prospecting",
                                          no_sales_declared=True)
    assert campaign.scenario == str(tmp_path / "sub" / "mine.yaml")  # not relative to where it was typed
    kid = await db.pool.fetchval("INSERT INTO contacts (phone, first_name) VALUES ('+33612345678', 'Zoé') RETURNING id")
    await db.pool.execute("INSERT INTO campaign_contacts (campaign_id, contact_id) VALUES ($1, $2)", campaign.id, kid)
    await db.pool.execute("INSERT INTO attempts (campaign_id, contact_id, due_at) VALUES ($1, $2, '-infinity')",
                          campaign.id, kid)
    await control.start(db, campaign.id)
    stored = await db.pool.fetchrow("SELECT scenario_yaml, scenario_version FROM campaigns WHERE id = $1", campaign.id)
    assert "Démonstration courte" in stored["scenario_yaml"] and len(stored["scenario_version"]) == 12

    (tmp_path / "sub" / "mine.yaml").write_text("title: changed midway\n", encoding="utf-8")  # edited, then gone
    (tmp_path / "sub" / "mine.yaml").unlink()
    await db.pool.execute("UPDATE campaigns SET next_dial_at = '-infinity' WHERE id = $1", campaign.id)
    async with db.pool.acquire() as conn, conn.transaction():
        due = await q.next_due(conn, weekday_morning())
    conversation = await CampaignConversations(None, None, embeddings=False)(due)
    assert conversation.brain.scenario.title == "Démonstration courte"


async def test_reimporting_a_corrected_file_updates_the_stored_contacts_with_a_report(db, tmp_path):
    from bot.contacts.headers import parse_map
    from bot.contacts.importer import import_contacts

    path = tmp_path / "c.csv"
    path.write_text("telephone;prenom\n0612345678;Zoe\n0612345679;Luc\n", encoding="utf-8")
    await import_contacts(db, path)
    path.write_text("telephone;prenom;Créneau\n0612345678;Zoé;mardi 10 h\n0612345679;;\n", encoding="utf-8")
    dry = await import_contacts(db, path, dry_run=True, mapping=parse_map(["Créneau=slot_1"]))
    assert [(u.line, u.changes) for u in dry.updated] == [
        (2, {"first_name": ["Zoe", "Zoé"], "extra.slot_1": [None, "mardi 10 h"]})]
    assert await db.pool.fetchval("SELECT first_name FROM contacts WHERE phone = '+33612345678'") == "Zoe"
    done = await import_contacts(db, path, mapping=parse_map(["Créneau=slot_1"]))
    assert done.to_json()["updated"][0]["contact_id"] == dry.updated[0].contact_id
    rows = {r["phone"]: r for r in await db.pool.fetch("SELECT phone, first_name, extra FROM contacts")}
    assert rows["+33612345678"]["first_name"] == "Zoé" and '"slot_1": "mardi 10 h"' in rows["+33612345678"]["extra"]
    assert rows["+33612345679"]["first_name"] == "Luc"  # a blank cell erases nothing


async def test_an_edited_scenario_reaches_a_started_campaign_only_when_the_operator_reloads_it(db, tmp_path):
    import pytest

    from bot.campaign import control
    from bot.campaign.control import CampaignNotReady
    from bot.dialog.scenario.authoring import SCENARIOS_DIR

    path = tmp_path / "mine.yaml"
    text = (SCENARIOS_DIR / "demo.yaml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    campaign = await control.new_campaign(db, "rechargée", str(path), legal_basis="not_prospecting",
                                          no_sales_declared=True)
    with pytest.raises(CampaignNotReady, match="brouillon"):  # nothing stored yet: the start reads the file
        await control.reload_scenario(db, campaign.id)
    kid = await db.pool.fetchval("INSERT INTO contacts (phone, first_name) VALUES ('+33612345678', 'Zoé') RETURNING id")
    await db.pool.execute("INSERT INTO campaign_contacts (campaign_id, contact_id) VALUES ($1, $2)", campaign.id, kid)
    await control.start(db, campaign.id)
    first = await db.pool.fetchval("SELECT scenario_version FROM campaigns WHERE id = $1", campaign.id)

    path.write_text(text.replace("Démonstration courte", "Démonstration revue"), encoding="utf-8")
    stored = await db.pool.fetchrow("SELECT scenario_yaml, scenario_version FROM campaigns WHERE id = $1", campaign.id)
    assert stored["scenario_version"] == first and "Démonstration courte" in stored["scenario_yaml"]  # not mid-way

    old, new = await control.reload_scenario(db, campaign.id)
    assert old == first and new != first
    stored = await db.pool.fetchrow("SELECT scenario_yaml, scenario_version FROM campaigns WHERE id = $1", campaign.id)
    assert stored["scenario_version"] == new and "Démonstration revue" in stored["scenario_yaml"]

    path.write_text("steps: [\n", encoding="utf-8")  # broken: refused, the stored version stays
    with pytest.raises(CampaignNotReady, match="mine.yaml"):
        await control.reload_scenario(db, campaign.id)
    assert await db.pool.fetchval("SELECT scenario_version FROM campaigns WHERE id = $1", campaign.id) == new
