"""Campaign exports (CSV for French Excel, XLSX) and the retention purge, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import typer
from openpyxl.worksheet._writer import ALL_TEMP_FILES
from typer.testing import CliRunner

from bot.campaign.export import FRENCH_HEADERS, HEADERS, KEYS, export_campaign
from bot.store.retention import parse_age, purge
from cli.campaign_export import export
from cli.db import db_app
from tests.conftest import with_database

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 11, 0, tzinfo=PARIS)


async def _campaign(conn, name: str = "Isolation 2026") -> int:
    return await conn.fetchval("INSERT INTO campaigns (name, scenario) VALUES ($1, 'demo') RETURNING id", name)


async def _contact(conn, phone: str, first: str | None = None, last: str | None = None, company: str | None = None,
                   email: str | None = None) -> int:
    return await conn.fetchval(
        "INSERT INTO contacts (phone, first_name, last_name, company, email) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        phone, first, last, company, email)


async def _call(conn, uuid: str, *, campaign: int | None = None, contact: int | None = None,
                phone: str = "+33612345678", created: datetime = NOW, ended: datetime | None = None,
                transcript: list | None = None, recording: str | None = None, **columns) -> int:
    fields = {"call_uuid": uuid, "campaign_id": campaign, "contact_id": contact, "phone": phone, "created_at": created,
              "ended_at": ended, "transcript": json.dumps(transcript or [], ensure_ascii=False),
              "recording_path": recording, **columns}
    for key in ("objections", "latency"):
        if key in fields:
            fields[key] = json.dumps(fields[key])
    names = list(fields)
    casts = {"transcript", "objections", "latency", "steps"}
    values = ", ".join(f"${i}{'::jsonb' if n in casts else ''}" for i, n in enumerate(names, 1))
    return await conn.fetchval(f"INSERT INTO calls ({', '.join(names)}) VALUES ({values}) RETURNING id",
                               *fields.values())


TURNS = [{"speaker": "bot", "text": "Bonjour Hélène, ici Julie de Rénov'Éco", "at_ms": 900},
         {"speaker": "caller", "text": "oui c'est moi ; j'écoute", "at_ms": 4200}]


async def _seed_export(pool) -> int:
    """A campaign with two calls (one answered, one not), plus a call of another campaign."""
    async with pool.acquire() as conn:
        cid = await _campaign(conn)
        other = await _campaign(conn, "autre")
        helene = await _contact(conn, "+33612345678", "Hélène", "Lefèvre", "Société Générale d'Isolation",
                                "helene@exemple.fr")
        await conn.execute("""UPDATE contacts SET extra = '{"Code client": "C-0042", "Ville": "=Lyon"}'
                              WHERE id = $1""", helene)
        await _call(conn, "call-answered", campaign=cid, contact=helene, created=datetime(2026, 11, 23, 10, 0, 5,
                    tzinfo=ZoneInfo("UTC")), status="ENDED", outcome="completed", result="QUALIFIED",
                    amd_status="HUMAN", amd_verdict="human", hangup_cause=16, hangup_cause_txt="Normal Clearing",
                    ring_ms=4230, duration_ms=61_000, transcript=TURNS, recording="minibot-call-answered",
                    objections=[{"id": "prix", "score": 0.9, "at_ms": 5000}, {"id": "deja_equipe", "score": 0.8,
                                                                              "at_ms": 9000}],
                    freestyle_turns=1, barge_ins=2, latency={"answer_to_first_audio_ms": 812.4}, qualification=0.75,
                    note="=HYPERLINK(\"http://x\")", steps=json.dumps(["hello", "interest", "goodbye"]))
        await _call(conn, "call-no-answer", campaign=cid, phone="+33198765432", created=datetime(2026, 11, 23, 10, 5,
                    tzinfo=ZoneInfo("UTC")), status="ENDED", outcome="no_answer", hangup_cause=19,
                    hangup_cause_txt="No answer", ring_ms=30_000)
        await _call(conn, "call-elsewhere", campaign=other, phone="+33700000000")
    return cid


# -- export ------------------------------------------------------------------------------------------

async def test_csv_opens_in_french_excel_and_reads_back(db, tmp_path):
    cid = await _seed_export(db.pool)
    out = tmp_path / "export.csv"
    summary = await export_campaign(db.pool, cid, "csv", out, lang="fr", recordings_dir=tmp_path / "recording")
    assert (summary.rows, summary.path) == (2, out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM French Excel needs to read UTF-8
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    # French column names, then the contact file's own columns as they were named in it.
    assert tuple(rows[0]) == FRENCH_HEADERS + ("Code client", "Ville")
    assert rows[0][:3] == ["identifiant d'appel", "date d'appel", "téléphone"]
    keys = KEYS + ("Code client", "Ville")
    first = dict(zip(keys, rows[1], strict=True))
    assert first["call_uuid"] == "call-answered"
    assert first["placed_at"] == "23/11/2026 11:00:05"  # Paris local time, as French Excel reads a date
    assert (first["Code client"], first["Ville"]) == ("C-0042", "'=Lyon")  # kept, never a formula
    assert first["steps"] == "hello > interest > goodbye"
    assert (first["phone"], first["first_name"], first["last_name"]) == ("+33612345678", "Hélène", "Lefèvre")
    assert first["company"] == "Société Générale d'Isolation" and first["email"] == "helene@exemple.fr"
    assert (first["status"], first["outcome"], first["result"]) == ("terminé", "completed", "qualifié")
    assert (first["amd_verdict"], first["amd_status"]) == ("humain", "HUMAN")
    assert (first["hangup_cause"], first["hangup_cause_txt"]) == ("16", "Normal Clearing")
    assert (first["ring_s"], first["duration_s"], first["qualification"]) == ("4,2", "61", "0,75")  # decimal commas
    assert first["objections"] == "prix, deja_equipe"
    assert (first["freestyle_turns"], first["barge_ins"], first["answer_to_first_audio_ms"]) == ("1", "2", "812")
    # the ";" inside a turn is quoted by the csv module, not a column break
    assert first["transcript"] == "bot: Bonjour Hélène, ici Julie de Rénov'Éco | client: oui c'est moi ; j'écoute"
    # the file itself, not Asterisk's name for it (an operator opens it from the export)
    assert first["recording_path"] == str(tmp_path / "recording" / "minibot-call-answered.wav")
    assert first["note"] == "'=HYPERLINK(\"http://x\")"  # never run as a formula
    second = dict(zip(keys, rows[2], strict=True))
    assert second["call_uuid"] == "call-no-answer" and second["first_name"] == "" and second["transcript"] == ""
    assert second["duration_s"] == "" and second["ring_s"] == "30" and second["outcome"] == "pas de réponse"
    assert second["Code client"] == ""
    assert len(rows) == 3  # the other campaign's call is not there


async def test_an_english_export_keeps_the_keys_and_iso_dates(db, tmp_path):
    cid = await _seed_export(db.pool)
    out = tmp_path / "export.csv"
    await export_campaign(db.pool, cid, "csv", out, lang="en")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert tuple(rows[0]) == HEADERS + ("Code client", "Ville")
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["placed_at"] == "2026-11-23T11:00:05+01:00" and first["result"] == "QUALIFIED"
    assert first["ring_s"] == "4.2"


async def test_times_are_in_the_campaign_zone(db, tmp_path):
    cid = await _seed_export(db.pool)
    await db.pool.execute("""UPDATE campaigns SET compliance = '{"hours": {"timezone": "America/Martinique"}}'
                             WHERE id = $1""", cid)
    out = tmp_path / "export.csv"
    await export_campaign(db.pool, cid, "csv", out, lang="fr")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[1][1] == "23/11/2026 06:00:05"  # 10:00:05 UTC in Martinique


async def test_xlsx_reads_back_with_a_real_date(db, tmp_path):
    from openpyxl import load_workbook

    cid = await _seed_export(db.pool)
    out = tmp_path / "export.xlsx"
    assert (await export_campaign(db.pool, cid, "xlsx", out, lang="fr")).rows == 2
    sheet = load_workbook(out).active
    assert sheet.title == "appels"
    assert tuple(c.value for c in sheet[1]) == FRENCH_HEADERS + ("Code client", "Ville")
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["W"].width == 80  # the transcript
    row = {h: c for h, c in zip(KEYS + ("Code client", "Ville"), sheet[2], strict=True)}
    assert row["placed_at"].value == datetime(2026, 11, 23, 11, 0, 5) and row["placed_at"].is_date
    assert row["placed_at"].number_format == "dd/mm/yyyy hh:mm:ss"
    assert row["phone"].value == "+33612345678" and row["first_name"].value == "Hélène"
    assert row["ring_s"].value == 4.2 and row["duration_s"].value == 61 and row["answer_to_first_audio_ms"].value == 812
    assert row["transcript"].value.startswith("bot: Bonjour Hélène")
    assert row["note"].value == "=HYPERLINK(\"http://x\")" and row["note"].data_type == "s"  # text, not a formula
    assert sheet.max_row == 3


async def test_unknown_campaign_writes_nothing(db, tmp_path):
    with pytest.raises(LookupError, match="campagne 999 introuvable"):
        await export_campaign(db.pool, 999, "csv", tmp_path / "x.csv")
    with pytest.raises(ValueError, match="csv ou xlsx"):
        await export_campaign(db.pool, 1, "ods", tmp_path / "x.ods")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


async def test_empty_campaign_and_a_failed_export_leave_no_temporary_file(db, tmp_path):
    async with db.pool.acquire() as conn:
        cid = await _campaign(conn)
    out = tmp_path / "empty.xlsx"
    assert (await export_campaign(db.pool, cid, "xlsx", out)).rows == 0
    for fmt in ("csv", "xlsx"):
        with pytest.raises(OSError):
            await export_campaign(db.pool, cid, fmt, tmp_path / "missing-dir" / f"x.{fmt}")
    assert await asyncio.to_thread(_leftovers, tmp_path) == (["empty.xlsx"], [])  # openpyxl's row files too


def _leftovers(folder: Path) -> tuple[list[str], list[str]]:
    """The files in `folder`, and openpyxl's temporary row files still on disk."""
    return sorted(p.name for p in folder.iterdir()), [p for p in ALL_TEMP_FILES if os.path.exists(p)]


