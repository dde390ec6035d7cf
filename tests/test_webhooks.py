"""Post-call webhooks and the pre-call lookup, against a real PostgreSQL and a real aiohttp
receiver on loopback: signed events written with the call's conclusion, a receiver down for a
while (nothing lost), answers lost (sent again, with the same event id), a wrong secret (FAILED,
then resent), and the lookup's values, timeout and failure."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from aiohttp import web

from bot.call.call import CallRecord, Utterance
from bot.call.outcome import Outcome
from bot.campaign.dialer import Dialer, DialerConfig
from bot.integrations import outbox
from bot.integrations.delivery import DeliveryConfig, WebhookDelivery
from bot.integrations.lookup import LookupFailed, PreCallLookup
from bot.integrations.signing import SignatureError, sign, verify
from bot.store.calls import insert_call
from tests.dialing import Clock, phones, running_campaign, weekday_morning

SECRET = "s3cret-partage-avec-le-crm"
FAST = DeliveryConfig(poll_interval=0.05, backoff_base=0.1, backoff_max=0.4, timeout=2.0, jitter=0.0)


def test_a_signature_binds_body_and_time_and_refuses_replays():
    body = b'{"id":"x"}'
    headers = sign(SECRET, "evt-1", body, now=1_000_000)
    assert verify(SECRET, headers, body, now=1_000_010) == "evt-1"
    with pytest.raises(SignatureError, match="replay"):
        verify(SECRET, headers, body, now=1_000_000 + 301)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, headers, b'{"id":"y"}', now=1_000_000)
    with pytest.raises(SignatureError, match="does not match"):
        verify("un-autre-secret-du-crm", headers, body, now=1_000_000)
    forged = {**headers, "X-MiniBot-Timestamp": str(1_000_000 + 200)}  # a fresh time on an old signature
    with pytest.raises(SignatureError):
        verify(SECRET, forged, body, now=1_000_200)


class Crm:
    """A CRM's receiving end: checks each signature, keeps every request, answers as told."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.received: list[tuple[str, bytes]] = []
        self.answers: list[int] = []  # statuses to answer, in order; then 200
        self.hang: int = 0  # requests to leave unanswered (the answer is lost)
        self.lookup_delay = 0.0
        self.port = _free_port()
        self.runner: web.AppRunner | None = None

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event_id = verify(self.secret, request.headers, body, time.time())
        except SignatureError as exc:
            return web.Response(status=401, text=str(exc))
        self.received.append((event_id, body))
        if self.hang:
            self.hang -= 1
            await asyncio.sleep(3)  # past the delivery's timeout
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    async def lookup(self, request: web.Request) -> web.Response:
        body = await request.read()
        verify(self.secret, request.headers, body, time.time())
        asked = json.loads(body)
        await asyncio.sleep(self.lookup_delay)
        return web.json_response({"offre": "fibre", "ville": asked["contact"].get("first_name", "?")})

    async def broken(self, request: web.Request) -> web.Response:
        return web.Response(status=500)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        app.router.add_post("/lookup", self.lookup)
        app.router.add_post("/broken", self.broken)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self) -> dict[str, list[bytes]]:
        out: dict[str, list[bytes]] = {}
        for event_id, body in self.received:
            out.setdefault(event_id, []).append(body)
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ENDINGS = {
    0: (Outcome.ANSWERED, "INTERESTED", ["oui ça m'intéresse"]),
    1: (Outcome.ANSWERED, "OPTED_OUT", ["ne m'appelez plus jamais"]),
    2: (Outcome.ANSWERED, "CALLBACK_REQUESTED", ["rappelez-moi demain à 14 heures"]),
    3: (Outcome.NO_ANSWER, None, []),
}


async def _place(phone: str, conversation, *, call_id: str, on_answer=None,
                 caller_id=None) -> CallRecord:
    outcome, result, said = ENDINGS[int(phone[-1]) % 4]
    if outcome is Outcome.ANSWERED and on_answer is not None:
        await on_answer()
    await asyncio.sleep(0.01)
    record = CallRecord(call_id, "outbound", phone, outcome=outcome, result=result)
    record.utterances = [Utterance("caller", text, record.timeline.started + 1) for text in said]
    record.qualification = 0.8 if result == "INTERESTED" else None
    return record


async def _no_conversation(due):
    return None


