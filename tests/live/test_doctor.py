"""`minibot doctor` against the real Asterisk: a sound installation passes, and each
misconfiguration that can be produced on it is found and named (wrong password, wrong port, a
module missing, the AMD context missing, the inbound context missing or naming another Stasis
application, an AudioSocket address Asterisk cannot reach, an audio directory Asterisk cannot read,
the Stasis application taken). Plus the caller ID's rules."""

from __future__ import annotations

import asyncio

import pytest

from ari.stream import EventStream
from bot.config import Settings
from bot.ops.doctor import check_asterisk, check_caller_id
from tests.live.asterisk import free_port


def settings_for(asterisk, tmp_path, **changes) -> Settings:
    base = {"ari": {"url": asterisk.url, "username": "minibot", "password": asterisk.password, "app": "minibot"},
            "audiosocket_host": "127.0.0.1", "audiosocket_port": free_port(),
            "tts": {"audio_dir": str(tmp_path / "audio")}}
    for key, value in changes.items():
        if isinstance(value, dict):
            base[key] = {**base.get(key, {}), **value}
        else:
            base[key] = value
    return Settings(**base)


def by_name(findings) -> dict[str, tuple[str, str, str]]:
    return {f.name: (f.status, f.detail, f.fix) for f in findings}


async def test_a_sound_installation_passes(live_asterisk, tmp_path):
    found = by_name(await check_asterisk(settings_for(live_asterisk, tmp_path)))
    assert {name: status for name, (status, _, _) in found.items()} == {
        "ARI": "ok", "Version d'Asterisk": "ok", "Modules": "ok", "Application Stasis": "ok", "AudioSocket": "ok",
        "Répertoire audio": "ok", "Contexte AMD": "ok", "Contexte entrant": "ok"}, found
    assert "22." in found["Version d'Asterisk"][1]
    assert "[minibot-inbound]" in found["Contexte entrant"][1] and "inbound" in found["Contexte entrant"][1]
    assert live_asterisk.channels() == []  # the test channel is gone


async def test_wrong_password_and_wrong_port(live_asterisk, tmp_path):
    wrong = settings_for(live_asterisk, tmp_path, ari={"password": "pas-le-bon"})
    found = by_name(await check_asterisk(wrong))
    assert found["ARI"][0] == "fail" and "identifiants refusés" in found["ARI"][1] and "ari.conf" in found["ARI"][2]
    assert found["Modules"][0] == "skip"
    port = free_port()
    elsewhere = settings_for(live_asterisk, tmp_path, ari={"url": f"http://127.0.0.1:{port}/ari"})
    found = by_name(await check_asterisk(elsewhere))
    assert found["ARI"][0] == "fail" and "injoignable" in found["ARI"][1] and "bindport" in found["ARI"][2]


async def test_a_missing_module_is_named(live_asterisk, tmp_path):
    live_asterisk.rx("module unload app_amd.so")
    try:
        found = by_name(await check_asterisk(settings_for(live_asterisk, tmp_path)))
    finally:
        live_asterisk.rx("module load app_amd.so")
    assert found["Modules"][0] == "fail" and "app_amd.so" in found["Modules"][1]
    assert "module load app_amd.so" in found["Modules"][2]
    assert found["Contexte AMD"][0] == "fail"  # AMD() cannot run: the channel never comes back


async def test_a_missing_amd_context_is_found(live_asterisk, tmp_path):
    conf = live_asterisk.etc / "extensions.conf"
    original = conf.read_text()
    conf.write_text(original.replace("[minibot-amd]", "[minibot-amd-renamed]"))
    live_asterisk.rx("dialplan reload")
    try:
        found = by_name(await check_asterisk(settings_for(live_asterisk, tmp_path)))
    finally:
        conf.write_text(original)
        live_asterisk.rx("dialplan reload")
    assert found["Contexte AMD"][0] == "fail" and "[minibot-amd]" in found["Contexte AMD"][1]
    assert "extensions.conf" in found["Contexte AMD"][2]
    assert found["AudioSocket"][0] == "ok"


async def test_a_missing_inbound_context_is_found(live_asterisk, tmp_path):
    conf = live_asterisk.etc / "extensions.conf"
    original = conf.read_text()
    conf.write_text(original.replace("[minibot-inbound]", "[minibot-inbound-renamed]"))
    live_asterisk.rx("dialplan reload")
    try:
        serving = settings_for(live_asterisk, tmp_path, dialer={"inbound_scenario": "demo"})
        found = by_name(await check_asterisk(serving))
        idle = by_name(await check_asterisk(settings_for(live_asterisk, tmp_path)))
    finally:
        conf.write_text(original)
        live_asterisk.rx("dialplan reload")
    status, detail, fix = found["Contexte entrant"]
    assert status == "fail" and "[minibot-inbound] est absent" in detail, found
    assert "extensions.conf" in fix and "pjsip.conf" in fix and "MINIBOT_DIAL__INBOUND_CONTEXT" in fix
    # Without an inbound scenario MiniBot refuses inbound calls anyway: said, not failed.
    assert idle["Contexte entrant"][0] == "warn" and "INBOUND_SCENARIO" in idle["Contexte entrant"][1]
    assert found["Contexte AMD"][0] == "ok"
    assert live_asterisk.channels() == []