async def _bulk_campaign(pool, calls: int) -> int:
    async with pool.acquire() as conn:
        cid = await _campaign(conn)
        await conn.execute(
            """INSERT INTO calls (call_uuid, campaign_id, phone, created_at, transcript)
               SELECT 'bulk-' || n, $1, '+3361234' || lpad(n::text, 4, '0'), $2::timestamptz + n * interval '1 s',
                      '[{"speaker": "caller", "text": "allô"}]'
                 FROM generate_series(1, $3::int) AS n""", cid, NOW, calls)
    return cid


async def test_an_export_cancelled_midway_keeps_the_previous_file(db, tmp_path):
    cid = await _bulk_campaign(db.pool, 5000)
    out = tmp_path / "calls.xlsx"
    await asyncio.to_thread(out.write_text, "previous export")
    task = asyncio.create_task(export_campaign(db.pool, cid, "xlsx", out))
    while len((await asyncio.to_thread(_leftovers, tmp_path))[0]) < 2:  # the temporary file is there: under way
        assert not task.done()
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(out.read_text) == "previous export"
    assert await asyncio.to_thread(_leftovers, tmp_path) == (["calls.xlsx"], [])


async def test_many_calls_stream_through_batches(db, tmp_path):
    cid = await _bulk_campaign(db.pool, 2500)
    out = tmp_path / "bulk.csv"
    assert (await export_campaign(db.pool, cid, "csv", out)).rows == 2500
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    uuid, transcript = "identifiant d'appel", "transcription"
    assert [r[uuid] for r in rows[:2]] == ["bulk-1", "bulk-2"] and rows[-1][uuid] == "bulk-2500"
    assert rows[0][transcript] == "client: allô"


