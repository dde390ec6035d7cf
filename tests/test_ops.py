"""Observability: the Prometheus exposition, what a call's end and its listen events count, the
/health report (real PostgreSQL, the simulated Asterisk, a real AudioSocket server, espeak-ng, a
fake Ollama on loopback), and JSON log lines with the call id and masked numbers. The last test
runs one scenario call through the whole stack and reads the figures it left."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ari.client import AriClient, AriConfig
from ari.simulator import Human, Say, SimulatedAsterisk
from ari.stream import EventStream
from audiosocket import AudioSocketServer
from bot.call.call import CallRecord, ObjectionMatch
from bot.call.outcome import Outcome
from bot.config import LlmSettings
from bot.ops import health as h
from bot.ops import metrics as m
from bot.ops.logs import call_id_var, redact, scrub, setup_logging
from bot.speech import events as sev
from bot.store import Database
from bot.store.migrate import load_migrations

NAMES = [
    "minibot_campaigns_active", "minibot_calls_active", "minibot_calls_total", "minibot_call_results_total",
    "minibot_amd_verdicts_total", "minibot_freestyle_turns_total", "minibot_objections_matched_total",
    "minibot_barge_ins_total", "minibot_false_barge_ins_total", "minibot_asr_latency_seconds",
    "minibot_intent_latency_seconds", "minibot_turn_latency_seconds", "minibot_barge_in_reaction_seconds",
    "minibot_tts_render_seconds",
]
PASSWORD = "s3cret-test"


def value(name: str, **labels: str) -> float:
    return m.REGISTRY.get_sample_value(name, labels) or 0.0


# -- metrics -----------------------------------------------------------------------------------

def test_the_exposition_names_every_metric_and_labels_no_call():
    text = generate_latest(m.REGISTRY).decode()
    for name in NAMES:
        assert f"\n{name}" in text or text.startswith(name), name
    labels = {key for family in text_string_to_metric_families(text) for s in family.samples for key in s.labels}
    assert labels <= {"outcome", "result", "verdict", "le"}, labels
    # Closed label sets exist from the start, at zero.
    assert m.REGISTRY.get_sample_value("minibot_calls_total", {"outcome": "busy"}) is not None
    assert m.REGISTRY.get_sample_value("minibot_call_results_total", {"result": "OPTED_OUT"}) is not None


def test_a_call_end_counts_its_outcome_result_verdict_freestyle_and_objections():
    answered, qualified = value("minibot_calls_total", outcome="answered"), value(
        "minibot_call_results_total", result="QUALIFIED")
    human, freestyle = value("minibot_amd_verdicts_total", verdict="human"), value("minibot_freestyle_turns_total")
    objections = value("minibot_objections_matched_total")
    record = CallRecord("c1", "outbound", "+33612345678", outcome=Outcome.ANSWERED, result="QUALIFIED",
                        amd_verdict="human", freestyle_turns=2,
                        objections=[ObjectionMatch("is_robot", 0.9, 1.0), ObjectionMatch("price", 0.8, 2.0)])
    m.observe_call_end(record)
    assert value("minibot_calls_total", outcome="answered") == answered + 1
    assert value("minibot_call_results_total", result="QUALIFIED") == qualified + 1
    assert value("minibot_amd_verdicts_total", verdict="human") == human + 1
    assert value("minibot_freestyle_turns_total") == freestyle + 2
    assert value("minibot_objections_matched_total") == objections + 2


def test_unanswered_unknown_and_interrupted_endings_stay_in_closed_label_sets():
    busy, other, interrupted = (value("minibot_calls_total", outcome="busy"),
                                value("minibot_call_results_total", result="other"),
                                value("minibot_calls_total", outcome="interrupted"))
    verdicts = value("minibot_amd_verdicts_total", verdict="human") + value("minibot_amd_verdicts_total",
                                                                           verdict="machine")
    m.observe_call_end(CallRecord("c2", "outbound", "+33612345678", outcome=Outcome.BUSY))
    m.observe_call_end(CallRecord("c3", "outbound", "+33612345678", outcome=Outcome.ANSWERED, result="SOMETHING_NEW"))
    m.observe_interrupted()
    assert value("minibot_calls_total", outcome="busy") == busy + 1
    assert value("minibot_call_results_total", result="other") == other + 1
    assert value("minibot_calls_total", outcome="interrupted") == interrupted + 1
    # No verdict on a call nobody answered.
    assert value("minibot_amd_verdicts_total", verdict="human") + value(
        "minibot_amd_verdicts_total", verdict="machine") == verdicts


def test_barge_ins_count_with_their_reaction_and_an_empty_utterance_is_a_false_one():
    barges, false = value("minibot_barge_ins_total"), value("minibot_false_barge_ins_total")
    reactions = value("minibot_barge_in_reaction_seconds_count")
    fast = value("minibot_barge_in_reaction_seconds_bucket", le="0.15")
    watch = m.BargeInWatch()
    # A real one: the caller's words come back in the utterance the barge-in opened.
    watch.barged(sev.BargeInDetected(at=10.0, confirmed_at=10.04, echo_delay_ms=80.0), stopped_at=10.09)
    watch.heard(sev.FinalTranscript("ça ne m'intéresse pas", 12.5, 1.9, 0.3, speech_ended_at=12.1))
    # A false one: echo taken for speech, the recogniser heard nothing.
    watch.barged(sev.BargeInDetected(at=20.0, confirmed_at=20.04, echo_delay_ms=None), stopped_at=20.3)
    watch.heard(sev.FinalTranscript("", 21.0, 0.4, 0.2, speech_ended_at=20.6))
    assert watch.pending == 0
    assert value("minibot_barge_ins_total") == barges + 2
    assert value("minibot_false_barge_ins_total") == false + 1
    assert value("minibot_barge_in_reaction_seconds_count") == reactions + 2
    assert value("minibot_barge_in_reaction_seconds_bucket", le="0.15") == fast + 1  # 90 ms in, 300 ms out


def test_a_late_final_of_an_earlier_utterance_does_not_judge_a_barge_in():
    false = value("minibot_false_barge_ins_total")
    watch = m.BargeInWatch()
    watch.barged(sev.BargeInDetected(at=30.0, confirmed_at=30.04, echo_delay_ms=None), stopped_at=30.1)
    watch.heard(sev.FinalTranscript("", 30.2, 0.5, 0.9, speech_ended_at=29.0))  # ended before the onset
    watch.heard(sev.PartialTranscript("oui", 30.3))
    assert watch.pending == 1
    watch.heard(sev.FinalTranscript("oui bien sûr", 32.0, 1.5, 0.3, speech_ended_at=31.7))
    assert watch.pending == 0 and value("minibot_false_barge_ins_total") == false


async def test_the_database_gauges_count_running_campaigns_and_live_calls(db):
    async with db.pool.acquire() as conn:
        running = await conn.fetchval(
            "INSERT INTO campaigns (name, scenario, status) VALUES ('a', 'demo', 'RUNNING') RETURNING id")
        await conn.execute("INSERT INTO campaigns (name, scenario, status) VALUES ('b', 'demo', 'PAUSED')")
        for i, status in enumerate(["DIALING", "IN_PROGRESS", "ENDED"]):
            await conn.execute("INSERT INTO calls (call_uuid, campaign_id, phone, status) VALUES ($1, $2, $3, $4)",
                               f"u{i}", running, "+33612345678", status)
    assert await m.refresh_campaign_gauges(db.pool) == (1, 2)
    assert value("minibot_campaigns_active") == 1 and value("minibot_calls_active") == 2


# -- health ------------------------------------------------------------------------------------

async def _up() -> h.Component:
    return h.ok("fine")


async def _hangs() -> str:
    await asyncio.sleep(30)
    return "never"


async def _fails() -> str:
    raise ConnectionRefusedError("connection refused on 127.0.0.1:1")


async def test_health_is_ok_when_every_part_answers():
    async def detail() -> str:
        return "a plain string is an ok"

    body, status = await h.Health({"a": h.Check(_up), "b": h.Check(detail, required=False)}).report()
    assert status == 200 and body["status"] == "ok"
    assert body["components"]["b"] == {"status": "ok", "detail": "a plain string is an ok", "required": False,
                                       "ms": body["components"]["b"]["ms"]}


async def test_an_optional_part_down_degrades_health_without_503():
    body, status = await h.Health({"db": h.Check(_up), "llm": h.Check(_fails, required=False)}).report()
    assert status == 200 and body["status"] == "degraded"
    assert body["components"]["llm"]["status"] == "down"
    assert "connection refused" in body["components"]["llm"]["detail"]


async def test_a_required_part_that_hangs_is_down_after_2_s_and_health_answers_503():
    started = time.monotonic()
    report = h.Health({"db": h.Check(_up), "ari": h.Check(_hangs), "asr": h.Check(_hangs), "x": h.Check(_fails)})
    body, status = await report.report()
    elapsed = time.monotonic() - started
    assert status == 503 and body["status"] == "down"
    assert body["components"]["ari"] == {**body["components"]["ari"], "status": "down", "detail": "no answer in 2 s"}
    assert body["components"]["db"]["status"] == "ok"
    assert 1.9 <= elapsed < 3.0  # the checks ran together, each under its own 2 s


async def test_the_database_check_reports_the_schema_version_and_a_closed_pool_as_down(db, database_url):
    body, status = await h.Health({"database": h.database(db)}).report()
    assert status == 200, body
    detail = body["components"]["database"]["detail"]
    assert detail.startswith("PostgreSQL ") and f"schema version {max(m.version for m in load_migrations())}" in detail
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    await pool.close()
    body, status = await h.Health({"database": h.database(Database(pool))}).report()
    assert status == 503 and body["components"]["database"]["status"] == "down"


async def test_the_ari_check_reads_the_asterisk_version_over_rest_and_the_event_stream():
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        config = AriConfig(url=sim.url, username="minibot", password=PASSWORD)
        stream = EventStream(config)
        async with AriClient(config) as client:
            body, status = await h.Health({"ari": h.ari(client)}).report()
            assert status == 200 and body["components"]["ari"]["detail"].startswith("Asterisk "), body
            body, status = await h.Health({"ari": h.ari(client, stream)}).report()  # never connected
            assert status == 503 and "WebSocket" in body["components"]["ari"]["detail"]
            runner = asyncio.create_task(stream.run())
            try:
                await stream.wait_connected(5)
                body, status = await h.Health({"ari": h.ari(client, stream)}).report()
                assert status == 200, body
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
        async with AriClient(AriConfig(url=sim.url, username="minibot", password="wrong")) as client:
            body, status = await h.Health({"ari": h.ari(client)}).report()
            assert status == 503 and PASSWORD not in json.dumps(body)
    async with AriClient(config) as client:  # Asterisk gone
        body, status = await h.Health({"ari": h.ari(client)}).report()
        assert status == 503 and "unreachable" in body["components"]["ari"]["detail"]


async def test_the_audiosocket_check_sees_the_listener_open_then_closed():
    server = AudioSocketServer("127.0.0.1", 0)
    check = h.Health({"audiosocket": h.audiosocket(server)})
    body, status = await check.report()
    assert status == 503  # not started yet
    async with server:
        body, status = await check.report()
        assert status == 200
        assert body["components"]["audiosocket"]["detail"].startswith(f"listening on {server.address}")
    body, status = await check.report()
    assert status == 503 and "not listening" in body["components"]["audiosocket"]["detail"]


async def test_the_asr_check_finds_a_model_directory_or_says_it_is_missing(tmp_path):
    body, status = await h.Health({"asr": h.asr(name="vosk", model_path=tmp_path)}).report()
    assert status == 200 and body["components"]["asr"]["detail"] == f"vosk model at {tmp_path}"
    missing = tmp_path / "nope"
    body, status = await h.Health({"asr": h.asr(name="whisper", model_path=missing)}).report()
    assert status == 503 and str(missing) in body["components"]["asr"]["detail"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
async def test_the_tts_check_renders_a_word_with_espeak():
    from bot.speech.tts import load_engine

    body, status = await h.Health({"tts": h.tts(load_engine("espeak"), probe=True)}).report()
    assert status == 200, body
    assert body["components"]["tts"]["detail"].startswith("espeak ") and "renders in" in body["components"]["tts"][
        "detail"]


async def test_the_llm_check_is_disabled_off_ok_with_the_model_and_degraded_without(fake):
    body, status = await h.Health({"llm": h.llm(LlmSettings())}).report()
    assert status == 200 and body["status"] == "ok" and body["components"]["llm"]["status"] == "disabled"
    settings = LlmSettings(enabled=True, ollama_url=fake.url)
    body, status = await h.Health({"llm": h.llm(settings)}).report()
    assert status == 200 and body["components"]["llm"]["status"] == "ok", body
    body, status = await h.Health({"llm": h.llm(LlmSettings(enabled=True, ollama_url=fake.url, model="absent:7b"))}
                                  ).report()
    assert (status, body["status"]) == (200, "degraded") and "ollama pull absent:7b" in body["components"]["llm"][
        "detail"]


async def test_the_llm_check_gives_up_on_a_server_that_accepts_and_never_answers():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the request, answers nothing, until the client gives up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        settings = LlmSettings(enabled=True, ollama_url=f"http://127.0.0.1:{port}", timeout=1.0)
        body, status = await h.Health({"llm": h.llm(settings)}).report()
        assert (status, body["status"]) == (200, "degraded")
        assert body["components"]["llm"]["detail"] == f"Ollama at http://127.0.0.1:{port}: no answer in 1 s"
        assert time.monotonic() - started < 1.8
    finally:
        server.close()
        await server.wait_closed()


async def test_the_objection_library_check_counts_entries_and_an_empty_library_is_down(tmp_path: Path):
    body, status = await h.Health({"objections": h.objection_library()}).report()
    assert status == 200 and "entries in" in body["components"]["objections"]["detail"], body
    body, status = await h.Health({"objections": h.objection_library(directory=tmp_path)}).report()
    assert status == 503 and "aucune bibliothèque d'objections" in body["components"]["objections"]["detail"]


# -- logs --------------------------------------------------------------------------------------

@pytest.fixture
def log_lines():
    """JSON lines written by setup_logging into a buffer; the root logger restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    setup_logging("DEBUG", json=True, stream=buffer)

    def lines(logger: str | None = "bot.test") -> list[dict]:
        parsed = [json.loads(line) for line in buffer.getvalue().splitlines()]
        return [line for line in parsed if logger is None or line["logger"] == logger]

    yield lines
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


