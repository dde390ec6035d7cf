"""The dashboard (bot.web.dashboard): its routes over HTTP, and the page itself in a real headless
Chromium, driven like an operator would: type the API key into the form, press Enter, pick a
campaign, read the figures.

How the browser is driven: Chromium starts headless with --remote-debugging-port=0 (it writes the port
it chose to DevToolsActivePort in its profile directory) and the test speaks the DevTools protocol to
the page over a WebSocket (aiohttp's client): Page.navigate, Input.insertText and Input.dispatchKeyEvent
to type, Runtime.evaluate to read the DOM. No Playwright, no Selenium, nothing downloaded: the
`chromium` Debian package (scripts/bootstrap installs it for the dev extras). Without a Chromium
binary the browser test is skipped with the reason.

The key never appears in a URL: the page takes it through its form, keeps it in sessionStorage and
sends it as X-API-Key; the test records every request the server answered to check that.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.campaign.live import live_view
from bot.web.app import build_app
from bot.web.context import WebContext
from tests.french import english_words
from tests.test_live import seed

KEY = "s3cr3t-dashboard-key"


def build_test_app(db) -> web.Application:
    """The API application (bot.web.app, which adds the dashboard's routes) around the test's database."""
    return build_app(WebContext(db=db, api_key=KEY))


def record_requests(app: web.Application) -> list[tuple[str, str, str | None, int]]:
    """(method, path with query, X-API-Key header, status) of every answered request."""
    seen: list[tuple[str, str, str | None, int]] = []

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        seen.append((request.method, request.path_qs, request.headers.get("X-API-Key"), response.status))

    app.on_response_prepare.append(on_prepare)
    return seen


@pytest.fixture
async def client(db):
    app = build_test_app(db)
    async with TestClient(TestServer(app)) as c:
        yield c


# -- the routes ---------------------------------------------------------------------------------------------

async def test_the_page_and_its_assets_are_public_and_locked_down(client):
    page = await client.get("/dashboard")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert '<script src="/dashboard/static/dashboard.js"' in html and "<script>" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    js = await client.get("/dashboard/static/dashboard.js")
    assert js.status == 200 and js.content_type == "text/javascript"
    assert "X-API-Key" in await js.text()
    css = await client.get("/dashboard/static/dashboard.css")
    assert css.status == 200 and css.content_type == "text/css"
    for name in ("dashboard.py", "..%2Fdashboard.py", "%2E%2E%2F..%2Fconfig.py", "dashboard.html"):
        missing = await client.get(f"/dashboard/static/{name}")
        assert missing.status == 404, name
        assert "error" in await missing.json()


async def test_the_live_figures_need_the_key(client, db):
    cid, _ = await seed(db, datetime.now(UTC))
    assert (await client.get(f"/api/campaigns/{cid}/live")).status == 401
    assert (await client.get(f"/api/campaigns/{cid}/live", headers={"X-API-Key": "nope"})).status == 401
    answer = await client.get(f"/api/campaigns/{cid}/live", headers={"X-API-Key": KEY})
    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    view = await answer.json()
    expected = await live_view(db.pool, cid)
    assert view.keys() == expected.keys()
    assert view["totals"] == expected["totals"] and view["rates"] == expected["rates"]
    assert view["rates"]["answer"] == round(4 / 7, 4)


async def test_live_errors_are_json(client, db):
    cid, _ = await seed(db, datetime.now(UTC))
    headers = {"X-API-Key": KEY}
    unknown = await client.get("/api/campaigns/999/live", headers=headers)
    assert unknown.status == 404 and (await unknown.json())["error"] == "campagne 999 introuvable"
    bad = await client.get(f"/api/campaigns/{cid}/live?bucket_minutes=0", headers=headers)
    assert bad.status == 400 and (await bad.json())["field"] == "bucket_minutes"
    windowed = await client.get(f"/api/campaigns/{cid}/live?hours=1&bucket_minutes=1", headers=headers)
    assert windowed.status == 200
    assert (await windowed.json())["bucket_minutes"] == 1


# -- the page in a real browser -----------------------------------------------------------------------------

def chromium_binary() -> str | None:
    for name in (os.environ.get("MINIBOT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome",
                 "google-chrome-stable"):
        if name and (path := shutil.which(name)):
            return path
    return None


class DevTools:
    """A minimal DevTools protocol client for one page: commands by id, page exceptions collected."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future] = {}
        self.exceptions: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Runtime.exceptionThrown":
                details = data["params"]["exceptionDetails"]
                self.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))

    async def send(self, method: str, **params: Any) -> dict:
        call_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[call_id] = future
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        answer = await asyncio.wait_for(future, 15)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    async def eval(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 15.0) -> Any:
        """Poll `expression` in the page until it is truthy."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.eval(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                body = await self.eval("document.body.innerText")
                raise AssertionError(f"timed out waiting for {what}; page exceptions {self.exceptions}; "
                                     f"page text:\n{body}")
            await asyncio.sleep(0.1)

    async def type(self, selector: str, text: str) -> None:
        """Focus a field and type into it, then press Enter (the form's implicit submission)."""
        await self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.send("Input.insertText", text=text)
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                            windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                            **({"text": "\r"} if kind == "keyDown" else {}))

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
        await self.ws.close()


