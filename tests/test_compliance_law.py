"""The French law in force at the dial, each rule on both sides of its boundary: the date the consent
regime began, the consent's validity and scope, the four legal bases, banned sectors, ARCEP's
canvassing ranges, overrides that loosen the decree, opt-outs that revoke consent, the consent ledger's
import, the audit export and the right to erasure. Against a real PostgreSQL; times come from the tests."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.campaign.dialer import Dialer, DialerConfig, _Active
from bot.compliance.audit import export_audit
from bot.compliance.caller_id import check_caller_id
from bot.compliance.campaign import CampaignLaw, check_caller_id_for, check_legal
from bot.compliance.consent import import_consents
from bot.compliance.gate import ComplianceGate
from bot.compliance.law import CONSENT_REGIME_FROM, Regime, regime_at
from bot.store import compliance as store
from bot.store.erasure import forget
from cli.main import app
from tests.dialing import Clock, running_campaign, weekday_morning

PARIS = ZoneInfo("Europe/Paris")
PHONE = "+33612345678"
BEFORE = datetime(2026, 8, 10, 10, 30, tzinfo=PARIS)  # Monday: the last day of the Bloctel regime
AFTER = datetime(2026, 8, 11, 10, 30, tzinfo=PARIS)  # Tuesday: the first day of the consent regime
MONDAY = datetime(2026, 11, 23, 10, 30, tzinfo=PARIS)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


async def campaign(db, **law) -> int:
    columns = ", ".join(["name", "scenario", *law])
    params = ", ".join(f"${i}" for i in range(1, len(law) + 3))
    return await db.pool.fetchval(f"INSERT INTO campaigns ({columns}) VALUES ({params}) RETURNING id",
                                  "c", "demo", *law.values())


async def consent(db, phone: str = PHONE, at: datetime = paris(2026, 1, 5, 12), **scope) -> int:
    return await store.grant_consent(db.pool, phone, source="form", evidence="formulaire", granted_at=at,
                                     method="web_form", wording="J'accepte d'être appelé.", **scope)


# -- the date the law changed -----------------------------------------------------------------------

def test_the_regime_changes_on_11_august_2026_paris_time():
    assert regime_at(BEFORE) is Regime.OPPOSITION and regime_at(AFTER) is Regime.CONSENT
    assert regime_at(CONSENT_REGIME_FROM - timedelta(seconds=1)) is Regime.OPPOSITION
    assert regime_at(CONSENT_REGIME_FROM) is Regime.CONSENT
    assert regime_at(datetime(2026, 8, 10, 22, 0, tzinfo=ZoneInfo("UTC"))) is Regime.CONSENT  # midnight in Paris


async def test_bloctel_before_the_change_consent_after(db, tmp_path):
    from bot.compliance.bloctel import import_bloctel

    (tmp_path / "b.txt").write_text(PHONE + "\n")
    await import_bloctel(db.pool, tmp_path / "b.txt")
    gate = ComplianceGate(db.pool)
    before, after = await gate.check(PHONE, BEFORE), await gate.check(PHONE, AFTER)
    assert (before.reasons, before.details["regime"]) == (["bloctel"], "opposition")
    assert (after.reasons, after.details["regime"]) == (["no_consent"], "consent")
    assert after.details["law_no_consent"] == "L223-1 C. consom. (loi 2025-594)"
    assert after.to_json().keys() == {"allowed", "reasons", "retry_at", "details"}
    assert (await gate.check("+33698765432", BEFORE)).allowed  # not opposed, no consent needed yet


# -- consent: valid at the dial, for this company and purpose ---------------------------------------

async def test_a_consent_counts_from_when_it_was_given_until_it_is_withdrawn(db):
    gate = ComplianceGate(db.pool)
    await consent(db, at=paris(2026, 11, 20, 15, 0))
    assert (await gate.check(PHONE, paris(2026, 11, 20, 14, 59))).reasons == ["no_consent"]
    assert (await gate.check(PHONE, paris(2026, 11, 20, 15, 0))).allowed
    await store.revoke_consent(db.pool, PHONE, at=paris(2026, 11, 24, 12, 0), evidence="courriel")
    assert (await gate.check(PHONE, paris(2026, 11, 24, 11, 59))).allowed
    assert (await gate.check(PHONE, paris(2026, 11, 24, 12, 0))).reasons == ["no_consent"]


async def test_a_consent_covers_its_company_and_purposes_only(db):
    gate = ComplianceGate(db.pool)
    acme_insurance = await campaign(db, legal_basis="consent", advertiser="ACME", purpose="assurance")
    acme_energy = await campaign(db, legal_basis="consent", advertiser="ACME", purpose="energie")
    other = await campaign(db, legal_basis="consent", advertiser="Autre SA", purpose="assurance")
    await consent(db, company="acme", purposes=["assurance"])
    assert (await gate.check(PHONE, MONDAY, campaign_id=acme_insurance)).allowed  # company compared without case
    assert (await gate.check(PHONE, MONDAY, campaign_id=acme_energy)).reasons == ["no_consent"]
    assert (await gate.check(PHONE, MONDAY, campaign_id=other)).reasons == ["no_consent"]
    await consent(db, company="ACME")  # every purpose of ACME
    assert (await gate.check(PHONE, MONDAY, campaign_id=acme_energy)).allowed
    assert (await gate.check(PHONE, MONDAY, campaign_id=other)).reasons == ["no_consent"]


async def test_an_opt_out_on_a_call_revokes_consent_at_once_with_the_words(db):
    await consent(db)
    call = await db.pool.fetchval("INSERT INTO calls (call_uuid, phone) VALUES ('c1', $1) RETURNING id", PHONE)
    await store.record_opt_out(db.pool, PHONE, source="call", evidence="ne m'appelez plus", call_id=call)
    (row,) = await store.list_consents(db.pool, PHONE)
    assert row.revoked_at is not None and row.revoked_evidence == "ne m'appelez plus"
    assert (row.revoked_source, row.revoked_call_id) == ("opt_out:call", call)
    assert await store.list_consents(db.pool, PHONE, active_only=True) == []


# -- the four legal bases ---------------------------------------------------------------------------

async def test_each_basis_asks_its_own_proof(db):
    gate = ComplianceGate(db.pool)
    await db.pool.execute("INSERT INTO contacts (phone, extra) VALUES ($1, '{\"Référence contrat\": \"\"}')", PHONE)
    contract = await campaign(db, legal_basis="contract", contract_subject="entretien de la chaudière")
    b2b = await campaign(db, legal_basis="b2b")
    survey = await campaign(db, legal_basis="not_prospecting", no_sales_declared=True)
    undeclared = await campaign(db, legal_basis="not_prospecting")
    unstated = await campaign(db)  # created before the law's columns: held to consent
    decision = await gate.check(PHONE, MONDAY, campaign_id=contract)
    assert decision.reasons == ["no_contract"] and "contrat en cours" in decision.details["law_no_contract"]
    assert (await gate.check(PHONE, MONDAY, campaign_id=b2b)).reasons == ["no_company"]
    assert (await gate.check(PHONE, MONDAY, campaign_id=survey)).allowed
    assert (await gate.check(PHONE, MONDAY, campaign_id=undeclared)).reasons == ["no_sales_declaration"]
    assert (await gate.check(PHONE, MONDAY, campaign_id=unstated)).reasons == ["no_consent"]

    await db.pool.execute("UPDATE contacts SET company = 'Boulangerie Martin', "
                          "extra = '{\"Référence contrat\": \"CT-2024-118\"}' WHERE phone = $1", PHONE)
    allowed = await gate.check(PHONE, MONDAY, campaign_id=contract)
    assert allowed.allowed and allowed.contract_ref == "CT-2024-118"
    assert "entretien de la chaudière" in allowed.details["contract"]
    assert (await gate.check(PHONE, MONDAY, campaign_id=b2b)).allowed
    assert (await gate.check(PHONE, MONDAY, basis="b2b")).allowed  # as `compliance check --basis b2b` asks
    # A basis named at a check without the declaration is canvassing, the campaign's or none behind it.
    assert (await gate.check(PHONE, MONDAY, basis="not_prospecting")).reasons == ["no_sales_declaration"]
    assert (await gate.check(PHONE, MONDAY, basis="not_prospecting", campaign_id=b2b)).reasons == [
        "no_sales_declaration"]
    assert (await gate.check(PHONE, MONDAY, basis="not_prospecting", no_sales=True)).allowed
    assert (await gate.check(PHONE, MONDAY, basis="not_prospecting", campaign_id=survey)).allowed


def test_creation_requires_a_basis_and_what_it_needs():
    assert "base légale requise" in check_legal(CampaignLaw(), None)[0]
    assert "inconnue" in check_legal(CampaignLaw(legal_basis="opt_out"), None)[0]
    assert check_legal(CampaignLaw(legal_basis="consent"), None) == []
    assert "objet du contrat" in check_legal(CampaignLaw(legal_basis="contract"), None)[0]
    assert check_legal(CampaignLaw(legal_basis="contract", contract_subject="box internet"), None) == []
    assert "--no-sales" in check_legal(CampaignLaw(legal_basis="not_prospecting"), None)[0]
    assert check_legal(CampaignLaw(legal_basis="not_prospecting", no_sales_declared=True), None) == []


# -- banned sectors ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("sector", "basis", "refused"), [
    ("renovation_energetique", "consent", True),
    ("renovation_energetique", "b2b", True),
    ("renovation_energetique", "contract", False),  # within a contract in progress: allowed
    ("adaptation_logement", "consent", True),
    ("adaptation_logement", "contract", False),
    ("formation_cpf", "contract", True),  # no exception for the CPF
    ("assurance", "consent", False),
])
async def test_banned_sectors_at_creation_and_at_every_dial(db, sector, basis, refused):
    law = CampaignLaw(legal_basis=basis, sector=sector, contract_subject="le contrat")
    assert any("démarchage téléphonique interdit" in p for p in check_legal(law, None)) is refused
    await consent(db)
    await db.pool.execute("INSERT INTO contacts (phone, company, extra) VALUES ($1, 'SARL', "
                          "'{\"contrat\": \"CT-1\"}')", PHONE)
    decision = await ComplianceGate(db.pool).check(PHONE, MONDAY, basis=basis, sector=sector)
    assert ("banned_sector" in decision.reasons) is refused


# -- ARCEP's canvassing ranges ----------------------------------------------------------------------

@pytest.mark.parametrize(("number", "ok"), [
    ("01 62 00 00 00", True), ("+33 1 63 99 99 99", True), ("02 70 12 34 56", True), ("0271123456", True),
    ("03 77 00 00 00", True), ("03 78 00 00 00", True), ("04 24 00 00 00", True), ("04 25 00 00 00", True),
    ("05 68 00 00 00", True), ("05 69 00 00 00", True), ("09 48 00 00 00", True), ("09 49 99 99 99", True),
    ("09 47 50 00 00", True), ("09 47 99 99 99", True), ("Agence <+33162000001>", True),
    ("01 61 99 99 99", False), ("01 64 00 00 00", False), ("09 47 49 99 99", False), ("09 50 00 00 00", False),
    ("06 12 34 56 78", False), ("07 12 34 56 78", False), ("01 44 00 00 00", False), ("+32 2 123 45 67", False),
    (None, False), ("anonymous", False), ("", False),
])
def test_canvassing_ranges(number, ok):
    assert check_caller_id(number).ok is ok


def test_prospecting_is_refused_other_bases_are_warned():
    refused = check_caller_id_for(CampaignLaw(legal_basis="consent", caller_id="06 12 34 56 78"), None)
    assert refused.refusals and "mobile" in refused.refusals[0] and "ARCEP" in refused.refusals[0]
    assert check_caller_id_for(CampaignLaw(legal_basis="b2b"), None).refusals  # withheld
    assert not check_caller_id_for(CampaignLaw(legal_basis="b2b"), "+33948000000").refusals  # the settings' number
    warned = check_caller_id_for(CampaignLaw(legal_basis="not_prospecting", caller_id="01 44 00 00 00"), None)
    assert not warned.refusals and warned.warnings
    contract = check_caller_id_for(CampaignLaw(legal_basis="contract"), None)
    assert not contract.refusals and contract.warnings


# -- overrides that loosen the decree ---------------------------------------------------------------

@pytest.mark.parametrize(("compliance", "loosens"), [
    ({"frequency_cap_attempts": 4}, False), ({"frequency_cap_attempts": 5}, True),
    ({"frequency_cap_attempts": 3}, False), ({"frequency_cap_attempts": 0}, True),
    ({"frequency_cap_days": 30}, False), ({"frequency_cap_days": 29}, True),
    ({"refusal_cooloff_days": 60}, False), ({"refusal_cooloff_days": 59}, True),
    ({"hours": {"windows": [["10:00", "13:00"]]}}, False), ({"hours": {"windows": [["09:59", "13:00"]]}}, True),
    ({"hours": {"weekdays": [0, 1, 2, 3, 4, 5]}}, True), ({"hours": {"holiday_country": None}}, True),
])
def test_overrides_that_loosen_need_a_legal_ground(compliance, loosens):
    problems = check_legal(CampaignLaw(legal_basis="consent"), compliance)
    assert bool(problems) is loosens
    assert check_legal(CampaignLaw(legal_basis="consent", legal_ground="accord écrit"), compliance) == []


async def test_wider_hours_apply_only_to_who_consented_to_them(db):
    evening = paris(2026, 11, 23, 20, 30)
    wide = await campaign(db, legal_basis="consent", legal_ground="consentement aux appels hors horaires",
                          compliance=json.dumps({"hours": {"windows": [["09:00", "21:00"]]}}))
    gate = ComplianceGate(db.pool)
    await consent(db)
    decision = await gate.check(PHONE, evening, campaign_id=wide)
    assert decision.reasons == ["outside_hours"] and "hors horaires" in decision.details["french_floor"]
    assert (await gate.check(PHONE, paris(2026, 11, 23, 19, 59), campaign_id=wide)).allowed
    await consent(db, outside_hours=True)
    decision = await gate.check(PHONE, evening, campaign_id=wide)
    assert decision.allowed and "hors horaires" in decision.details["outside_hours_consent"]
    assert (await gate.check(PHONE, paris(2026, 11, 23, 21, 0), campaign_id=wide)).reasons == ["outside_hours"]


# -- the ledger's file import -----------------------------------------------------------------------

async def test_consents_import_from_a_french_spreadsheet_with_a_report(db, tmp_path):
    path = tmp_path / "consentements.csv"
    path.write_text(
        "Téléphone;Date du consentement;Mode;Pour le compte de;Finalités;Texte accepté;Preuve;Hors horaires\n"
        "06 12 34 56 78;05/01/2026 14:30;formulaire web;ACME;assurance, energie;J'accepte.;form-1;non\n"
        "06 98 76 54 32;2026-01-06T09:00;papier;ACME;assurance;Bon pour accord.;scan-2.pdf;oui\n"
        "12;05/01/2026;papier;ACME;;J'accepte.;;\n"
        "06 11 11 11 11;hier;papier;ACME;;J'accepte.;;\n"
        "06 22 22 22 22;05/01/2026;pigeon;ACME;;J'accepte.;;\n"
        "06 33 33 33 33;05/01/2026;papier;ACME;;;;\n", encoding="cp1252")
    report = await import_consents(db, path)
    assert (report.lines, report.imported) == (6, 2)
    assert [(bad.line, bad.reason.split(":")[0].split(" ")[0]) for bad in report.invalid] == [
        (4, "téléphone"), (5, "date"), (6, "mode"), (7, "texte")]
    first, second = await store.list_consents(db.pool)
    assert (first.phone, first.granted_at, first.method, first.purposes) == (
        PHONE, paris(2026, 1, 5, 14, 30), "web_form", ["assurance", "energie"])
    assert (second.method, second.outside_hours, second.proof_ref) == ("paper", True, "scan-2.pdf")
    assert first.evidence == "consentements.csv, ligne 2"


def test_consent_commands(database_url, tmp_path):
    runner = CliRunner()

    def minibot(*args):
        return runner.invoke(app, list(args), env={"DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path)})

    added = minibot("compliance", "consent", "add", "06 12 34 56 78", "--evidence", "formulaire du 5 janvier",
                    "--at", "2026-01-05T14:30", "--scope", "company=ACME;purposes=assurance,energie",
                    "--method", "formulaire web", "--wording", "J'accepte.", "--proof", "form-1")
    assert added.exit_code == 0, added.output
    listed = json.loads(minibot("compliance", "consent", "list", "--json").stdout)["consents"]
    assert [(c["company"], c["purposes"], c["method"], c["proof_ref"]) for c in listed] == [
        ("ACME", ["assurance", "energie"], "web_form", "form-1")]
    check = ("compliance", "check", "--phone", PHONE, "--at", "2026-11-23T10:30", "--json")
    assert minibot(*check).exit_code == 0
    sector = json.loads(minibot(*check, "--sector", "formation_cpf").stdout)
    assert sector["reasons"] == ["banned_sector"] and "L6323-8-1" in sector["details"]["law_banned_sector"]
    assert minibot(*check, "--basis", "troc").exit_code == 2
    # Outside canvassing only when declared so: never taken as given without a campaign's declaration.
    undeclared = minibot(*check, "--basis", "not_prospecting")
    assert undeclared.exit_code == 2 and "--no-sales" in undeclared.output and "L223-1" in undeclared.output
    assert json.loads(minibot(*check, "--basis", "not_prospecting", "--no-sales").stdout)["allowed"]
    assert minibot("compliance", "consent", "add", PHONE, "--evidence", "x", "--scope", "pays=FR").exit_code == 2
    revoked = minibot("compliance", "consent", "revoke", PHONE, "--at", "2026-11-20T09:00", "--evidence", "lettre")
    assert revoked.exit_code == 0 and json.loads(minibot(*check).stdout)["reasons"] == ["no_consent"]

    created = minibot("campaign", "create", "a", "--scenario", "demo", "--basis", "b2b", "--json")
    out = tmp_path / "audit.json"
    audited = minibot("compliance", "audit", str(json.loads(created.stdout)["id"]), "--format", "json", "-o", str(out))
    assert audited.exit_code == 0, audited.output
    assert json.loads(out.read_text())["campagne"]["base_legale"] == "b2b"
    assert minibot("compliance", "audit", "999", "--format", "json").exit_code == 2
    assert minibot("compliance", "audit", "1", "--format", "pdf").exit_code == 2

    forgotten = minibot("contacts", "forget", "06 12 34 56 78", "--json", "--recordings-dir", str(tmp_path))
    assert forgotten.exit_code == 0, forgotten.output
    assert json.loads(forgotten.stdout)["consents"] == 1 and json.loads(forgotten.stdout)["opt_out_added"]
    listed = json.loads(minibot("compliance", "consent", "list", "--json").stdout)["consents"]
    assert listed == [] and json.loads(minibot(*check).stdout)["reasons"] == ["opt_out", "no_consent"]


# -- the audit and the right to erasure -------------------------------------------------------------

class _Phone:
    """Answers, hears the AI disclosure to its end 2.5 s later, then the callee opts out."""

    def __init__(self) -> None:
        self.presented: list[str | None] = []

    async def __call__(self, phone, conversation, *, call_id, on_answer=None, caller_id=None):
        from bot.call.call import CallRecord, Utterance
        from bot.call.outcome import Outcome

        self.presented.append(caller_id)
        record = CallRecord(call_id, "outbound", phone, outcome=Outcome.ANSWERED)
        record.answered_at = record.timeline.started + 1.0
        record.disclosure_done_at = record.answered_at + 2.5
        record.ended_at = record.answered_at + 6.0
        record.result = "OPTED_OUT"
        record.utterances.append(Utterance("caller", "ne m'appelez plus", 0.0))
        return record


async def _no_conversation(due):
    return None


async def test_the_audit_answers_why_each_number_was_dialled(db, tmp_path):
    from tests.dialing import phones

    consented, unknown = phones(2)
    cid = await running_campaign(db, [consented, unknown], calls_per_second=1000)
    await db.pool.execute("DELETE FROM consents WHERE phone = $1", unknown)
    dialer = Dialer(db, _Phone(), _no_conversation, DialerConfig(poll_interval=0.02), clock=Clock(weekday_morning()))
    due = await dialer.claim()
    assert due is not None and due.phone == consented
    assert await dialer.claim() is None  # the one without consent is refused for good
    await dialer._dial(_Active(due))
    call = await db.pool.fetchrow("SELECT caller_id, disclosure_done_ms FROM calls WHERE phone = $1", consented)
    assert (call["caller_id"], call["disclosure_done_ms"]) == ("+33162000000", 2500)
    for fmt in ("json", "csv", "xlsx"):
        assert await export_audit(db.pool, cid, fmt, tmp_path / f"audit.{fmt}") == 2
    audit = json.loads((tmp_path / "audit.json").read_text())
    assert audit["campagne"]["base_legale"] == "consent" and audit["campagne"]["numero_presente"] == "+33162000000"
    allowed, refused = audit["decisions"]
    assert (allowed["numero"], allowed["autorise"], allowed["consentement_mode"]) == (consented, True, "web_form")
    assert allowed["consentement_texte"] == "J'accepte d'être appelé." and allowed["numero_presente"] == "+33162000000"
    assert allowed["resultat"] == "OPTED_OUT" and allowed["opposition_paroles"] is not None
    assert allowed["mention_ia_entendue_ms"] == 2500 and refused["mention_ia_entendue_ms"] is None
    assert (refused["numero"], refused["autorise"], refused["motifs"]) == (unknown, False, ["no_consent"])
    assert refused["textes_appliques"] == ["L223-1 C. consom. (loi 2025-594)"]
    (opposition,) = audit["oppositions"]
    assert (opposition["numero"], opposition["paroles"]) == (consented, "ne m'appelez plus")
    # The CSV alone is complete: the campaign, each decision with its dial, each opposition with its words.
    with (tmp_path / "audit.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert [(r["nature"], r["numero"]) for r in rows] == [
        ("campagne", ""), ("decision", consented), ("decision", unknown), ("opposition", consented)]
    head, dialled, not_dialled, opted_out = rows
    assert (head["campagne"], head["base_legale"], head["numero_presente"]) == (str(cid), "consent", "+33162000000")
    assert json.loads(head["details"])["mention_ia"].startswith("obligatoire")
    assert (dialled["autorise"], dialled["numero_presente"], dialled["mention_ia_entendue_ms"]) == (
        "oui", "+33162000000", "2500")
    assert dialled["appel"] and dialled["opposition_paroles"] == "ne m'appelez plus"
    assert (not_dialled["autorise"], not_dialled["motifs"], not_dialled["appel"]) == ("non", "no_consent", "")
    assert (opted_out["opposition_paroles"], opted_out["appel"]) == ("ne m'appelez plus", dialled["appel"])
    assert opted_out["opposition_source"] and opted_out["opposition_le"] == opted_out["horodatage"]
    book = load_workbook(tmp_path / "audit.xlsx", read_only=True)
    assert book.sheetnames == ["campagne", "decisions", "oppositions"]
    book.close()


async def test_a_call_stores_the_caller_id_it_presented(db):
    """A campaign without its own number presents the dial settings' one: the call row says which."""
    from tests.dialing import phones

    (phone,) = phones(1)
    cid = await running_campaign(db, [phone], calls_per_second=1000)
    await db.pool.execute("UPDATE campaigns SET caller_id = NULL WHERE id = $1", cid)
    presented = _Phone()
    config = DialerConfig(poll_interval=0.02, caller_id="Agence <+33162000001>")
    dialer = Dialer(db, presented, _no_conversation, config, clock=Clock(weekday_morning()))
    due = await dialer.claim()
    await dialer._dial(_Active(due))
    assert presented.presented == [None]  # the controller presents its own default: the same settings
    assert await db.pool.fetchval("SELECT caller_id FROM calls WHERE campaign_id = $1", cid) == "Agence <+33162000001>"
    assert await db.pool.fetchval("SELECT caller_id FROM gate_decisions WHERE campaign_id = $1",
                                  cid) == "Agence <+33162000001>"