# -- retention ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
    ("90min", timedelta(minutes=90)), (" 7D ", timedelta(days=7)), ("6mo", timedelta(days=180)),
    ("12w", timedelta(weeks=12)),
])
def test_parse_age(text, expected):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "30 days", "-1d", "0d", "1.5d", "30y", "9" * 30 + "w"])
def test_parse_age_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="durée"):
        parse_age(text)


@pytest.mark.parametrize("text", ["1m", "90M", " 30 m"])
def test_parse_age_refuses_a_bare_m_minutes_or_months(text):
    with pytest.raises(ValueError, match="ambiguë.*min.*mo"):
        parse_age(text)


def _write_recordings(recordings: Path, elsewhere: Path) -> None:
    recordings.mkdir()
    elsewhere.mkdir()
    (recordings / "minibot-old-named.wav").write_bytes(b"R" * 1000)
    (recordings / "minibot-old-named.wav16").write_bytes(b"R" * 500)  # a second format of the same recording
    (elsewhere / "old-absolute.wav").write_bytes(b"A" * 300)
    (recordings / "minibot-recent.wav").write_bytes(b"N" * 700)


async def _seed_purge(pool, recordings: Path, elsewhere: Path, now: datetime = NOW) -> dict[str, int]:
    """Old calls (40 days before `now`) and a recent one (5 days), their recordings, events and an opt-out."""
    old, recent = now - timedelta(days=40), now - timedelta(days=5)
    await asyncio.to_thread(_write_recordings, recordings, elsewhere)
    async with pool.acquire() as conn:
        cid = await _campaign(conn)
        ids = {
            "named": await _call(conn, "old-named", campaign=cid, created=old, ended=old + timedelta(minutes=2),
                                 transcript=TURNS, recording="minibot-old-named"),
            "absolute": await _call(conn, "old-absolute", campaign=cid, created=old, ended=old, transcript=TURNS,
                                    recording=str(elsewhere / "old-absolute.wav")),
            "missing": await _call(conn, "old-missing", campaign=cid, created=old, ended=old, transcript=TURNS,
                                   recording="minibot-gone"),
            "never_ended": await _call(conn, "old-never-ended", campaign=cid, created=old, transcript=TURNS,
                                       objections=[{"id": "prix", "score": 0.9, "at_ms": 1}]),
            # placed long ago, ended recently (a callback kept on the line): ended_at decides
            "recent": await _call(conn, "recent", campaign=cid, created=old, ended=recent, transcript=TURNS,
                                  recording="minibot-recent"),
        }
        events = [(ids["named"], 10, "heard", "heard: 'oui c'est moi'"), (ids["named"], 5, "say", "say (rail): 'x'"),
                  (ids["named"], 1, "answered", "answered"), (ids["recent"], 10, "heard", "heard: 'non'")]
        await conn.executemany("INSERT INTO call_events (call_id, at_ms, kind, detail) VALUES ($1, $2, $3, $4)",
                               events)
        await conn.execute(
            "INSERT INTO opt_outs (phone, source, call_id, campaign_id, evidence) VALUES ($1, 'call', $2, $3, $4)",
            "+33612345678", ids["named"], cid, "ne m'appelez plus")
    return ids