@contextlib.asynccontextmanager
async def headless_chromium(binary: str):
    """Chromium with a throwaway profile; yields the DevTools HTTP base URL. Killed (its whole process
    group, which this test started) on the way out."""
    profile = Path(tempfile.mkdtemp(prefix="minibot-chromium-"))
    log = (profile / "chromium.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
        "--disable-sync", "--window-size=1280,1000", "--lang=fr-FR", "about:blank",
        # A French browser in another time zone than the campaign's: the page must show Paris time.
        env={**os.environ, "LANG": "fr_FR.UTF-8", "LANGUAGE": "fr_FR", "TZ": "America/New_York"},
        stdout=asyncio.subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):  # 30 s: a cold start on a busy 2-core machine takes a few seconds
            if (port_file.exists() and port_file.read_text().strip()) or process.returncode is not None:
                break
            await asyncio.sleep(0.1)
        if not port_file.exists():
            log.flush()
            raise AssertionError(f"chromium did not start: {(profile / 'chromium.log').read_text()[-2000:]}")
        port = int(port_file.read_text().split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


async def open_page(session: aiohttp.ClientSession, devtools_url: str) -> DevTools:
    async with session.get(f"{devtools_url}/json/list") as answer:
        targets = await answer.json()
    page = next(t for t in targets if t["type"] == "page")
    ws = await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
    tools = DevTools(ws)
    await tools.send("Runtime.enable")
    await tools.send("Page.enable")
    return tools


READ_DOM = """(() => {
  const text = (id) => document.getElementById(id).textContent;
  const rows = (id, attr) => Object.fromEntries([...document.querySelectorAll(`#${id} tr[data-${attr}]`)]
      .map((tr) => [tr.dataset[attr], tr.querySelector('.count').textContent]));
  const rects = [...document.querySelectorAll('#chart svg#timeline-chart rect[data-outcome]')];
  return {
    status: text('campaign-status'), answer: text('answer-rate'), qualified: text('qualified-rate'),
    optOut: text('opt-out-rate'), machine: text('machine-rate'),
    firstAudio: [text('first-audio-p50'), text('first-audio-p95')], turns: [text('turn-p50'), text('turn-p95')],
    waiting: [text('waiting-due'), text('waiting-later')], calls: text('calls-total'),
    outcomes: rows('outcomes', 'outcome'), results: rows('results', 'result'),
    bars: rects.map((r) => [r.dataset.outcome, Number(r.dataset.count), Number(r.getAttribute('height'))]),
    legend: [...document.querySelectorAll('#legend li')].map((li) => li.dataset.legend),
    active: [...document.querySelectorAll('#active-calls tbody tr')].map((tr) => [tr.dataset.state,
        tr.children[1].textContent, tr.children[2].textContent, tr.children[3].textContent]),
    updated: text('updated'), waitingNext: text('waiting-next'), lang: document.documentElement.lang,
    outcomeWords: [...document.querySelectorAll('#outcomes tr[data-outcome] th')].map((th) => th.textContent),
    legendWords: [...document.querySelectorAll('#legend li')].map((li) => li.textContent),
    stored: sessionStorage.getItem('minibot.apiKey'), local: localStorage.length, cookie: document.cookie,
    url: location.href,
  };
})()"""


async def test_the_page_renders_the_live_figures_in_chromium(db):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set MINIBOT_CHROMIUM)")
    cid, other = await seed(db, datetime.now(UTC))
    await db.pool.execute("UPDATE campaigns SET status = 'PAUSED' WHERE id = $1", other)
    await db.pool.execute("""UPDATE calls SET steps = '["hello", "interest"]' WHERE call_uuid = 'uuid-0'""")
    # How the caller felt at each step (bot.campaign.live counts the transcript's caller lines).
    await db.pool.execute("""UPDATE calls SET transcript = '[
        {"speaker": "caller", "text": "oui", "at_ms": 1, "sentiment": "neutral", "step": "hello"},
        {"speaker": "caller", "text": "super", "at_ms": 2, "sentiment": "positive", "step": "interest"},
        {"speaker": "caller", "text": "arrêtez", "at_ms": 3, "sentiment": "irritated", "step": "interest"}]'
        WHERE call_uuid = 'uuid-0'""")
    app = build_test_app(db)
    seen = record_requests(app)
    async with TestServer(app, host="127.0.0.1") as server, headless_chromium(binary) as devtools_url, \
            aiohttp.ClientSession() as session:
        page = await open_page(session, devtools_url)
        try:
            await page.send("Page.navigate", url=str(server.make_url("/dashboard")))
            await page.wait_for("document.readyState === 'complete' && !document.getElementById('login').hidden",
                                "the key form")

            # A wrong key is refused and the form comes back, saying so.
            await page.type("#api-key", "not-the-key")
            await page.wait_for("document.getElementById('key-error').textContent.includes('refusée')",
                                "the refusal")
            assert await page.eval("sessionStorage.getItem('minibot.apiKey')") is None
            # In French, not the API's English ("wrong X-API-Key"): the API writes for programs.
            refusal = await page.eval("document.getElementById('key-error').textContent")
            assert refusal == "Clé refusée : clé incorrecte ou absente" and not english_words(refusal), refusal

            await page.type("#api-key", KEY)
            await page.wait_for("document.getElementById('answer-rate').textContent === '57\\u00a0%'", "the figures")
            await page.wait_for("document.querySelectorAll('#timeline-chart rect').length > 0", "the chart")
            dom = await page.eval(READ_DOM)
            # Every word on the page is French; the codes (QUALIFIED...), step ids and figures aside.
            shown = await page.eval("document.body.innerText")
            assert not english_words(shown, {"hello", "interest"}), (english_words(shown), shown)

            # The running campaign is picked by default; its figures are those of the terminal view.
            assert dom["status"] == "EN COURS" and dom["lang"] == "fr"
            assert (dom["answer"], dom["qualified"], dom["optOut"], dom["machine"]) == ("57\xa0%", "50\xa0%", "25\xa0%",
                                                                                  "25\xa0%")
            assert dom["firstAudio"] == ["1000 ms", "1180 ms"] and dom["turns"] == ["500 ms", "680 ms"]
            assert dom["waiting"] == ["1", "2"] and dom["calls"] == "9"
            assert dom["outcomes"] == {"answered": "4", "busy": "1", "no_answer": "1", "interrupted": "1"}
            assert dom["results"] == {"QUALIFIED": "1", "APPOINTMENT_SCHEDULED": "1", "OPTED_OUT": "1",
                                      "ANSWERING_MACHINE": "1"}
            # Who is being called, for the operator who holds the key; states in French.
            assert sorted(dom["active"]) == [["ringing", "Contact 7", "+33612345607", "sonne"],
                                             ["talking", "Contact 8", "+33612345608", "en ligne"]]
            # Times in the campaign's zone (Europe/Paris), 24-hour clock, dd/mm/yyyy; the browser is in New York.
            paris = datetime.now(ZoneInfo("Europe/Paris"))
            assert re.fullmatch(r"à \d\d:\d\d:\d\d \(Europe/Paris\)", dom["updated"]), dom["updated"]
            assert int(dom["updated"][2:4]) in (paris.hour, (paris.hour - 1) % 24)
            assert re.fullmatch(r"prochain : \d\d/\d\d/\d{4} \d\d:\d\d", dom["waitingNext"]), dom["waitingNext"]
            assert "AM" not in dom["waitingNext"] and "PM" not in dom["waitingNext"]
            assert {"décroché", "occupé", "pas de réponse", "interrompu"} <= set(dom["outcomeWords"])
            assert "opposition" in dom["legendWords"] and "busy" not in dom["legendWords"]
            funnel = await page.eval("[...document.querySelectorAll('#funnel tr[data-step]')].map((tr) => "
                                     "[tr.dataset.step, tr.querySelector('.reached').textContent])")
            assert funnel == [["hello", "1"], ["interest", "1"]]
            moods = await page.eval("[...document.querySelectorAll('#moods tr[data-step]')].map((tr) => "
                                    "[tr.dataset.step, ...[...tr.querySelectorAll('td.count')].map((td) => "
                                    "td.dataset.mood + '=' + td.textContent)])")
            assert moods == [["hello", "positif=0", "neutre=1", "négatif=0", "irrité=0"],
                             ["interest", "positif=1", "neutre=0", "négatif=0", "irrité=1"]]
            assert await page.eval("[...document.querySelectorAll('#moods thead th')].map((th) => th.textContent)"
                                   ".join(',')") == "étape,positif,neutre,négatif,irrité,"
            assert await page.eval("document.querySelectorAll('#moods .part').length") == 3
            # The chart: one bar segment per way calls ended, all calls of the campaign stacked in it.
            labels = {label for label, _, _ in dom["bars"]}
            assert {"busy", "no_answer", "QUALIFIED", "OPTED_OUT", "in_progress"} <= labels
            assert sum(n for _, n, _ in dom["bars"]) == 9 and all(h > 0 for _, _, h in dom["bars"])
            assert set(dom["legend"]) == labels

            # The key stays in the tab: sessionStorage, no cookie, no local storage, never a URL.
            assert dom["stored"] == KEY and dom["local"] == 0 and dom["cookie"] == ""
            assert KEY not in dom["url"]
            assert all(KEY not in path for _, path, _, _ in seen)
            live_calls = [(key, status) for _, path, key, status in seen if path.endswith("/live")]
            assert live_calls and all(entry == (KEY, 200) for entry in live_calls)

            # It keeps polling (every 2 s).
            before = len(live_calls)
            await page.wait_for("new Promise((ok) => setTimeout(() => ok(true), 2500))", "a pause")
            assert len([p for _, p, _, _ in seen if p.endswith("/live")]) > before

            # Picking the other campaign shows its figures.
            await page.eval(f"""(() => {{ const s = document.getElementById('campaign');
                s.value = '{other}'; s.dispatchEvent(new Event('change')); }})()""")
            await page.wait_for("document.getElementById('campaign-status').textContent === 'EN PAUSE'",
                                "the other campaign")
            await page.wait_for("document.getElementById('answer-rate').textContent === '100\\u00a0%'",
                                "the other campaign's figures")
            assert await page.eval("document.querySelectorAll('#active-calls tbody tr').length") == 0
            assert page.exceptions == []
        finally:
            await page.close()
