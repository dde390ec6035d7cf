"""A campaign's calls as a file download (CSV for French Excel, or XLSX), as `minibot campaign export`.

bot.campaign.export writes the file (streamed from the database, in a thread) into a private
temporary directory; it is sent, then deleted. It holds full numbers and transcripts, so it never
stays on the server's disk after the answer.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ...campaign.export import export_campaign
from ..context import context
from . import Answer, Route, parse_query, path_id
from .contacts import scratch

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "xlsx"] = Field("csv", description="csv (UTF-8 with BOM, `;`, decimal commas) or xlsx")


async def export(request: web.Request) -> web.StreamResponse:
    campaign_id = path_id(request)
    fmt = parse_query(request, ExportQuery).format
    name = f"campaign-{campaign_id}.{fmt}"
    async with scratch() as folder:
        ctx = context(request)
        summary = await export_campaign(ctx.db.pool, campaign_id, fmt, folder / name, recordings_dir=ctx.recordings_dir)
        response = web.FileResponse(summary.path, headers={
            "Content-Type": CONTENT_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Rows": str(summary.rows),
            "Cache-Control": "no-store",  # personal data: no copy in a cache on the way
        })
        # sent here, while the file still exists; the directory goes when the block ends
        await response.prepare(request)
        await response.write_eof()
    return response


ROUTES = (
    Route("GET", "/api/campaigns/{id}/export", export, "Export a campaign's calls", "campaigns", query=ExportQuery,
          description="One row per call: contact, status, outcome, result, AMD, durations, objections, transcript, "
                      "recording. `X-Rows` gives the number of calls.",
          answers=(Answer(200, "the file (Content-Disposition: attachment)", content_type="text/csv",
                          schema={"type": "string"}),
                   Answer(200, "the file as XLSX", content_type=CONTENT_TYPES["xlsx"],
                          schema={"type": "string", "contentMediaType": CONTENT_TYPES["xlsx"]})),
          errors=(400, 404)),
)