async def _calls(pool) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch("SELECT call_uuid, transcript, recording_path, purged_at, objections FROM calls")
    return {r["call_uuid"]: r for r in rows}


async def test_purge_removes_only_old_recordings_and_words(db, tmp_path):
    recordings, elsewhere = tmp_path / "recording", tmp_path / "elsewhere"
    ids = await _seed_purge(db.pool, recordings, elsewhere)
    opt_outs_before = [dict(r) for r in await db.pool.fetch("SELECT * FROM opt_outs")]

    report = await purge(db.pool, timedelta(days=30), now=NOW, recordings_dir=recordings, batch=2)

    assert report.cutoff == NOW - timedelta(days=30) and not report.dry_run
    assert (report.calls_purged, report.recordings_deleted, report.recordings_missing) == (4, 2, 1)
    assert report.bytes_freed == 1000 + 500 + 300
    assert report.events_removed == 2 and report.failed == []
    assert sorted(p.name for p in recordings.iterdir()) == ["minibot-recent.wav"]
    assert list(elsewhere.iterdir()) == []
    calls = await _calls(db.pool)
    for uuid in ("old-named", "old-absolute", "old-missing", "old-never-ended"):
        assert json.loads(calls[uuid]["transcript"]) == [] and calls[uuid]["recording_path"] is None
        assert calls[uuid]["purged_at"] == NOW
    assert json.loads(calls["old-never-ended"]["objections"])[0]["id"] == "prix"  # not personal: kept
    assert json.loads(calls["recent"]["transcript"]) == TURNS and calls["recent"]["recording_path"] == "minibot-recent"
    assert calls["recent"]["purged_at"] is None
    kinds = await db.pool.fetch("SELECT call_id, kind FROM call_events ORDER BY call_id, at_ms")
    assert [(r["call_id"], r["kind"]) for r in kinds] == [(ids["named"], "answered"), (ids["recent"], "heard")]
    assert [dict(r) for r in await db.pool.fetch("SELECT * FROM opt_outs")] == opt_outs_before

    again = await purge(db.pool, timedelta(days=30), now=NOW, recordings_dir=recordings)
    assert (again.calls_purged, again.recordings_deleted, again.events_removed) == (0, 0, 0)