async def _until(predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # noqa: ASYNC110 - the state is in the database
            await asyncio.sleep(0.05)


async def _calls_done(db, cid: int, n: int) -> None:
    async def done():
        return await db.pool.fetchval("SELECT count(*) FROM calls WHERE campaign_id = $1 AND status = 'ENDED'",
                                      cid) == n
    dialer = Dialer(db, _place, _no_conversation, DialerConfig(worker_id="w", max_calls=4, poll_interval=0.02),
                    clock=Clock(weekday_morning()))
    task = asyncio.create_task(dialer.run())
    try:
        await _until(done)
    finally:
        await dialer.drain(5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_events_wait_in_the_outbox_while_the_crm_is_down_and_arrive_once_it_is_back(db):
    crm = Crm()
    numbers = phones(4)
    cid = await running_campaign(db, numbers, max_concurrent_calls=4, calls_per_second=1000)
    _, generated = await outbox.set_webhook(db.pool, cid, url=crm.url(), secret=SECRET, max_attempts=50)
    assert generated is None  # the operator gave the secret
    await _calls_done(db, cid, 4)
    # Each call's event was committed with its conclusion, before any delivery ran.
    assert (await outbox.outbox_counts(db.pool, cid))["PENDING"] == 4

    delivery = WebhookDelivery(db.pool, FAST)
    worker = asyncio.create_task(delivery.run())
    try:
        async def refused_twice():
            return await db.pool.fetchval(
                "SELECT min(attempts) FROM webhook_outbox WHERE campaign_id = $1", cid) >= 2
        await _until(refused_twice)  # the CRM is down: every event was tried, and refused, twice
        pending = await outbox.list_events(db.pool, campaign_id=cid, status="PENDING")
        assert len(pending) == 4 and all(e["last_error"] for e in pending)

        await crm.start()  # back up
        async def all_delivered():
            return (await outbox.outbox_counts(db.pool, cid))["DELIVERED"] == 4
        await _until(all_delivered)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await crm.stop()

    events = crm.events()
    assert len(events) == 4 and all(len(bodies) == 1 for bodies in events.values())  # nothing sent twice
    stored = {e["event_id"] for e in await outbox.list_events(db.pool, campaign_id=cid)}
    assert set(events) == stored
    by_phone = {json.loads(b[0])["contact"]["phone"]: json.loads(b[0]) for b in events.values()}
    interested, opted_out, callback, no_answer = (by_phone[p] for p in numbers)
    assert interested["call"]["result"] == "INTERESTED" and interested["call"]["qualification"] == pytest.approx(0.8)
    assert interested["call"]["transcript"][0]["text"] == "oui ça m'intéresse"
    assert interested["campaign"]["id"] == cid and interested["contact"]["first_name"] == "Test"
    assert opted_out["opted_out"] is True and opted_out["next_attempt_at"] is None
    assert callback["call"]["result"] == "CALLBACK_REQUESTED" and callback["callback_at"] is not None
    assert "T14:00:00" in callback["callback_at"] or "T13:00:00" in callback["callback_at"]  # 14:00 Paris
    assert no_answer["call"]["outcome"] == "no_answer" and no_answer["next_attempt_at"] is not None
    assert all(e["opted_out"] is False for e in (interested, callback, no_answer))


async def test_a_lost_answer_is_sent_again_with_the_same_event_id(db):
    crm = Crm()
    await crm.start()
    numbers = phones(2)
    cid = await running_campaign(db, numbers, calls_per_second=1000)
    await outbox.set_webhook(db.pool, cid, url=crm.url(), secret=SECRET)
    await _calls_done(db, cid, 2)
    crm.answers = [503]  # the first try is received, then refused: the CRM was not ready
    crm.hang = 1  # and one more is received, but its answer never comes back
    delivery = WebhookDelivery(db.pool, DeliveryConfig(poll_interval=0.05, backoff_base=0.1, timeout=0.5,
                                                       jitter=0.0))
    worker = asyncio.create_task(delivery.run())
    try:
        async def all_delivered():
            return (await outbox.outbox_counts(db.pool, cid))["DELIVERED"] == 2
        await _until(all_delivered)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await crm.stop()
    events = crm.events()
    assert len(events) == 2 and sorted(len(b) for b in events.values()) in ([1, 3], [2, 2])
    for bodies in events.values():
        assert len(set(bodies)) == 1  # every try of an event carries the same bytes, and the same id
    rows = await outbox.list_events(db.pool, campaign_id=cid)
    assert sum(r["attempts"] for r in rows) == len(crm.received)


async def test_a_wrong_secret_fails_visibly_and_the_events_can_be_sent_again(db):
    crm = Crm(secret="le-secret-que-le-crm-attend")
    await crm.start()
    cid = await running_campaign(db, phones(1), calls_per_second=1000)
    await outbox.set_webhook(db.pool, cid, url=crm.url(), secret=SECRET, max_attempts=2)
    await _calls_done(db, cid, 1)
    delivery = WebhookDelivery(db.pool, FAST)
    worker = asyncio.create_task(delivery.run())
    try:
        async def failed():
            return (await outbox.outbox_counts(db.pool, cid))["FAILED"] == 1
        await _until(failed)
        [row] = await outbox.list_events(db.pool, campaign_id=cid)
        assert row["attempts"] == 2 and row["last_status"] == 401 and "signature" in row["last_error"]
        assert crm.received == []

        crm.secret = SECRET  # the CRM is given the right secret, and the operator resends
        assert await outbox.requeue(db.pool, campaign_id=cid) == 1
        delivery.wake()
        async def delivered():
            return (await outbox.outbox_counts(db.pool, cid))["DELIVERED"] == 1
        await _until(delivered)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await crm.stop()
    assert [event_id for event_id, _ in crm.received] == [row["event_id"]]


async def test_a_call_concluded_twice_has_one_event_with_its_last_result(db):
    cid = await running_campaign(db, phones(1), calls_per_second=1000)
    await outbox.set_webhook(db.pool, cid, url="https://crm.example/hook", secret=SECRET)
    call_id = await insert_call(db.pool, call_uuid="abc123", phone=phones(1)[0], worker="w", campaign_id=cid)
    async with db.pool.acquire() as conn:
        await conn.execute("UPDATE calls SET status = 'INTERRUPTED' WHERE id = $1", call_id)
        first = await outbox.enqueue_call_ended(conn, campaign_id=cid, call_id=call_id)
        await conn.execute("UPDATE calls SET status = 'ENDED', result = 'INTERESTED' WHERE id = $1", call_id)
        second = await outbox.enqueue_call_ended(conn, campaign_id=cid, call_id=call_id)
    assert first == second
    [body] = await db.pool.fetch("SELECT body FROM webhook_outbox")
    assert json.loads(body["body"])["call"]["result"] == "INTERESTED"
    # Without a webhook, nothing is written.
    await outbox.remove_webhook(db.pool, cid)
    async with db.pool.acquire() as conn:
        assert await outbox.enqueue_call_ended(conn, campaign_id=cid, call_id=call_id) is None


async def test_webhook_settings_are_checked_and_the_secret_never_shown(db):
    cid = await running_campaign(db, phones(1), calls_per_second=1000)
    for bad in ("ftp://crm.example/x", "https://user:pw@crm.example/x", "https://crm.example/x?token=1"):
        with pytest.raises(ValueError, match="url"):
            await outbox.set_webhook(db.pool, cid, url=bad)
    hook, generated = await outbox.set_webhook(db.pool, cid, url="https://crm.example/hook")
    assert generated and len(generated) >= 32 and hook.secret == generated
    assert generated not in json.dumps(hook.to_json())
    again, regenerated = await outbox.set_webhook(db.pool, cid, url="https://crm.example/v2")
    assert regenerated is None and again.secret == generated  # changing the URL keeps the secret


async def test_the_pre_call_lookup_adds_values_and_fails_open_unless_required(db):
    crm = Crm()
    await crm.start()
    cid = await running_campaign(db, phones(1), calls_per_second=1000)
    lookup = PreCallLookup(db.pool)
    contact = {"phone": phones(1)[0], "first_name": "Lyon"}
    try:
        assert await lookup(cid, contact) == {}  # no lookup configured
        await outbox.set_webhook(db.pool, cid, url=None, lookup_url=crm.url("/lookup"), secret=SECRET,
                                 lookup_timeout_s=0.3)
        assert await lookup(cid, contact) == {"offre": "fibre", "ville": "Lyon"}
        crm.lookup_delay = 1.0
        assert await lookup(cid, contact) == {}  # too slow: the call goes on without
        await outbox.set_webhook(db.pool, cid, url=None, lookup_url=crm.url("/broken"), secret=SECRET,
                                 lookup_required=True)
        with pytest.raises(LookupFailed, match="HTTP 500"):
            await lookup(cid, contact)
    finally:
        await lookup.aclose()
        await crm.stop()


async def test_the_api_sets_the_webhook_and_shows_delivery(db):
    import aiohttp
    from prometheus_client import CollectorRegistry

    from bot.web.app import build_app, start_server
    from bot.web.context import WebContext

    cid = await running_campaign(db, phones(1), calls_per_second=1000)
    runner = await start_server(build_app(WebContext(db=db, api_key="k" * 20, metrics_registry=CollectorRegistry())),
                                "127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession(base, headers={"X-API-Key": "k" * 20}) as s:
            async with s.put(f"/api/campaigns/{cid}/webhook", json={"url": "ftp://x"}) as resp:
                assert resp.status == 400 and (await resp.json())["field"] == "url"
            async with s.put(f"/api/campaigns/{cid}/webhook", json={"url": "https://crm.example/hook"}) as resp:
                created = await resp.json()
                assert resp.status == 200 and len(created["secret"]) >= 32
                assert created["webhook"]["secret_set"] is True and "secret" not in created["webhook"]
            async with s.get(f"/api/campaigns/{cid}/webhook") as resp:
                state = await resp.json()
                assert state["secret"] is None and state["events"] == {"PENDING": 0, "DELIVERED": 0, "FAILED": 0}
            await _calls_done(db, cid, 1)
            async with s.get("/api/webhook-events", params={"campaign_id": cid}) as resp:
                listed = await resp.json()
                assert listed["counts"]["PENDING"] == 1 and listed["events"][0]["status"] == "PENDING"
            await db.pool.execute("UPDATE webhook_outbox SET status = 'FAILED'")
            async with s.post(f"/api/campaigns/{cid}/webhook/resend") as resp:
                assert (await resp.json()) == {"requeued": 1}
            async with s.delete(f"/api/campaigns/{cid}/webhook") as resp:
                assert resp.status == 200 and (await resp.json())["webhook"] is None
            async with s.delete(f"/api/campaigns/{cid}/webhook") as resp:
                assert resp.status == 404
    finally:
        await runner.cleanup()


def test_the_cli_sets_shows_and_resends(database_url, tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path)}

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if "--json" in args else result.stdout

    cid = run("campaign", "create", "printemps", "--scenario", "demo", "--basis", "consent", "--json")["id"]
    out = run("webhook", "set", str(cid), "--url", "https://crm.example/hook")
    assert "Secret partagé" in out
    assert run("webhook", "set", str(cid), "--url", "https://crm.example/hook?token=1", code=2) == ""
    shown = run("webhook", "show", str(cid))
    assert "https://crm.example/hook" in shown and "0 en attente" in shown
    assert run("webhook", "show", str(cid), "--json")["webhook"]["secret_set"] is True
    assert run("webhook", "resend", str(cid), "--json") == {"requeued": 0}
    assert "Aucun événement" in run("webhook", "events")
    run("webhook", "show", "999", code=2)


async def test_the_outbox_keeps_no_words_longer_than_the_call(db):
    cid = await running_campaign(db, phones(1), calls_per_second=1000)
    await outbox.set_webhook(db.pool, cid, url="https://crm.example/hook", secret=SECRET)
    call_id = await insert_call(db.pool, call_uuid="purge1", phone=phones(1)[0], worker="w", campaign_id=cid)
    await db.pool.execute("""UPDATE calls SET status = 'ENDED', recording_path = 'rec-1',
                             transcript = '[{"speaker": "caller", "text": "mon code est 1234", "at_ms": 5}]'
                             WHERE id = $1""", call_id)
    async with db.pool.acquire() as conn:
        await outbox.enqueue_call_ended(conn, campaign_id=cid, call_id=call_id)
    assert await outbox.housekeep(db.pool) == 0  # nothing purged, nothing old
    await db.pool.execute("UPDATE calls SET purged_at = now(), transcript = '[]', recording_path = NULL "
                          "WHERE id = $1", call_id)  # what the retention purge does
    assert await outbox.housekeep(db.pool) == 1
    body = json.loads(await db.pool.fetchval("SELECT body FROM webhook_outbox"))
    assert body["call"]["transcript"] == [] and body["call"]["recording"] is None
    await db.pool.execute("UPDATE webhook_outbox SET status = 'DELIVERED', delivered_at = now() - interval '31 days'")
    assert await outbox.housekeep(db.pool) == 1 and await db.pool.fetchval("SELECT count(*) FROM webhook_outbox") == 0
