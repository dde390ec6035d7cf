"""`minibot contacts import`: files from French spreadsheets in, every row accounted for, all or nothing.

Against the real PostgreSQL of tests/conftest.py. Files are written in tmp_path with the bytes a
spreadsheet would write (cp1252, BOM, CRLF, quoted newlines), so line numbers are checked exactly.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import asyncpg
import openpyxl
import pytest
import typer
from typer.testing import CliRunner

from bot.contacts.headers import MappingError, map_headers, normalise, parse_map
from bot.contacts.importer import (
    ClosedCampaign,
    Contact,
    ImportReport,
    UnknownCampaign,
    check_file,
    import_contacts,
    plan_import,
    store_checked,
)
from bot.contacts.reader import ReadError, read_table
from bot.store import DatabaseError
from cli.contacts import contacts_app

# -- helpers ----------------------------------------------------------------------------------------

def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def phones_of(n: int, start: int = 0) -> list[str]:
    """n distinct valid French mobile numbers, as typed in a spreadsheet."""
    return [f"06 {(start + i) // 10000 % 100:02d} {(start + i) // 100 % 100:02d} {(start + i) % 100:02d} 10"
            for i in range(n)]


async def counts(db) -> tuple[int, int, int]:
    row = await db.pool.fetchrow("SELECT (SELECT count(*) FROM contacts) AS c, "
                                 "(SELECT count(*) FROM campaign_contacts) AS cc, (SELECT count(*) FROM attempts) AS a")
    return row["c"], row["cc"], row["a"]


async def new_campaign(db, status: str = "DRAFT") -> int:
    return await db.pool.fetchval(
        "INSERT INTO campaigns (name, scenario, status) VALUES ('test', 'demo', $1) RETURNING id", status)


def cli_app() -> typer.Typer:
    """The contacts commands mounted as `minibot contacts`, as cli/main.py does."""
    app = typer.Typer()
    app.add_typer(contacts_app, name="contacts")
    return app


async def run_cli(database_url: str, *args: str):
    """The CLI in a thread: it runs its own event loop (asyncio.run), as from a shell."""
    return await asyncio.to_thread(CliRunner().invoke, cli_app(), ["contacts", "import", *args],
                                   env={"DATABASE_URL": database_url})


# A semicolon CSV as French Excel saves it: cp1252, CRLF, a note with a line break in quotes before a bad row.
FRENCH_CSV = (
    "Nom;Prénom;Téléphone;Courriel;Société;Remarque\r\n"       # 1
    "Dupont;Élodie;06 12 34 56 78;elodie@exemple.fr;Boulangerie Dupont;\r\n"  # 2
    'Martin;Zoé;+33 6 98 76 54 32;;;"rappeler\r\n'            # 3
    'après 18h"\r\n'                                           # 4 (same record as 3)
    "Petit;Loïc;06 12;loic@exemple.fr;;\r\n"                   # 5 bad phone
    ";;;;;\r\n"                                                # 6 empty
    "Bernard;Anaïs;0612345678;anais@;;\r\n"                    # 7 duplicate phone of line 2 (and bad email)
    "Durand;Hélène;01 42 68 53 00;helene@exemple.fr;Mairie;\r\n"  # 8
    "Roux;Noé;0612345678;;;\r\n"                               # 9 duplicate of line 2
)


# -- formats ----------------------------------------------------------------------------------------

async def test_semicolon_cp1252_csv_with_french_headers(db, tmp_path):
    path = write(tmp_path / "export.csv", FRENCH_CSV, "cp1252")
    report = await import_contacts(db, path)

    assert report.rows == 7  # lines 2..9 hold 7 records (3-4 is one)
    assert report.imported == 3
    assert [i.to_json() for i in report.invalid] == [
        {"line": 5, "reason": "phone : longueur incorrecte pour un numéro FR : '06 12'"}]
    # A bad e-mail no longer refuses a callable person: the address alone is dropped, with a warning.
    assert [w.to_json() for w in report.warnings] == [
        {"line": 7, "reason": "email : pas une adresse e-mail : 'anais@' ; écarté"}]
    assert report.empty == [6]
    assert [d.to_json() for d in report.duplicates] == [
        {"line": 7, "phone": "+33612345678", "first_line": 2, "contact_id": None},
        {"line": 9, "phone": "+33612345678", "first_line": 2, "contact_id": None}]
    assert report.columns == {"Nom": "last_name", "Prénom": "first_name", "Téléphone": "phone", "Courriel": "email",
                              "Société": "company", "Remarque": "extra"}
    assert "cp1252" in check_file(path).detail

    rows = await db.pool.fetch("SELECT * FROM contacts ORDER BY id")
    assert [(r["phone"], r["first_name"], r["last_name"]) for r in rows] == [
        ("+33612345678", "Élodie", "Dupont"), ("+33698765432", "Zoé", "Martin"), ("+33142685300", "Hélène", "Durand")]
    assert rows[0]["email"] == "elodie@exemple.fr" and rows[0]["company"] == "Boulangerie Dupont"
    assert json.loads(rows[0]["extra"]) == {}
    assert json.loads(rows[1]["extra"]) == {"Remarque": "rappeler\r\naprès 18h"}
    assert rows[0]["source"] == "export.csv"


async def test_bom_utf8_comma_csv_with_english_headers(db, tmp_path):
    text = ("\ufeffFirst name,Last name,Phone,E-mail,Company,Time zone,Customer ref\n"
            "Ann,Lee,+44 20 7946 0958,ann@example.co.uk,ACME,europe/london,C-1\n"
            "Bob,Ray,06 11 22 33 44,bob@example.com,,Mars/Olympus,C-2\n")
    path = write(tmp_path / "crm.csv", text)
    report = await import_contacts(db, path)
    assert report.imported == 1
    assert [i.to_json() for i in report.invalid] == [
        {"line": 3, "reason": "timezone : fuseau horaire inconnu : 'Mars/Olympus' (un nom comme Europe/Paris est "
                              "attendu)"}]
    row = await db.pool.fetchrow("SELECT * FROM contacts")
    assert row["phone"] == "+442079460958" and row["first_name"] == "Ann"  # "First name": no BOM left in it
    assert row["timezone"] == "Europe/London"  # stored under its canonical name
    assert json.loads(row["extra"]) == {"Customer ref": "C-1"}


async def test_tab_separated_and_excel_sep_hint(db, tmp_path):
    tab = write(tmp_path / "tab.txt", "Tel\tNom\n0612345678\tA\n0698765432\tB\n")
    assert (await import_contacts(db, tab, dry_run=True)).imported == 2
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
    unicode_text = write(tmp_path / "unicode.txt", "Téléphone\tPrénom\r\n0612345678\tZoé\r\n", "utf-16")
    assert [c.first_name for c in check_file(unicode_text).contacts] == ["Zoé"]
    # Excel's "sep=," first line wins over the guess (the header has more ";" than ","); the header is line 2
    hinted = check_file(write(tmp_path / "hint.csv", "sep=,\nTel,Note;a;b\n0611111111,x;y;z\n"))
    assert hinted.columns == {"Tel": "phone", "Note;a;b": "extra"}
    assert [(c.line, c.extra) for c in hinted.contacts] == [(3, {"Note;a;b": "x;y;z"})]


async def test_xlsx(db, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Prospects"
    sheet.append(["Prénom", "NOM", "Portable", "Fuseau horaire", "Âge"])
    sheet.append(["Jean", "Moreau", 612345678, "Europe/Paris", 42])     # 2: a phone typed as a number
    sheet.append([None, None, None, None, None])                         # 3: empty
    sheet.append(["Paul", "Simon", "06 98 76 54 32", "Paris", None])     # 4: bad time zone
    sheet.append(["Lina", "Faure", "+32 470 12 34 56", None, 30.5])       # 5: Belgian mobile
    book.save(tmp_path / "prospects.xlsx")

    report = await import_contacts(db, tmp_path / "prospects.xlsx")
    assert report.format == "xlsx" and report.rows == 4
    assert report.imported == 2 and report.empty == [3]
    assert [i.line for i in report.invalid] == [4] and report.invalid[0].reason.startswith("timezone : ")
    rows = await db.pool.fetch("SELECT phone, timezone, extra FROM contacts ORDER BY id")
    assert [(r["phone"], r["timezone"], json.loads(r["extra"])) for r in rows] == [
        ("+33612345678", "Europe/Paris", {"Âge": 42}), ("+32470123456", None, {"Âge": 30.5})]


async def test_json_list_and_contacts_object(db, tmp_path):
    items = [{"prenom": "Ana", "telephone": "0612345678", "tags": ["vip"]},
             {},
             {"prenom": "Bea", "telephone": "12"},
             {"prenom": "Cid", "telephone": 33698765432, "email": None}]
    listed = write(tmp_path / "list.json", json.dumps(items))
    report = await import_contacts(db, listed, dry_run=True)
    # JSON "lines" are item index + 2: the first object reads like the first row under a CSV header
    assert report.rows == 4 and report.empty == [3] and [i.line for i in report.invalid] == [4]
    assert report.imported == 2

    wrapped = write(tmp_path / "wrapped.json", json.dumps({"contacts": items}, indent=2))
    assert (await import_contacts(db, wrapped)).imported == 2
    row = await db.pool.fetchrow("SELECT extra FROM contacts WHERE phone = '+33612345678'")
    assert json.loads(row["extra"]) == {"tags": ["vip"]}  # JSON values kept as they are


# -- what the report says -----------------------------------------------------------------------------

async def test_duplicates_within_the_file_and_against_stored_contacts(db, tmp_path):
    await import_contacts(db, write(tmp_path / "first.csv", "Tel;Nom\n06 12 34 56 78;Old\n"))
    stored_id = await db.pool.fetchval("SELECT id FROM contacts")
    path = write(tmp_path / "second.csv",
                 "Tel;Nom\n0698765432;A\n+33612345678;B\n06.98.76.54.32;C\n0612345678;D\n")
    report = await import_contacts(db, path)
    assert report.imported == 1
    assert [d.to_json() for d in report.duplicates] == [
        {"line": 3, "phone": "+33612345678", "first_line": None, "contact_id": stored_id},
        {"line": 4, "phone": "+33698765432", "first_line": 2, "contact_id": None},
        {"line": 5, "phone": "+33612345678", "first_line": 3, "contact_id": None},
    ]
    # the stored contact takes the file's corrections (its first line for that phone), and the report says so
    assert [u.to_json() for u in report.updated] == [
        {"line": 3, "contact_id": stored_id, "changes": {"last_name": ["Old", "B"]}}]
    assert await db.pool.fetchval("SELECT last_name FROM contacts WHERE id = $1", stored_id) == "B"


async def test_rows_count_every_data_row_and_lines_follow_multiline_fields(tmp_path):
    path = write(tmp_path / "notes.csv",
                 'Téléphone,Notes\n'
                 '0612345678,"a\nb\nc"\n'     # lines 2-4
                 '\n'                          # line 5: blank line, an empty row
                 ',\n'                         # line 6: empty row
                 '0699,"x\r\ny"\n'             # line 7-8: bad phone at 7
                 '0698765432,ok\n')            # line 9
    checked = check_file(path)
    assert checked.rows == 5
    assert checked.empty == [5, 6]
    assert [(i.line, i.reason) for i in checked.invalid] == [(7, "phone : longueur incorrecte pour un numéro FR : "
                                                                 "'0699'")]
    assert [c.line for c in checked.contacts] == [2, 9]


def test_missing_phone_value_and_several_problems_in_one_row(tmp_path):
    path = write(tmp_path / "p.csv", "Nom;Tel;Mail;TZ\nA;;a@b.c;\nB;0612345678;nope;Nowhere\n")
    checked = check_file(path)
    assert [(i.line, i.reason) for i in checked.invalid] == [
        (2, "phone : vide"),
        (3, "timezone : fuseau horaire inconnu : 'Nowhere' (un nom comme Europe/Paris est attendu)"),
    ]


def test_region_for_numbers_without_country_code(tmp_path):
    path = write(tmp_path / "be.csv", "GSM\n0470 12 34 56\n")
    assert check_file(path, region="be").contacts[0].phone == "+32470123456"
    assert check_file(path).contacts[0].phone == "+33470123456"  # the same digits, read as a French landline


def test_plan_import_is_pure():
    a, b = Contact(2, "+33612345678"), Contact(3, "+33698765432")
    plan = plan_import([a, b, Contact(4, "+33612345678")], {"+33698765432": 7})
    assert plan.new == [a] and plan.stored == [(b, 7)]
    assert [(d.line, d.first_line, d.contact_id) for d in plan.duplicates] == [(3, None, 7), (4, 2, None)]


# -- headers ----------------------------------------------------------------------------------------

def test_headers_are_matched_without_case_accents_spaces_or_punctuation():
    assert normalise(" Tél. ") == "tel" and normalise("E-MAIL") == "email" and normalise("Raison  sociale") == \
        "raisonsociale"
    columns = map_headers(["NOM", "prenom", "Tél.", "Courriel", "Raison sociale", "Fuseau", "Nom complet", ""])
    assert columns.columns == {"NOM": "last_name", "prenom": "first_name", "Tél.": "phone", "Courriel": "email",
                               "Raison sociale": "company", "Fuseau": "timezone", "Nom complet": "extra",
                               "column 8": "extra"}


def test_map_overrides_and_ambiguity():
    with pytest.raises(MappingError, match="'Tel' et 'Mobile' ressemblent toutes à phone"):
        map_headers(["Nom", "Tel", "Mobile"])
    columns = map_headers(["Nom", "Tel", "Mobile"], parse_map(["Mobile=phone"]))
    assert columns.columns == {"Nom": "last_name", "Tel": "extra", "Mobile": "phone"}
    columns = map_headers(["Nom", "Tél. fixe", "Notes"], parse_map(["tel fixe=phone", "Notes=skip"]))
    assert columns.fields["phone"] == 1 and columns.extra == []
    with pytest.raises(MappingError, match="champ inconnu 'telephone'"):
        parse_map(["Tel=telephone"])
    with pytest.raises(MappingError, match="colonne introuvable"):
        map_headers(["Nom", "Tel"], {"GSM": "phone"})


def test_missing_phone_column_names_the_headers(tmp_path):
    path = write(tmp_path / "nophone.csv", "Nom;Prénom;Tel fixe\nA;B;0612345678\n")
    with pytest.raises(MappingError, match="aucune colonne de téléphone ; les colonnes sont : 'Nom', 'Prénom', 'Tel "
                                           "fixe'"):
        check_file(path)
    assert check_file(path, mapping={"Tel fixe": "phone"}).contacts[0].phone == "+33612345678"


# -- malformed files --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"", "le fichier est vide"),
    ("blank.csv", b"\r\n  \n", "le fichier est vide"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "classeur XLSX illisible"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ancien format Excel binaire"),
    ("syntax.json", b'[\n  {"tel": "0612345678"},\n  {"tel": }\n]', "ligne 3, colonne 11 : JSON invalide : Expecting "
                                                                    "value"),
    ("item.json", b'[{"tel": "0612345678"}, ["0698765432"]]', "l'élément 1 (ligne 3) est une liste, un objet est "
                                                              "attendu"),
    ("scalar.json", b'{"people": []}', "une liste d'objets contact est attendue"),
    ("none.json", b"[]", "aucun contact"),
    ("quote.csv", b'tel;nom\n0612345678;"Dupont\n0698765432;Martin\n', "ligne 2 : CSV mal formé"),
])
def test_malformed_files_say_what_and_where(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError, match=re.escape(message)) as caught:
        read_table(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ReadError, match="fichier introuvable"):
        read_table(tmp_path / "nope.csv")


def test_bytes_neither_utf8_nor_cp1252(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"tel;nom\n0612345678;ab\x81c\n")  # 0x81 is undefined in cp1252
    with pytest.raises(ReadError, match="ligne 2 : pas du texte en ni UTF-8 ni cp1252"):
        read_table(path)


# -- storage ----------------------------------------------------------------------------------------

async def test_dry_run_writes_nothing_but_checks_stored_duplicates(db, tmp_path):
    await import_contacts(db, write(tmp_path / "a.csv", "Tel\n0612345678\n"))
    campaign = await new_campaign(db)
    before = await counts(db)
    path = write(tmp_path / "b.csv", "Tel\n0612345678\n0698765432\nbad\n")
    report = await import_contacts(db, path, dry_run=True, campaign_id=campaign)
    assert await counts(db) == before
    data = report.to_json()
    assert data["valid"] == 1 and "imported" not in data and data["dry_run"] is True
    assert data["duplicates"][0]["first_line"] is None and data["enrolled"] == 2


async def test_campaign_enrolment_plans_first_attempts(db, tmp_path):
    campaign = await new_campaign(db)
    await import_contacts(db, write(tmp_path / "old.csv", "Tel\n0611111111\n"))  # stored before, in no campaign
    path = write(tmp_path / "c.csv", "Tel\n0611111111\n0612345678\n0698765432\n0612345678\n")
    report = await import_contacts(db, path, campaign_id=campaign)
    assert report.imported == 2 and report.enrolled == 3  # the stored contact is enrolled, not duplicated
    assert await counts(db) == (3, 3, 3)
    attempts = await db.pool.fetch("SELECT * FROM attempts")
    assert {(a["status"], a["number"], a["reason"], a["campaign_id"]) for a in attempts} == {
        ("SCHEDULED", 1, "first", campaign)}
    assert all(a["due_at"] is not None for a in attempts)

    again = await import_contacts(db, path, campaign_id=campaign)  # the same file twice: nobody enrolled twice
    assert again.imported == 0 and again.enrolled == 0
    assert await counts(db) == (3, 3, 3)


async def test_campaign_must_exist_and_be_open(db, tmp_path):
    path = write(tmp_path / "c.csv", "Tel\n0612345678\n")
    with pytest.raises(UnknownCampaign, match="--campaign 999 : campagne introuvable"):
        await import_contacts(db, path, campaign_id=999)
    closed = await new_campaign(db, "CANCELLED")
    with pytest.raises(ClosedCampaign, match="est CANCELLED"):
        await import_contacts(db, path, campaign_id=closed)
    assert await counts(db) == (0, 0, 0)


async def test_a_failure_midway_leaves_the_database_as_it_was(db, tmp_path):
    await import_contacts(db, write(tmp_path / "before.csv", "Tel;Nom\n0600000001;Kept\n"))
    campaign = await new_campaign(db)
    before = await counts(db)
    numbers = phones_of(1000, start=100)
    path = write(tmp_path / "big.csv", "Tel;Nom\n" + "".join(f"{p};N{i}\n" for i, p in enumerate(numbers)))
    # data row 500 (N499) cannot be stored: the whole import must go, the 499 rows before it included
    await db.pool.execute("""
        CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.last_name = 'N499' THEN RAISE EXCEPTION 'refused row 500'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_row BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION refuse_row();
    """)
    with pytest.raises(DatabaseError, match="annulé, rien n'a été écrit.*refused row 500"):
        await import_contacts(db, path, campaign_id=campaign)
    assert await counts(db) == before

    # a failure in the last step (the attempts), after every contact and enrolment was inserted
    await db.pool.execute("DROP TRIGGER refuse_row ON contacts")
    await db.pool.execute("ALTER TABLE attempts ADD CONSTRAINT no_attempts_yet CHECK (number > 1) NOT VALID")
    with pytest.raises(DatabaseError, match="no_attempts_yet"):
        await import_contacts(db, path, campaign_id=campaign)
    assert await counts(db) == before
    assert await db.pool.fetchval("SELECT last_name FROM contacts") == "Kept"


async def test_many_rows_go_in_bulk(db, tmp_path):
    numbers = phones_of(3000, start=5000)
    path = write(tmp_path / "many.csv", "Tel\n" + "\n".join(numbers) + "\n")
    report = await import_contacts(db, path)
    assert report.imported == 3000 and await counts(db) == (3000, 0, 0)


# -- the command line -------------------------------------------------------------------------------

async def test_cli_json_report_shape(db, database_url, tmp_path):
    campaign = await new_campaign(db)
    path = write(tmp_path / "export.csv", FRENCH_CSV, "cp1252")
    result = await run_cli(database_url, str(path), "--json", "--campaign", str(campaign))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # exactly one JSON object
    assert {"rows", "imported", "duplicates", "invalid", "empty", "enrolled", "file"} <= data.keys()
    assert data["rows"] == 7 and data["imported"] == 3 and data["enrolled"] == 3 and data["campaign"] == campaign
    assert data["duplicates"] == [{"line": 7, "phone": "+33612345678", "first_line": 2, "contact_id": None},
                                  {"line": 9, "phone": "+33612345678", "first_line": 2, "contact_id": None}]
    assert data["invalid"][0] == {"line": 5, "reason": "phone : longueur incorrecte pour un numéro FR : '06 12'"}
    assert data["empty"] == [6] and data["file"] == str(path)

    dry = await run_cli(database_url, str(path), "--json", "--dry-run")
    data = json.loads(dry.stdout)
    assert dry.exit_code == 0 and data["valid"] == 0 and "imported" not in data
    assert [d["first_line"] for d in data["duplicates"]] == [None, None, 2, None, 2]


async def test_cli_human_summary(db, database_url, tmp_path):
    path = write(tmp_path / "bad.csv", "Portable\n0612345678\n" + "".join(f"06 1{i}\n" for i in range(25)))
    result = await run_cli(database_url, str(path))
    assert result.exit_code == 0, result.output
    assert "1 importé(s), 0 doublon(s), 25 invalide(s), 0 vide(s)" in result.output
    assert "ligne 3 : phone : longueur incorrecte pour un numéro FR : '06 10'" in result.output
    assert "ligne 22 : " in result.output and "ligne 23 : " not in result.output  # the first 20 only
    assert "…et 5 de plus" in result.output


async def test_cli_map_override(db, database_url, tmp_path):
    path = write(tmp_path / "fixe.csv", "Nom;Tel fixe;Portable\nA;01 42 68 53 00;06 12 34 56 78\n")
    result = await run_cli(database_url, str(path), "--map", "Tel fixe=phone", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["columns"] == {"Nom": "last_name", "Tel fixe": "phone", "Portable": "extra"}
    row = await db.pool.fetchrow("SELECT phone, extra FROM contacts")
    assert row["phone"] == "+33142685300" and json.loads(row["extra"]) == {"Portable": "06 12 34 56 78"}


async def test_cli_errors_and_exit_codes(db, database_url, tmp_path):
    nophone = write(tmp_path / "nophone.csv", "Nom;Prénom\nA;B\n")
    result = await run_cli(database_url, str(nophone))
    assert result.exit_code == 2 and "aucune colonne de téléphone" in result.output and "'Prénom'" in result.output

    result = await run_cli(database_url, str(nophone), "--json")
    assert result.exit_code == 2 and "aucune colonne de téléphone" in json.loads(result.stdout)["error"]

    result = await run_cli(database_url, str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "missing.csv : fichier introuvable" in result.output

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage")
    result = await run_cli(database_url, str(broken), "--json")
    assert result.exit_code == 1 and "classeur XLSX illisible" in json.loads(result.stdout)["error"]

    ok = write(tmp_path / "ok.csv", "Tel\n0612345678\n")
    assert (await run_cli(database_url, str(ok), "--map", "Tel")).exit_code == 2
    assert (await run_cli(database_url, str(ok), "--region", "XX")).exit_code == 2
    assert (await run_cli(database_url, str(ok), "--campaign", "42")).exit_code == 2
    closed = await new_campaign(db, "COMPLETED")
    result = await run_cli(database_url, str(ok), "--campaign", str(closed))
    assert result.exit_code == 1 and "COMPLETED" in result.output
    assert await counts(db) == (0, 0, 0)


def test_report_json_keys():
    report = ImportReport(file="f.csv", format="csv", rows=0, imported=0, duplicates=[], invalid=[], empty=[])
    assert list(report.to_json()) == ["file", "format", "dry_run", "campaign", "rows", "imported", "enrolled",
                                      "duplicates", "invalid", "empty", "columns", "warnings", "updated"]


async def test_phone_stored_meanwhile_is_reported_not_fatal(db, database_url, tmp_path):
    """A phone stored by someone else between the lookup and the insert is skipped (ON CONFLICT) and
    reported as already stored. A trigger plays the other writer, right before our row goes in."""
    path = write(tmp_path / "race.csv", "Tel\n0612345678\n0698765432\n")
    checked = check_file(path)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("""
            CREATE FUNCTION sneak_in() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.phone = '+33698765432' AND NOT EXISTS (SELECT 1 FROM contacts WHERE phone = NEW.phone) THEN
                    INSERT INTO contacts (phone, last_name) VALUES (NEW.phone, 'other');
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER sneak_in BEFORE INSERT ON contacts FOR EACH ROW WHEN (pg_trigger_depth() = 0)
                EXECUTE FUNCTION sneak_in();
        """)
    finally:
        await conn.close()
    report = await store_checked(db, checked)
    assert report.imported == 1
    other = await db.pool.fetchval("SELECT id FROM contacts WHERE last_name = 'other'")
    assert [d.to_json() for d in report.duplicates] == [
        {"line": 3, "phone": "+33698765432", "first_line": None, "contact_id": other}]