async def test_dry_run_changes_nothing(db, tmp_path):
    recordings, elsewhere = tmp_path / "recording", tmp_path / "elsewhere"
    await _seed_purge(db.pool, recordings, elsewhere)
    before = await _calls(db.pool)
    events = await db.pool.fetchval("SELECT count(*) FROM call_events")

    report = await purge(db.pool, timedelta(days=30), now=NOW, recordings_dir=recordings, dry_run=True, batch=2)

    assert report.dry_run and (report.calls_purged, report.recordings_deleted, report.recordings_missing) == (4, 2, 1)
    assert report.bytes_freed == 1800 and report.events_removed == 2
    assert await _calls(db.pool) == before
    assert await db.pool.fetchval("SELECT count(*) FROM call_events") == events
    assert len(list(recordings.iterdir())) == 3 and len(list(elsewhere.iterdir())) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root may delete anywhere: no permission failure to provoke")
async def test_a_recording_that_cannot_be_deleted_keeps_its_call_for_the_next_purge(db, tmp_path):
    recordings, elsewhere = tmp_path / "recording", tmp_path / "elsewhere"
    await _seed_purge(db.pool, recordings, elsewhere)
    recordings.chmod(0o555)
    try:
        report = await purge(db.pool, timedelta(days=30), now=NOW, recordings_dir=recordings)
    finally:
        recordings.chmod(0o755)
    assert len(report.failed) == 1 and "minibot-old-named" in report.failed[0]
    named = (await _calls(db.pool))["old-named"]
    assert named["purged_at"] is None and named["recording_path"] == "minibot-old-named"
    assert json.loads(named["transcript"]) == []  # the words go anyway
    assert (recordings / "minibot-old-named.wav").exists()


async def test_purge_refuses_a_non_positive_age(db):
    with pytest.raises(ValueError, match="more than zero"):
        await purge(db.pool, timedelta(0))


# -- the command line --------------------------------------------------------------------------------

runner = CliRunner()