async def test_forget_keeps_only_the_opt_out(db, tmp_path):
    await db.pool.execute("INSERT INTO contacts (phone, first_name) VALUES ($1, 'Jeanne')", PHONE)
    await consent(db)
    recording = tmp_path / "rec" / "minibot-c1.wav"
    recording.parent.mkdir()
    recording.write_bytes(b"RIFF")
    call = await db.pool.fetchval("INSERT INTO calls (call_uuid, phone, recording_path, transcript) "
                                  "VALUES ('c1', $1, 'minibot-c1', '[{\"speaker\": \"caller\", \"text\": \"non\"}]') "
                                  "RETURNING id", PHONE)
    await store.record_opt_out(db.pool, PHONE, source="call", evidence="ne m'appelez plus", call_id=call)
    await db.pool.execute("INSERT INTO contacts (phone) VALUES ('+33698765432')")
    report = await forget(db.pool, PHONE, recordings_dir=tmp_path / "rec")
    assert (report.contacts, report.calls, report.recordings_deleted, report.consents) == (1, 1, 1, 1)
    assert not recording.exists() and report.opt_outs_kept == 1 and not report.opt_out_added
    assert await db.pool.fetchval("SELECT count(*) FROM contacts") == 1  # the other person stays
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 0
    (kept,) = await store.list_opt_outs(db.pool, PHONE)
    assert (kept.evidence, kept.call_id) == ("ne m'appelez plus", None)
    assert (await ComplianceGate(db.pool).check(PHONE, MONDAY)).reasons[0] == "opt_out"
    again = await forget(db.pool, "+33698765432", recordings_dir=tmp_path / "rec")
    assert again.opt_out_added  # forgotten people are not canvassed again


def test_the_api_takes_and_returns_every_legal_field_the_store_keeps():
    """One list of the campaign's legal columns (CampaignLaw); the API's models are checked against it,
    so a new legal field cannot be stored but never settable or shown."""
    import typing

    from bot.compliance.campaign import LEGAL_FIELDS
    from bot.compliance.law import Basis
    from bot.web.routes.campaigns import CampaignCreate, CampaignOut

    assert set(LEGAL_FIELDS) <= set(CampaignCreate.model_fields) and set(LEGAL_FIELDS) <= set(CampaignOut.model_fields)
    assert set(typing.get_args(CampaignCreate.model_fields["legal_basis"].annotation)) == {b.value for b in Basis}
