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