async def test_an_inbound_context_naming_another_application(live_asterisk, tmp_path):
    # The dialplan sends inbound calls to Stasis(minibot,...); this MiniBot registers "autre".
    other = settings_for(live_asterisk, tmp_path, ari={"app": "autre"}, dialer={"inbound_scenario": "demo"})
    found = by_name(await check_asterisk(other))
    status, detail, fix = found["Contexte entrant"]
    assert status == "fail" and "n'y trouve pas l'application « autre »" in detail, found
    assert "MINIBOT_ARI__APP" in fix
    assert live_asterisk.channels() == []


async def test_an_audiosocket_address_asterisk_cannot_reach(live_asterisk, tmp_path):
    unreachable = settings_for(live_asterisk, tmp_path, audiosocket_address=f"127.0.0.1:{free_port()}")
    found = by_name(await check_asterisk(unreachable))
    assert found["AudioSocket"][0] == "fail" and "ne joint pas MiniBot" in found["AudioSocket"][1]
    assert "MINIBOT_AUDIOSOCKET_ADDRESS" in found["AudioSocket"][2]
    assert found["Contexte AMD"][0] == "skip"


async def test_audio_asterisk_cannot_read(live_asterisk, tmp_path):
    # MiniBot serves its audio over HTTP at an address where nothing answers.
    unread = settings_for(live_asterisk, tmp_path, tts={"http_url": f"http://127.0.0.1:{free_port()}"})
    found = by_name(await check_asterisk(unread))
    assert found["Répertoire audio"][0] == "fail" and "ne lit pas" in found["Répertoire audio"][1]
    assert found["Contexte AMD"][0] == "ok"


async def test_the_stasis_application_already_in_use(live_asterisk, tmp_path):
    settings = settings_for(live_asterisk, tmp_path)
    other = EventStream(live_asterisk.ari_config("minibot"))
    task = asyncio.create_task(other.run())
    try:
        await other.wait_connected(5)
        found = by_name(await check_asterisk(settings))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert found["Application Stasis"][0] == "warn" and "déjà connectée" in found["Application Stasis"][1]
    # The inbound probe would ring the running MiniBot: not placed.
    assert found["Contexte entrant"][0] == "skip" and "relancer" in found["Contexte entrant"][2]


@pytest.mark.parametrize(("caller_id", "status", "words"), [
    ("Agence <+33162000000>", "ok", "tranche de démarchage 01 62"),
    ("+33 9 48 12 34 56", "ok", "09 48"),
    ("0377123456", "ok", "03 77"),
    ("Agence <+33612345678>", "fail", "mobile"),
    ("07 12 34 56 78", "fail", "mobile"),
    ("+33145678901", "warn", "pas dans les tranches"),
    (None, "fail", "aucun numéro"),
    ("+441632960000", "warn", "pas un numéro français"),
])
def test_the_caller_id_rules(caller_id, status, words):
    found = check_caller_id(caller_id)
    assert found.status == status and words in found.detail, found


@pytest.mark.parametrize(("health", "doctor"), [
    ("espeak 1.51/s155/p50, voice fr+f3, renders in 14 ms", "espeak 1.51/s155/p50, voix fr+f3, phrase d'essai "
     "synthétisée en 14 ms"),
    ("piper 1.2, voice siwis: rendered no audio", "piper 1.2, voix siwis : aucun son produit"),
    ("Ollama at http://h:11434: no answer in 1.5 s", "Ollama à http://h:11434 : pas de réponse en 1.5 s"),
    ("Ollama at http://h:11434 lacks qwen (run: ollama pull qwen)", "Ollama à http://h:11434 n'a pas le modèle qwen"),
    ("Ollama at http://h:11434, model qwen", "Ollama à http://h:11434, modèle qwen"),
    ("Ollama at http://h:11434: HTTP 500", "Ollama à http://h:11434 répond HTTP 500"),
])
def test_the_health_details_are_said_in_french(health, doctor):
    from bot.ops.doctor import in_french

    assert in_french(health) == doctor


def test_the_command_line_reads_every_line_in_french(live_asterisk, database_url, tmp_path):
    import json

    from typer.testing import CliRunner

    from cli.main import app

    env = {"DATABASE_URL": database_url, "MINIBOT_DATA_DIR": str(tmp_path), "MINIBOT_ARI__URL": live_asterisk.url,
           "MINIBOT_ARI__PASSWORD": live_asterisk.password, "MINIBOT_AUDIOSOCKET_PORT": str(free_port()),
           "MINIBOT_TTS__AUDIO_DIR": str(tmp_path / "audio"), "MINIBOT_TTS__ENGINE": "espeak",
           "MINIBOT_LLM__ENABLED": "false", "MINIBOT_DIAL__CALLER_ID": "Agence <+33612345678>"}
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert result.exit_code == 1 and report["ok"] is False  # a mobile caller ID is a failure
    assert checks["Numéro présenté"]["status"] == "fail"
    assert checks["Base de données"]["status"] == "ok" and "PostgreSQL" in checks["Base de données"]["detail"]
    assert checks["Contexte AMD"]["status"] == "ok" and checks["Ollama"]["status"] == "skip"
    assert {"Reconnaissance vocale", "Voix"} <= set(checks)
    text = CliRunner().invoke(app, ["doctor"], env={**env, "MINIBOT_DIAL__CALLER_ID": "<+33162000000>"})
    assert "OK ARI" in text.stdout.replace("  ", " ") or "ARI :" in text.stdout
    assert "Contexte AMD" in text.stdout and "Contexte entrant" in text.stdout
    assert "voix " in text.stdout and ", voice " not in text.stdout
