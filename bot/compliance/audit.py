"""The audit of a campaign, fit to answer a DGCCRF or CNIL request: why each number was (or was not) dialled.

One row per gate decision (bot.store.decisions), in time order: when, the full number (this export is
for the authority; logs mask numbers), allowed or not, the regime in force, the legal basis, the reasons
and the legal texts they apply, the consent relied on (when, how, for whom, the exact wording, the
proof) or the contract reference, the caller ID presented, and for a dial that was made: its call, its
outcome, when the AI disclosure had been heard to its end, and the opt-out heard on it with the words.
The campaign's own statements (basis, sector, advertiser, purpose, contract subject, legal ground) head
the JSON and form the XLSX's first sheet; every do-not-call request of the campaign's numbers follows
(the JSON's `oppositions`, the XLSX's last sheet). The CSV holds all three in one table a spreadsheet
filters: its first column `nature` says what each row is (`campagne`, `decision`, `opposition`). Headers
are French: the reader is a French authority.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import asyncpg

from ..store.campaigns import get_campaign
from .law import AI_ACT

PARIS = ZoneInfo("Europe/Paris")
Format = Literal["csv", "xlsx", "json"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "json")

COLUMNS = (
    ("horodatage", "decided_at"), ("numero", "phone"), ("autorise", "allowed"), ("regime", "regime"),
    ("base_legale", "legal_basis"), ("motifs", "reasons"), ("textes_appliques", "rules"),
    ("consentement_id", "consent_id"), ("consentement_donne_le", "consent_granted_at"),
    ("consentement_mode", "consent_method"), ("consentement_pour", "consent_company"),
    ("consentement_recueilli_par", "consent_collected_by"), ("consentement_finalites", "consent_purposes"),
    ("consentement_texte", "consent_wording"), ("consentement_preuve", "consent_proof"),
    ("consentement_hors_horaires", "consent_outside_hours"), ("reference_contrat", "contract_ref"),
    ("numero_presente", "caller_id"), ("appel", "call_uuid"), ("issue", "outcome"), ("resultat", "result"),
    ("mention_ia_entendue_ms", "disclosure_done_ms"), ("opposition_le", "opt_out_at"),
    ("opposition_paroles", "opt_out_evidence"), ("opposition_source", "opt_out_source"), ("details", "details"),
)

# The CSV's one table: what each row is, and the campaign it belongs to (an opposition may have been heard
# on another campaign's call, or come from a letter: it binds this campaign all the same).
CSV_COLUMNS = (("nature", "nature"), ("campagne", "campaign_id"), *COLUMNS)

_QUERY = """
SELECT d.decided_at, d.phone, d.allowed, d.regime, d.legal_basis, d.reasons, d.rules, d.consent_id,
       d.contract_ref, d.caller_id, d.details,
       k.granted_at AS consent_granted_at, k.method AS consent_method, k.company AS consent_company,
       k.collected_by AS consent_collected_by, k.purposes AS consent_purposes, k.wording AS consent_wording,
       coalesce(k.proof_ref, k.evidence) AS consent_proof, k.outside_hours AS consent_outside_hours,
       cl.call_uuid, cl.outcome, cl.result, cl.disclosure_done_ms,
       o.created_at AS opt_out_at, o.evidence AS opt_out_evidence, o.source AS opt_out_source
FROM gate_decisions d
LEFT JOIN consents k ON k.id = d.consent_id
LEFT JOIN attempts a ON a.id = d.attempt_id AND d.allowed
LEFT JOIN calls cl ON cl.id = a.call_id
LEFT JOIN LATERAL (SELECT created_at, evidence, source FROM opt_outs WHERE call_id = cl.id
                   ORDER BY id LIMIT 1) o ON true
WHERE d.campaign_id = $1
ORDER BY d.decided_at, d.id
"""


# Every do-not-call request of a number the campaign holds or dialled, with the words: the evidence that
# each was honoured (the gate refused the number from then on: see the decisions).
_OPT_OUTS = """
SELECT o.created_at AS le, o.phone AS numero, o.source, o.evidence AS paroles, c.call_uuid AS appel,
       o.campaign_id AS campagne
FROM opt_outs o LEFT JOIN calls c ON c.id = o.call_id
WHERE o.campaign_id = $1
   OR o.phone IN (SELECT k.phone FROM campaign_contacts cc JOIN contacts k ON k.id = cc.contact_id
                  WHERE cc.campaign_id = $1)
