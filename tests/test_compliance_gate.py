"""The compliance gate against a real PostgreSQL: every reason alone and together, the frequency
cap and the cool-off with the calls they count, the registers (opt-outs, blacklist, Bloctel,
consents), the contact's time zone, campaign overrides, and `minibot compliance`."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from typer.testing import CliRunner

from bot.compliance.bloctel import BloctelError, bloctel_list_age, import_bloctel, parse_bloctel
from bot.compliance.gate import REASONS, ComplianceGate
from bot.compliance.rules import ComplianceRules
from bot.store import compliance as store
from cli.compliance import compliance_app

PARIS = ZoneInfo("Europe/Paris")
PHONE = "+33612345678"
OTHER = "+33698765432"
MONDAY = datetime(2026, 11, 23, 10, 30, tzinfo=PARIS)  # an ordinary working Monday morning
_uuids = itertools.count(1)


JUNE = datetime(2026, 6, 15, 10, 30, tzinfo=PARIS)  # a working Monday under the opposition (Bloctel) regime
BE = "+32470123456"


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


async def consent(db, phone: str, at: datetime | None = None, **scope) -> int:
    return await store.grant_consent(db.pool, phone, source="form", evidence="formulaire de test",
                                     granted_at=at or paris(2026, 1, 5, 12, 0), method="web_form",
                                     wording="J'accepte d'être appelé par téléphone.", **scope)


@pytest.fixture
async def db(db):
    """Since 11 August 2026 a consumer is called only with a prior consent (L223-1 C. consom.): the two
    numbers have one, given on 5 January 2026 to the operator, so each test sees only the rule it is about."""
    for phone in (PHONE, OTHER):
        await consent(db, phone)
    return db


async def add_call(db, at: datetime, *, phone: str = PHONE, result: str | None = None,
                   direction: str = "outbound") -> None:
    await db.pool.execute("INSERT INTO calls (call_uuid, phone, created_at, result, direction) "
                          "VALUES ($1, $2, $3, $4, $5)", f"call-{next(_uuids)}", phone, at, result, direction)


async def add_campaign(db, compliance: dict | None = None) -> int:
    return await db.pool.fetchval("INSERT INTO campaigns (name, scenario, compliance) VALUES ('c', 'demo', $1::jsonb) "
                                  "RETURNING id", json.dumps(compliance or {}))


async def minimal_retry(gate: ComplianceGate, decision, **kwargs) -> None:
    """retry_at is allowed, and a minute earlier is not: the earliest time, not just a later one."""
    assert decision.retry_at is not None
    assert (await gate.check(PHONE, decision.retry_at, **kwargs)).allowed
    assert not (await gate.check(PHONE, decision.retry_at - timedelta(minutes=1), **kwargs)).allowed


# -- calling hours ----------------------------------------------------------------------------------

async def test_an_ordinary_number_on_a_working_morning_is_allowed(db):
    decision = await ComplianceGate(db.pool).check(PHONE, MONDAY)
    assert (decision.allowed, decision.reasons, decision.retry_at) == (True, [], None)
    assert decision.details["timezone"] == "Europe/Paris"
    assert (decision.details["regime"], decision.details["legal_basis"]) == ("consent", "consent")
    assert decision.details["consent"].startswith("#") and decision.consent_id is not None
    assert "bloctel_warning" not in decision.details  # the Bloctel regime ended on 11 August 2026
    assert "aucune liste Bloctel" in (await ComplianceGate(db.pool).check(PHONE, JUNE)).details["bloctel_warning"]
    assert decision.to_json() == {"allowed": True, "reasons": [], "retry_at": None, "details": decision.details}


@pytest.mark.parametrize(
    ("at", "reasons", "retry_at"),
    [
        (paris(2026, 11, 23, 9, 0), ["outside_hours"], paris(2026, 11, 23, 10, 0)),
        (paris(2026, 11, 23, 13, 15), ["outside_hours"], paris(2026, 11, 23, 14, 0)),  # lunch break
        (paris(2026, 11, 28, 11, 0), ["weekend"], paris(2026, 11, 30, 10, 0)),  # Saturday
        (paris(2026, 7, 14, 11, 0), ["public_holiday"], paris(2026, 7, 15, 10, 0)),  # a Tuesday, National Day
        (paris(2026, 11, 1, 21, 0), ["outside_hours", "weekend", "public_holiday"], paris(2026, 11, 2, 10, 0)),
    ],
)
async def test_calling_hours_reasons_and_when_they_clear(db, at, reasons, retry_at):
    decision = await ComplianceGate(db.pool).check(PHONE, at)
    assert (decision.allowed, decision.reasons, decision.retry_at) == (False, reasons, retry_at)


async def test_the_contacts_time_zone_decides(db):
    await db.pool.execute("INSERT INTO contacts (phone, timezone) VALUES ($1, 'Europe/London')", PHONE)
    decision = await ComplianceGate(db.pool).check(PHONE, MONDAY)  # 10:30 in Paris is 09:30 in London
    assert decision.reasons == ["outside_hours"]
    assert decision.details["timezone"] == "Europe/London"
    assert decision.retry_at == datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    assert decision.retry_at == paris(2026, 11, 23, 11, 0)
    assert (await ComplianceGate(db.pool).check(OTHER, MONDAY)).allowed  # no contact row: the rules' zone


async def test_a_broken_contact_time_zone_falls_back_to_the_rules(db):
    await db.pool.execute("INSERT INTO contacts (phone, timezone) VALUES ($1, 'Mars/Olympus')", PHONE)
    decision = await ComplianceGate(db.pool).check(PHONE, MONDAY)
    assert decision.allowed
    assert "Mars/Olympus" in decision.details["contact_timezone"]


# -- frequency cap ----------------------------------------------------------------------------------

async def test_the_fifth_dial_in_30_days_is_refused_until_the_oldest_ages_out(db):
    gate = ComplianceGate(db.pool)
    oldest = paris(2026, 10, 26, 11, 0)
    for week in range(4):  # four Mondays, answered or not: every dial counts
        await add_call(db, oldest + timedelta(weeks=week), result="NO_ANSWER" if week % 2 else None)
    assert await store.attempts_since(db.pool, PHONE, MONDAY - timedelta(days=30)) == 4
    decision = await gate.check(PHONE, MONDAY)
    assert (decision.allowed, decision.reasons) == (False, ["frequency_cap"])
    assert decision.retry_at == oldest + timedelta(days=30) == paris(2026, 11, 25, 11, 0)  # within the hours
    assert decision.details["frequency_cap_frees_at"] == "2026-11-25T11:00+01:00"
    await minimal_retry(gate, decision)
    assert (await gate.check(OTHER, MONDAY)).allowed  # counted per number


async def test_the_cap_frees_outside_hours_so_retry_waits_for_the_next_window(db):
    gate = ComplianceGate(db.pool)
    oldest = paris(2026, 10, 31, 13, 30)  # frees on Monday 30 November at 13:30: the lunch break
    for at in (oldest, paris(2026, 11, 2, 11), paris(2026, 11, 9, 11), paris(2026, 11, 16, 11)):
        await add_call(db, at)
    decision = await gate.check(PHONE, paris(2026, 11, 27, 10, 30))
    assert decision.reasons == ["frequency_cap"]
    assert decision.retry_at == paris(2026, 11, 30, 14, 0)
    await minimal_retry(gate, decision)


async def test_inbound_calls_do_not_count_towards_the_cap(db):
    for week in range(3):
        await add_call(db, paris(2026, 11, 2, 11) + timedelta(weeks=week))
    await add_call(db, paris(2026, 11, 20, 11), direction="inbound")
    assert (await ComplianceGate(db.pool).check(PHONE, MONDAY)).allowed
    assert len(await store.attempt_times_since(db.pool, PHONE, MONDAY - timedelta(days=30))) == 3


# -- refusal cool-off ------------------------------------------------------------------------------

async def test_60_days_of_rest_after_not_interested(db):
    gate = ComplianceGate(db.pool)
    refused = paris(2026, 10, 1, 11, 0)
    await add_call(db, refused, result="NOT_INTERESTED")
    await add_call(db, paris(2026, 10, 2, 11, 0), result="QUALIFIED", phone=OTHER)  # not a refusal
    assert await store.last_refusal(db.pool, PHONE, ["NOT_INTERESTED"]) == refused
    decision = await gate.check(PHONE, MONDAY)
    assert (decision.allowed, decision.reasons) == (False, ["refusal_cooloff"])
    # 60 days of 24 hours: the clocks went back on 25 October, so 11:00 summer time gives 10:00 winter time.
    assert decision.retry_at == refused.astimezone(UTC) + timedelta(days=60) == paris(2026, 11, 30, 10, 0)
    await minimal_retry(gate, decision)
    assert (await gate.check(OTHER, MONDAY)).allowed
    campaign = await add_campaign(db, {"refusal_cooloff_days": 30})
    held = await gate.check(PHONE, MONDAY, campaign_id=campaign)  # laxer than the decree, with no legal ground
    assert held.reasons == ["refusal_cooloff"] and "décret appliqués" in held.details["french_floor"]
    await db.pool.execute("UPDATE campaigns SET legal_ground = 'accord écrit du client' WHERE id = $1", campaign)
    assert (await gate.check(PHONE, MONDAY, campaign_id=campaign)).allowed


async def test_retry_at_clears_every_temporary_reason_at_once(db):
    gate = ComplianceGate(db.pool)
    # Refused on Tuesday 29 September at 13:00 (rest ends Saturday 28 November 12:00), and four dials
    # since 30 October 19:00 (the cap frees Sunday 29 November 19:00): Monday 30 November 10:00.
    await add_call(db, paris(2026, 9, 29, 13, 0), result="NOT_INTERESTED")
    for at in (paris(2026, 10, 30, 19), paris(2026, 11, 2, 11), paris(2026, 11, 9, 11), paris(2026, 11, 16, 11)):
        await add_call(db, at)
    decision = await gate.check(PHONE, paris(2026, 11, 28, 11, 0))  # a Saturday
    assert decision.reasons == ["weekend", "frequency_cap", "refusal_cooloff"]
    assert decision.retry_at == paris(2026, 11, 30, 10, 0)
    await minimal_retry(gate, decision)


# -- registers --------------------------------------------------------------------------------------

async def test_opt_out_requests_are_all_kept_as_evidence(db):
    call = await db.pool.fetchval("INSERT INTO calls (call_uuid, phone) VALUES ('c-opt', $1) RETURNING id", PHONE)
    first = await store.record_opt_out(db.pool, PHONE, source="call", evidence="« ne m'appelez plus »", call_id=call)
    second = await store.record_opt_out(db.pool, PHONE, source="cli", evidence="by letter")
    rows = await store.list_opt_outs(db.pool, PHONE)
    assert [(r.id, r.source, r.evidence, r.call_id) for r in rows] == [
        (first, "call", "« ne m'appelez plus »", call), (second, "cli", "by letter", None)]
    assert (await store.latest_opt_out(db.pool, PHONE)).id == second
    assert await store.is_opted_out(db.pool, PHONE) and not await store.is_opted_out(db.pool, OTHER)
    decision = await ComplianceGate(db.pool).check(PHONE, MONDAY)
    assert (decision.allowed, decision.reasons, decision.retry_at) == (False, ["opt_out"], None)
    assert "source cli" in decision.details["opt_out"]


async def test_a_call_that_ended_opted_out_is_refused_even_without_the_register_row(db):
    await add_call(db, paris(2026, 11, 20, 11), result="OPTED_OUT")
    decision = await ComplianceGate(db.pool).check(PHONE, MONDAY)
    assert (decision.reasons, decision.retry_at) == (["opt_out"], None)


async def test_blacklist(db):
    gate = ComplianceGate(db.pool)
    assert await store.blacklist_add(db.pool, PHONE, "threatened to sue")
    assert not await store.blacklist_add(db.pool, PHONE, "lawyer")  # already there: reason updated
    assert [(e.phone, e.reason) for e in await store.blacklist_list(db.pool)] == [(PHONE, "lawyer")]
    decision = await gate.check(PHONE, MONDAY)
    assert (decision.reasons, decision.retry_at, decision.details["blacklist"]) == (["blacklist"], None, "lawyer")
    assert await store.blacklist_remove(db.pool, PHONE)
    assert not await store.blacklist_remove(db.pool, PHONE)
    assert (await gate.check(PHONE, MONDAY)).allowed


async def test_bloctel_import_reports_bad_lines_and_replaces_the_list(db, tmp_path):
    gate = ComplianceGate(db.pool)
    first = tmp_path / "bloctel-octobre.csv"
    first.write_text("numero\n06 12 34 56 78\n\n+33698765432\n12ab\n0612345678\n33699999999\n", encoding="utf-8")
    report = await import_bloctel(db.pool, first)
    assert (report.imported, report.duplicates, report.previous, report.lines) == (3, 1, 0, 5)
    assert [(bad.line, "12ab" in bad.reason) for bad in report.invalid] == [(5, True)]
    assert len(report.sha256) == 64 and report.file_name == "bloctel-octobre.csv"
    decision = await gate.check(PHONE, JUNE)
    assert (decision.reasons, decision.retry_at) == (["bloctel"], None)
    assert decision.details["regime"] == "opposition"
    # From 11 August 2026 the Bloctel regime is over: a consented number is called whatever the list.
    assert (await gate.check(PHONE, MONDAY)).allowed
    assert "bloctel_warning" not in decision.details
    assert await store.in_bloctel(db.pool, "+33699999999")  # E.164 without its '+'

    second = tmp_path / "bloctel-novembre.txt"
    second.write_text("+33611111111\n", encoding="utf-8")
    report = await import_bloctel(db.pool, second)
    assert (report.imported, report.previous, report.invalid) == (1, 3, [])
    assert (await gate.check(PHONE, JUNE)).allowed  # no longer on the list
    assert (await gate.check("+33611111111", JUNE)).reasons == ["bloctel"]
    imports = await db.pool.fetch("SELECT file_name, numbers FROM bloctel_imports ORDER BY id")
    assert [tuple(r) for r in imports] == [("bloctel-octobre.csv", 3), ("bloctel-novembre.txt", 1)]

    junk = tmp_path / "wrong.csv"
    junk.write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(BloctelError, match="aucun numéro valide.*gardée"):
        await import_bloctel(db.pool, junk)
    assert await store.in_bloctel(db.pool, "+33611111111")  # the failed import changed nothing

    campaign = await add_campaign(db, {"check_bloctel": False})
    assert (await gate.check("+33611111111", JUNE, campaign_id=campaign)).allowed


async def test_an_old_bloctel_list_is_flagged(db, tmp_path):
    (tmp_path / "b.txt").write_text("0611111111\n")
    await import_bloctel(db.pool, tmp_path / "b.txt")
    await db.pool.execute("UPDATE bloctel_imports SET imported_at = now() - interval '45 days'")
    assert (await bloctel_list_age(db.pool)).days == 45
    await db.pool.execute("UPDATE bloctel_imports SET imported_at = $1", JUNE - timedelta(days=45))
    decision = await ComplianceGate(db.pool).check(PHONE, JUNE)
    assert "date de 45 jours" in decision.details["bloctel_warning"]


def test_bloctel_files_with_a_named_column_and_cp1252():
    data = "Nom;Téléphone\nDupont;06 12 34 56 78\nDurand;pas de numéro\n".encode("cp1252")
    parsed = parse_bloctel(data)
    assert (parsed.numbers, parsed.header, [i.line for i in parsed.invalid]) == (["+33612345678"], True, [3])
    with pytest.raises(BloctelError, match="aucune colonne de téléphone"):
        parse_bloctel(b"Nom;Ville\nDupont;Paris\n")


async def test_consent_required_by_the_campaign(db):
    gate = ComplianceGate(db.pool)
    new = "+33611223344"
    campaign = await add_campaign(db, {"require_consent": True})
    other = await add_campaign(db)
    assert (await gate.check(new, JUNE, campaign_id=campaign)).reasons == ["no_consent"]
    assert (await gate.check(new, JUNE, campaign_id=other)).allowed  # Bloctel regime, no consent required

    await consent(db, new, campaign_id=other)
    assert (await gate.check(new, JUNE, campaign_id=campaign)).reasons == ["no_consent"]
    await consent(db, new)  # for the operator, whatever the campaign
    assert (await gate.check(new, JUNE, campaign_id=campaign)).allowed
    assert await store.revoke_consent(db.pool, new, at=paris(2026, 6, 1, 9, 0), evidence="lettre") == 2
    decision = await gate.check(new, JUNE, campaign_id=campaign)
    assert (decision.reasons, decision.retry_at) == (["no_consent"], None)
    assert (await gate.check(new, paris(2026, 5, 29, 11), campaign_id=campaign)).allowed  # before the revocation
    await consent(db, new, campaign_id=campaign)
    assert await store.has_consent(db.pool, new, campaign)
    assert (await gate.check(new, JUNE, campaign_id=campaign)).allowed
    revoked = await db.pool.fetch("SELECT revoked_evidence FROM consents WHERE revoked_at IS NOT NULL")
    assert [r["revoked_evidence"] for r in revoked] == ["lettre", "lettre"]  # revoked rows stay, with the words


async def test_every_reason_together_in_a_stable_order(db, tmp_path):
    # Under the opposition regime (before 11 August 2026), where Bloctel still applies.
    campaign = await db.pool.fetchval(
        "INSERT INTO campaigns (name, scenario, compliance, sector) VALUES ('c', 'demo', "
        "'{\"require_consent\": true}', 'renovation_energetique') RETURNING id")
    for week in range(4):
        await add_call(db, paris(2025, 10, 6, 11) + timedelta(weeks=week),
                       result="NOT_INTERESTED" if week == 3 else None)
    await store.record_opt_out(db.pool, PHONE, source="call", evidence="stop")
    await store.blacklist_add(db.pool, PHONE, "abuse")
    (tmp_path / "b.txt").write_text(PHONE + "\n")
    await import_bloctel(db.pool, tmp_path / "b.txt")
    # Saturday 1 November 2025 (All Saints' Day) at 21:00; the test consent is only given in January 2026.
    decision = await ComplianceGate(db.pool).check(PHONE, paris(2025, 11, 1, 21, 0), campaign_id=campaign)
    assert decision.reasons == [
        "outside_hours", "weekend", "public_holiday", "frequency_cap", "refusal_cooloff", "opt_out", "blacklist",
        "bloctel", "no_consent", "banned_sector"] == [r for r in REASONS if r in decision.reasons]
    assert decision.retry_at is None  # permanent reasons: no date will do
    assert decision.details["holiday"] == "All Saints' Day"
    assert decision.details["law_outside_hours"].startswith("D223-8 C. consom.")
    assert decision.details["law_bloctel"].startswith("L223-1 C. consom. (rédaction antérieure")
    assert decision.details["law_banned_sector"] == "L223-1 C. consom. (loi 2020-901 du 24 juillet 2020)"


# -- rules and campaigns ----------------------------------------------------------------------------

async def test_a_campaign_preset_for_another_country(db):
    saturday = paris(2026, 11, 28, 11, 0)
    preset = {"check_bloctel": False, "frequency_cap_attempts": 0,
              "hours": {"timezone": "Europe/Brussels", "holiday_country": "BE", "weekdays": [0, 1, 2, 3, 4, 5],
                        "windows": [["09:00", "20:00"]]}}
    campaign = await add_campaign(db, preset)
    gate = ComplianceGate(db.pool)
    await consent(db, BE)
    assert (await gate.check(BE, saturday)).reasons == ["weekend"]
    assert (await gate.check(BE, saturday, campaign_id=campaign)).allowed
    assert (await gate.check(BE, paris(2026, 11, 23, 9, 15), campaign_id=campaign)).allowed  # 9:00 opening
    assert (await gate.check(BE, paris(2026, 7, 21, 11), campaign_id=campaign)).reasons == ["public_holiday"]
    assert (await gate.check(BE, paris(2026, 7, 14, 11), campaign_id=campaign)).allowed  # not Belgian
    for week in range(6):
        await add_call(db, paris(2026, 11, 2, 11) + timedelta(days=week), phone=BE)
    assert (await gate.check(BE, MONDAY, campaign_id=campaign)).allowed  # no cap in this preset
    explicit = ComplianceRules(frequency_cap_attempts=10)
    assert (await gate.check(BE, MONDAY, rules=explicit)).allowed  # explicit rules win
    # A French number stays under the French decree: the preset's Saturday and wider cap do not apply to it.
    french = await gate.check(PHONE, saturday, campaign_id=campaign)
    assert french.reasons == ["weekend"] and "horaires élargis non appliqués" in french.details["french_floor"]


async def test_unknown_campaigns_and_invalid_settings_are_errors(db):
    gate = ComplianceGate(db.pool)
    with pytest.raises(LookupError, match="no campaign with id 999"):
        await gate.check(PHONE, MONDAY, campaign_id=999)
    bad = await add_campaign(db, {"frequency_cap_days": "a month"})
    with pytest.raises(ValueError, match=rf"campaign {bad}: compliance.frequency_cap_days"):
        await gate.check(PHONE, MONDAY, campaign_id=bad)
    with pytest.raises(ValueError, match="time zone"):
        await gate.check(PHONE, MONDAY.replace(tzinfo=None))
    with pytest.raises(ValueError, match="E.164"):
        await gate.check("0612345678", MONDAY)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"frequency_cap_attempts": -1}, "compliance.frequency_cap_attempts"),
        ({"refusal_colloff_days": 10}, "compliance.refusal_colloff_days: Extra inputs"),
        ({"hours": {"timezone": "Europe/Pariss"}}, "compliance.hours.timezone: unknown time zone"),
        ({"hours": {"windows": [["13:00", "10:00"]]}}, "compliance.hours.windows"),
        ({"hours": {"weekday": [0]}}, "compliance.hours.weekday: unknown setting"),
        ({"hours": {"holiday_country": "ZZ"}}, "compliance.hours.holiday_country"),
    ],
)
def test_invalid_overrides_name_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        ComplianceRules.for_campaign(overrides)


def test_overrides_keep_the_other_defaults():
    rules = ComplianceRules.for_campaign({"hours": {"holiday_subdivision": "57"}, "require_consent": True})
    assert rules.hours.holiday_subdivision == "57" and rules.hours.timezone == "Europe/Paris"
    assert (rules.frequency_cap_attempts, rules.refusal_cooloff_days, rules.require_consent) == (4, 60, True)
    assert ComplianceRules.for_campaign({}) == ComplianceRules() == ComplianceRules.for_campaign(None)


# -- the command line -------------------------------------------------------------------------------

runner = CliRunner()


def cli(database_url: str, *args: str):
    return runner.invoke(compliance_app, list(args), env={"DATABASE_URL": database_url})


def sql(database_url: str, query: str, *params):
    async def run():
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval(query, *params)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_cli_check_json_and_exit_codes(database_url):
    no_consent = cli(database_url, "check", "--phone", PHONE, "--at", "2026-11-23T10:30:00+01:00", "--json")
    assert no_consent.exit_code == 1 and json.loads(no_consent.stdout)["reasons"] == ["no_consent"]
    assert json.loads(no_consent.stdout)["details"]["law_no_consent"] == "L223-1 C. consom. (loi 2025-594)"
    assert cli(database_url, "consent", "add", PHONE, "--evidence", "formulaire", "--at", "2026-01-05T12:00",
               "--method", "formulaire web", "--wording", "J'accepte.").exit_code == 0
    allowed = cli(database_url, "check", "--phone", PHONE, "--at", "2026-11-23T10:30:00+01:00", "--json")
    assert allowed.exit_code == 0, allowed.output
    out = json.loads(allowed.stdout)
    assert (out["allowed"], out["reasons"], out["retry_at"]) == (True, [], None)
    assert set(out) == {"allowed", "reasons", "retry_at", "details"}

    # No offset: Paris local time, so 09:30 is before opening; the national form is accepted.
    early = cli(database_url, "check", "--phone", "06 12 34 56 78", "--at", "2026-11-23T09:30", "--json")
    assert early.exit_code == 1
    assert json.loads(early.stdout)["reasons"] == ["outside_hours"]
    assert json.loads(early.stdout)["retry_at"] == "2026-11-23T10:00:00+01:00"
    utc = cli(database_url, "check", "--phone", PHONE, "--at", "2026-11-23T09:30:00Z", "--json")
    assert utc.exit_code == 0  # 10:30 in Paris

    assert cli(database_url, "blacklist", "add", PHONE, "--reason", "asked by the client").exit_code == 0
    refused = cli(database_url, "check", "--phone", PHONE, "--at", "2026-11-28T11:00", "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["reasons"] == ["weekend", "blacklist"]
    human = cli(database_url, "check", "--phone", PHONE, "--at", "2026-11-28T11:00")
    assert human.exit_code == 1
    assert "REFUSÉ" in human.stdout and "liste noire" in human.stdout and "asked by the client" in human.stdout
    assert "aucune liste Bloctel importée" in human.stderr

    bad = cli(database_url, "check", "--phone", "12ab", "--json")
    assert bad.exit_code == 2 and "phone" in json.loads(bad.stdout)["error"]
    assert cli(database_url, "check", "--phone", "0612", "--at", "2026-11-23T10:30").exit_code == 2
    assert cli(database_url, "check", "--phone", PHONE, "--at", "lundi").exit_code == 2
    unknown = cli(database_url, "check", "--phone", PHONE, "--campaign", "42", "--json")
    assert unknown.exit_code == 2 and "no campaign with id 42" in json.loads(unknown.stdout)["error"]


def test_cli_registers(database_url, tmp_path):
    assert cli(database_url, "opt-out", "add", "0612345678", "--evidence", "phoned the office").exit_code == 0
    assert cli(database_url, "opt-out", "add", PHONE).exit_code == 0
    listed = cli(database_url, "opt-out", "list", "--json")
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)["opt_outs"]
    assert [(r["phone"], r["source"], r["evidence"]) for r in rows] == [
        (PHONE, "cli", "phoned the office"), (PHONE, "cli", "enregistrée en ligne de commande")]
    assert PHONE in cli(database_url, "opt-out", "list").stdout  # the operator's register: shown in full

    assert cli(database_url, "blacklist", "add", OTHER, "--reason", "abuse").exit_code == 0
    assert json.loads(cli(database_url, "blacklist", "list", "--json").stdout)["blacklist"][0]["reason"] == "abuse"
    assert OTHER in cli(database_url, "blacklist", "list").stdout
    assert cli(database_url, "blacklist", "remove", OTHER).exit_code == 0
    assert cli(database_url, "blacklist", "remove", OTHER).exit_code == 1
    assert cli(database_url, "blacklist", "add", "not a number").exit_code == 2

    file = tmp_path / "bloctel.txt"
    file.write_text("0611111111\nxx\n")
    imported = cli(database_url, "bloctel", "import", str(file), "--json")
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.stdout)
    assert (report["imported"], report["invalid"][0]["line"]) == (1, 2)
    assert cli(database_url, "bloctel", "import", str(tmp_path / "missing.txt")).exit_code == 2
    (tmp_path / "empty.txt").write_text("\n")
    assert cli(database_url, "bloctel", "import", str(tmp_path / "empty.txt")).exit_code == 1

    campaign = sql(database_url, "INSERT INTO campaigns (name, scenario, compliance) "
                                 "VALUES ('c', 'demo', '{\"require_consent\": true}') RETURNING id")
    check = ("check", "--phone", OTHER, "--at", "2026-11-23T10:30", "--campaign", str(campaign), "--json")
    assert json.loads(cli(database_url, *check).stdout)["reasons"] == ["no_consent"]
    added = cli(database_url, "consent", "add", OTHER, "--campaign", str(campaign), "--evidence", "signed form",
                "--at", "2026-11-01T10:00")
    assert added.exit_code == 0, added.output
    assert cli(database_url, *check).exit_code == 0
    assert cli(database_url, "consent", "add", OTHER, "--campaign", "999", "--evidence", "x").exit_code == 2
    assert cli(database_url, "consent", "revoke", OTHER, "--campaign", str(campaign), "--at",
               "2026-11-20T09:00").exit_code == 0
    assert cli(database_url, "consent", "revoke", OTHER).exit_code == 1  # nothing left to revoke
    assert cli(database_url, *check).exit_code == 1


def test_the_help_says_how_at_without_offset_is_read():
    result = runner.invoke(compliance_app, ["check", "--help"])
    assert "Europe/Paris" in result.stdout