async def test_json_lines_carry_the_call_id_of_the_task_and_its_children(log_lines):
    log = logging.getLogger("bot.test")

    async def call() -> None:
        call_id_var.set("a1b2c3d4e5f6")
        log.info("in the call")
        await asyncio.create_task(asyncio.to_thread(log.info, "in a thread of a child task"))

    log.info("before")
    await asyncio.create_task(call())
    log.warning("after")
    lines = log_lines()
    assert [line["message"] for line in lines] == ["before", "in the call", "in a thread of a child task", "after"]
    assert [line.get("call_id") for line in lines] == [None, "a1b2c3d4e5f6", "a1b2c3d4e5f6", None]
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "bot.test" and lines[0]["ts"].endswith("+00:00")


def test_phone_numbers_are_masked_in_messages_arguments_and_tracebacks(log_lines):
    log = logging.getLogger("bot.test")
    log.info("dialling %s", "+33612345678")
    log.info("callback to 06 12 34 56 78, or 01.23.45.67.89, or 0033 6 12 34 56 78")
    try:
        raise ValueError("bad number 0612345678")
    except ValueError:
        log.exception("import failed")
    text = "\n".join(json.dumps(line) for line in log_lines(None))
    for digits in ("612345678", "12 34 56", "23.45.67", "6 12 34"):
        assert digits not in text
    lines = log_lines()
    assert lines[0]["message"] == "dialling +33*******78"
    assert lines[1]["message"] == "callback to 061*****78, or 012*****89, or 003********78"
    assert lines[2]["message"] == "import failed" and "bad number 061*****78" in lines[2]["exc"]