ORDER BY o.created_at, o.id
"""


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(PARIS).isoformat(timespec="seconds")
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value


async def audit_rows(pool: asyncpg.Pool | asyncpg.Connection, campaign_id: int) -> list[dict[str, Any]]:
    rows = []
    for r in await pool.fetch(_QUERY, campaign_id):
        row = dict(r)
        row["reasons"], row["rules"] = list(row["reasons"]), list(row["rules"])
        row["consent_purposes"] = list(row["consent_purposes"]) if row["consent_purposes"] is not None else None
        row["details"] = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
        rows.append(row)
    return rows


async def campaign_statement(pool: asyncpg.Pool | asyncpg.Connection, campaign_id: int) -> dict[str, Any]:
    c = await get_campaign(pool, campaign_id)  # LookupError for an unknown campaign
    return {"campagne": c.id, "nom": c.name, "scenario": c.scenario, "base_legale": c.legal_basis or "consent",
            "secteur": c.sector, "annonceur": c.advertiser, "finalite": c.purpose,
            "objet_du_contrat": c.contract_subject, "sans_contenu_commercial": c.no_sales_declared,
            "numero_presente": c.caller_id, "fondement_des_derogations": c.legal_ground,
            "regles": c.compliance, "mention_ia": f"obligatoire ({AI_ACT})"}


async def export_audit(pool: asyncpg.Pool | asyncpg.Connection, campaign_id: int, fmt: Format, out: Path) -> int:
    """Write the audit to `out`; the number of decisions. LookupError for an unknown campaign."""
    statement = await campaign_statement(pool, campaign_id)
    rows = await audit_rows(pool, campaign_id)
    opt_outs = [dict(r) for r in await pool.fetch(_OPT_OUTS, campaign_id)]
    tmp = out.with_name(out.name + ".part")
    if fmt == "json":
        body = {"campagne": statement, "decisions": [{fr: _json(row[key]) for fr, key in COLUMNS} for row in rows],
                "oppositions": [{k: _json(v) for k, v in o.items()} for o in opt_outs]}
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    elif fmt == "csv":
        with tmp.open("w", encoding="utf-8-sig", newline="") as f:  # BOM: Excel opens the accents right
            writer = csv.writer(f, delimiter=";")
            writer.writerow([fr for fr, _ in CSV_COLUMNS])
            for row in csv_rows(statement, rows, opt_outs):
                writer.writerow([_value(row.get(key)) for _, key in CSV_COLUMNS])
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "campagne"
        for key, value in statement.items():
            sheet.append([key, _value(value)])
        decisions = book.create_sheet("decisions")
        decisions.append([fr for fr, _ in COLUMNS])
        for row in rows:
            decisions.append([_text(_value(row[key])) for _, key in COLUMNS])
        oppositions = book.create_sheet("oppositions")
        oppositions.append(["le", "numero", "source", "paroles", "appel", "campagne"])
        for o in opt_outs:
            oppositions.append([_text(_value(v)) for v in o.values()])
        book.save(tmp)
    tmp.replace(out)
    return len(rows)


def csv_rows(statement: dict[str, Any], rows: list[dict[str, Any]],
             opt_outs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CSV's rows: the campaign's statement (its basis and caller ID in their columns, the rest in
    `details`), each gate decision, then each opposition (when, the number, how it came, the words)."""
    rest = {k: v for k, v in statement.items() if k not in ("campagne", "base_legale", "numero_presente")}
    head = {"nature": "campagne", "campaign_id": statement["campagne"], "legal_basis": statement["base_legale"],
            "caller_id": statement["numero_presente"], "details": rest}
    decisions = [{"nature": "decision", "campaign_id": statement["campagne"], **row} for row in rows]
    oppositions = [{"nature": "opposition", "campaign_id": o["campagne"], "decided_at": o["le"],
                    "phone": o["numero"], "opt_out_at": o["le"], "opt_out_source": o["source"],
                    "opt_out_evidence": o["paroles"], "call_uuid": o["appel"]} for o in opt_outs]
    return [head, *decisions, *oppositions]


def _json(value: Any) -> Any:
    return value.astimezone(PARIS).isoformat(timespec="seconds") if isinstance(value, datetime) else value


def _text(value: Any) -> Any:
    # openpyxl would store a leading "=" as a formula: an audit cell is data, never a formula.
    return "'" + value if isinstance(value, str) and value.startswith("=") else value
