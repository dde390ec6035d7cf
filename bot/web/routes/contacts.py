"""Contact imports over HTTP: a file uploaded (multipart field "file": CSV, XLSX or JSON) or a JSON
list in the body, into a campaign or not; the answer is the importer's report, as the CLI's --json.

The upload is streamed to a private temporary directory (never held whole in memory), capped at
`WebContext.max_upload_bytes` (413 past it), checked in a thread (phonenumbers costs seconds of CPU
on 100k rows) and deleted once imported. The report names the file as the client sent it, not the
temporary path.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from ...contacts.headers import TARGETS, MappingError, parse_map
from ...contacts.importer import (
    BadArguments,
    CheckedFile,
    ReadError,
    check_file,
    check_region,
    store_checked,
)
from ...store.campaigns import get_campaign
from ..context import context
from ..errors import ApiError
from . import JSON, Answer, Route, json_body, parse_query, path_id, reply, validate

CHUNK = 256 * 1024
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file itself
INLINE_NAME = "api-contacts.json"  # contacts.source of contacts sent as a JSON list


class ContactIn(BaseModel):
    """One contact, as in a JSON contact file: `phone` plus any of the known fields; other keys are kept
    in the contact's `extra`."""

    model_config = ConfigDict(extra="allow")

    phone: str | int = Field(description="the number, E.164 or national (see `region`)")
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    timezone: str | None = Field(None, description="an IANA zone such as Europe/Paris")


class ContactList(RootModel[list[ContactIn]]):
    """Contacts in a JSON body. Line numbers in the report count as in a JSON file: item i is line i + 2."""


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(False, description="check and report only; write nothing")
    region: str = Field("FR", description="country of numbers written without a +country code")
    map: list[str] = Field(default_factory=list,
                           description=f"COLUMN=field, repeatable; field is one of {', '.join(TARGETS)}")


class ImportReportOut(BaseModel):
    """bot.contacts.importer.ImportReport.to_json(); a dry run says `valid` instead of `imported`."""

    file: str
    format: str
    dry_run: bool
    campaign: int | None
    rows: int
    imported: int | None = None
    valid: int | None = None
    enrolled: int
    duplicates: list[dict[str, Any]]
    invalid: list[dict[str, Any]]
    empty: list[int]
    columns: dict[str, str]
    warnings: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []


def _safe_name(filename: str | None) -> str:
    """The client's file name reduced to a harmless base name; its extension tells the reader the format.
    Percent escapes are decoded: browsers write `"` as %22 and aiohttp's client escapes every space."""
    base = Path(unquote(filename or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[-100:]
    return base or "upload"


async def _receive_multipart(request: web.Request, folder: Path, limit: int) -> tuple[Path, str]:
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue  # other fields are not ours; the reader skips what is left of them
        name = _safe_name(part.filename)
        path = folder / name
        size = 0
        # plain writes of 256 KiB to a local temp file: microseconds each, not worth a thread hop
        with path.open("wb") as out:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"the file is larger than the {limit // 2**20} MiB upload limit")
                out.write(chunk)
        return path, name
    raise ApiError(400, 'no "file" field in the multipart body', field="file")


async def _receive_json(request: web.Request, folder: Path) -> tuple[Path, str]:
    contacts = validate(ContactList, await json_body(request))
    return write_inline(contacts.root, folder), INLINE_NAME


def write_inline(contacts: list[ContactIn], folder: Path) -> Path:
    path = folder / INLINE_NAME
    path.write_text(json.dumps([c.model_dump(exclude_none=True) for c in contacts], ensure_ascii=False),
                    encoding="utf-8")
    return path


@asynccontextmanager
async def scratch() -> AsyncIterator[Path]:
    """A private temporary directory (0700), removed with what it holds."""
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="minibot-api-"))
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def check_received(path: Path, name: str, *, mapping: dict[str, str], region: str,
                         body_field: str = "file") -> CheckedFile:
    """The importer's checks, in a thread; its errors as 400s that name the client's file, not ours."""
    try:
        return await asyncio.to_thread(check_file, path, mapping=mapping, region=region)
    except ReadError as exc:
        raise ApiError(400, str(exc).replace(str(path), name), field=body_field) from None
    except MappingError as exc:
        raise ApiError(400, str(exc).replace(str(path), name), field="map" if mapping else body_field) from None


def import_options(query: ImportQuery) -> tuple[str, dict[str, str]]:
    try:
        region = check_region(query.region)
    except BadArguments as exc:
        raise ApiError(400, str(exc).replace("--region", "region"), field="region") from None
    try:
        mapping = parse_map(query.map)
    except MappingError as exc:
        raise ApiError(400, str(exc).replace("--map", "map"), field="map") from None
    return region, mapping


async def _import(request: web.Request, campaign_id: int | None) -> web.Response:
    ctx = context(request)
    query = parse_query(request, ImportQuery)
    region, mapping = import_options(query)
    if campaign_id is not None:
        await get_campaign(ctx.db.pool, campaign_id)  # 404 before a large upload is read, not after
    kind = request.content_type
    if kind == "multipart/form-data":
        if request.content_length is not None and request.content_length > ctx.max_upload_bytes + MULTIPART_SLACK:
            raise ApiError(413, f"the upload is larger than the {ctx.max_upload_bytes // 2**20} MiB limit")
    elif kind != JSON:
        raise ApiError(415, f"send the contacts as multipart/form-data (field \"file\") or as a JSON list, "
                            f"not {kind}")
    async with scratch() as folder:
        if kind == JSON:
            path, name = await _receive_json(request, folder)
            body_field = "body"
        else:
            path, name = await _receive_multipart(request, folder, ctx.max_upload_bytes)
            body_field = "file"
        checked = await check_received(path, name, mapping=mapping, region=region, body_field=body_field)
        report = await store_checked(ctx.db, checked, campaign_id=campaign_id, dry_run=query.dry_run)
    report.file = name
    return reply(report.to_json())


async def import_into_campaign(request: web.Request) -> web.Response:
    return await _import(request, path_id(request))


async def import_contacts(request: web.Request) -> web.Response:
    return await _import(request, None)


_UPLOAD = {
    "multipart/form-data": {"type": "object", "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary",
                                                    "description": "a CSV (; , or tab), XLSX or JSON contact file"}}},
    JSON: ContactList,
}
_IMPORT_DOC = ("All or nothing: every row is imported, reported as a duplicate (of an earlier line, or of a "
               "contact already stored), invalid (with the column and the problem) or empty. Phones become "
               "E.164. Header = line 1.")
_IMPORT_ANSWERS = (Answer(200, "the import report", schema=ImportReportOut),)

ROUTES = (
    Route("POST", "/api/campaigns/{id}/contacts", import_into_campaign, "Import contacts into a campaign", "contacts",
          description=_IMPORT_DOC + " Contacts already stored are enrolled too, unchanged.",
          query=ImportQuery, body=_UPLOAD, answers=_IMPORT_ANSWERS, errors=(400, 404, 409, 413, 415)),
    Route("POST", "/api/contacts/import", import_contacts, "Import contacts (no campaign)", "contacts",
          description=_IMPORT_DOC, query=ImportQuery, body=_UPLOAD, answers=_IMPORT_ANSWERS,
          errors=(400, 413, 415)),
)