def _run(url: str, work):
    async def main():
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def test_cli_db_migrate_applies_then_is_up_to_date(pg_server, tmp_path):
    import uuid

    name = "m" + uuid.uuid4().hex[:10]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        url = with_database(pg_server, name)
        if "postgres:@" in url:  # the embedded server trusts local users: a password is accepted and ignored
            url = url.replace("postgres:@", "postgres:s3cret@")
        env = {"DATABASE_URL": url}
        first = runner.invoke(db_app, ["migrate", "--json"], env=env)
        assert first.exit_code == 0, first.output
        out = json.loads(first.stdout)
        assert out["applied"][0] == "0001_initial" and out["version"] >= 1
        assert name in out["database"] and "s3cret" not in first.stdout  # where, without the password
        again = runner.invoke(db_app, ["migrate"], env=env)
        assert again.exit_code == 0 and "à jour" in again.stdout and "s3cret" not in again.stdout
    finally:
        asyncio.run(admin(f"DROP DATABASE {name} WITH (FORCE)"))


def test_cli_db_purge(database_url, tmp_path):
    # The command purges against the wall clock, so the calls are placed relative to it, not to NOW.
    recordings, elsewhere = tmp_path / "recording", tmp_path / "elsewhere"
    _run(database_url, lambda pool: _seed_purge(pool, recordings, elsewhere, now=datetime.now(PARIS)))
    env = {"DATABASE_URL": database_url}
    args = ["purge", "--older-than", "10d", "--recordings-dir", str(recordings)]

    dry = runner.invoke(db_app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "4 appel(s) terminé(s)" in dry.stdout and "seraient purgés" in dry.stdout
    assert "2 enregistrement(s) à supprimer" in dry.stdout
    assert (recordings / "minibot-old-named.wav").exists()

    done = runner.invoke(db_app, [*args, "--json"], env=env)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert {k: report[k] for k in ("calls_purged", "recordings_deleted", "recordings_missing", "bytes_freed",
                                   "events_removed", "dry_run", "failed")} == {
        "calls_purged": 4, "recordings_deleted": 2, "recordings_missing": 1, "bytes_freed": 1800,
        "events_removed": 2, "dry_run": False, "failed": []}
    assert datetime.fromisoformat(report["cutoff"]).tzinfo is not None
    assert not (recordings / "minibot-old-named.wav").exists()

    bad = runner.invoke(db_app, ["purge", "--older-than", "a month", "--json"], env=env)
    assert bad.exit_code == 2 and "--older-than" in json.loads(bad.stdout)["error"]


def test_cli_campaign_export(database_url, tmp_path, monkeypatch):
    app = typer.Typer()
    campaign_app = typer.Typer()
    campaign_app.command("export")(export)  # as cli/main.py registers it
    app.add_typer(campaign_app, name="campaign")
    cid = _run(database_url, _seed_export)
    env = {"DATABASE_URL": database_url}
    monkeypatch.chdir(tmp_path)

    default = runner.invoke(app, ["campaign", "export", str(cid)], env=env)
    assert default.exit_code == 0, default.output
    assert f"campaign-{cid}.csv" in default.stdout and "2 appel(s)" in default.stdout
    assert (tmp_path / f"campaign-{cid}.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    xlsx = runner.invoke(app, ["campaign", "export", str(cid), "--format", "xlsx", "--out", "calls.xlsx", "--json"],
                         env=env)
    assert xlsx.exit_code == 0, xlsx.output
    assert json.loads(xlsx.stdout) == {"path": "calls.xlsx", "rows": 2}
    assert (tmp_path / "calls.xlsx").stat().st_size > 0

    unknown = runner.invoke(app, ["campaign", "export", "999"], env=env)
    assert unknown.exit_code == 2 and "campagne 999 introuvable" in unknown.output
    bad = runner.invoke(app, ["campaign", "export", str(cid), "--format", "ods"], env=env)
    assert bad.exit_code == 2 and "--format" in bad.output