def test_what_is_not_a_phone_number_is_left_alone():
    for text in ("call 3f2a9c1b0d7e ended after 1234 ms", "2024-06-01 12:34:56.789", "listening on 127.0.0.1:9093",
                 "call 061234567891 placed", "turn latency p95 0.612345678 s", "+33*******78 already masked"):
        assert scrub(text) == text, text


def test_passwords_in_urls_and_registered_secrets_never_appear(log_lines):
    redact("k3y-for-the-api-0123")
    logging.getLogger("bot.test").warning("cannot connect to postgresql://minibot:hunter2@db:5432/minibot "
                                          "with key k3y-for-the-api-0123")
    message = log_lines()[0]["message"]
    assert message == "cannot connect to postgresql://minibot:***@db:5432/minibot with key ***"


# -- one call through the whole stack ------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
async def test_a_scenario_call_leaves_its_figures_and_its_log_lines(log_lines, tmp_path):
    from bot.call.config import CallConfig
    from bot.call.controller import CallController
    from bot.call.scenario_conversation import ScenarioConversation
    from bot.config import Settings
    from bot.dialog.brain import Brain
    from bot.speech.asr.models import whisper_base_dir
    from bot.speech.asr.whisper_engine import WhisperRecognizer
    from bot.speech.tts import load_engine
    from bot.voice.cache import AudioCache
    from bot.voice.voice import CachedVoice

    names = ["minibot_turn_latency_seconds_count", "minibot_intent_latency_seconds_count",
             "minibot_asr_latency_seconds_count", "minibot_tts_render_seconds_count"]
    before = {name: value(name) for name in names}
    answered = value("minibot_calls_total", outcome="answered")
    qualified = value("minibot_call_results_total", result="QUALIFIED")
    number = "+33612345678"
    voice = CachedVoice(load_engine("espeak"), AudioCache(tmp_path / "audio"))  # empty: lines render on a miss
    conversation = ScenarioConversation(Brain.build("demo"), voice, {"first_name": "Marie"})
    callee = Human(utterances=[Say("allo", at=0.3), Say("oui_daccord", after_prompt=True),
                               Say("interesse", after_prompt=True)], hangup_when_idle=8.0)
    with ThreadPoolExecutor(2) as pool:
        whisper = WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)
        async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server:
            sim.add_callee(f"PJSIP/{number}@trunk", callee)
            ari = AriConfig(url=sim.url, username="minibot", password=PASSWORD)
            calls = CallConfig(audiosocket_address=server.address, endpoint_template="PJSIP/{number}@trunk",
                               ring_timeout=10, media_timeout=2.0)
            async with CallController(ari, calls, server, whisper) as ctl:
                record = await asyncio.wait_for(ctl.place_call(number, conversation, call_id="0ps7e5t0ca11"), 90)
    assert record.result == "QUALIFIED", record.timeline.entries
    assert value("minibot_calls_total", outcome="answered") == answered + 1
    assert value("minibot_call_results_total", result="QUALIFIED") == qualified + 1
    assert value("minibot_calls_in_process") == 0
    after = {name: value(name) for name in names}
    assert after["minibot_turn_latency_seconds_count"] - before["minibot_turn_latency_seconds_count"] == len(
        record.turn_latencies) >= 2
    assert after["minibot_intent_latency_seconds_count"] - before["minibot_intent_latency_seconds_count"] >= 2
    assert after["minibot_asr_latency_seconds_count"] - before["minibot_asr_latency_seconds_count"] >= 2
    assert after["minibot_tts_render_seconds_count"] > before["minibot_tts_render_seconds_count"]
    lines = log_lines(None)
    mine = [line for line in lines if line.get("call_id") == "0ps7e5t0ca11"]
    assert any("dialling" in line["message"] for line in mine), lines
    assert any(line["logger"] == "bot.voice.voice" for line in mine)  # a child task's line carries the id too
    assert not any("612345678" in json.dumps(line) for line in lines)
