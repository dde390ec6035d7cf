"""The Asterisk configuration in asterisk/: parsed and checked for the properties MiniBot relies on.

No Asterisk is needed. The .conf files are read with a small parser that follows Asterisk's own
rules (``;`` comments, ``[section]`` headers, ``key = value`` / ``key => value``), the dialplan
with a parser for ``exten =>`` / ``same =>`` lines, and amd.conf is also checked by replaying
app_amd's detection algorithm (apps/app_amd.c, Asterisk 22) on the repository's French speech
fixtures.
"""

from __future__ import annotations

import array
import re
import sys
import wave
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AST = ROOT / "asterisk"
SPEECH = Path(__file__).resolve().parent / "fixtures" / "speech"
SOUNDS = "/var/lib/asterisk/sounds/minibot/"


# --------------------------------------------------------------------------------------------
# parsers


def strip_comment(line: str) -> str:
    """Drop an Asterisk ``;`` comment (``\\;`` is a literal semicolon)."""
    out = []
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if c == ";":
            break
        out.append(c)
        i += 1
    return "".join(out).strip()


def parse_conf(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) for every setting, in order; repeated sections and keys are kept."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = strip_comment(raw)
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([^\]]+)\](\([^)]*\))?", line)
        if header:
            section = header.group(1).strip()
            continue
        match = re.fullmatch(r"([^=]+?)\s*=>?\s*(.*)", line)
        if not match:
            raise ValueError(f"{path.name}:{number}: not a setting: {raw!r}")
        if not section:
            raise ValueError(f"{path.name}:{number}: setting outside any section")
        entries.append((section, match.group(1).strip().lower(), match.group(2).strip()))
    return entries


def section(entries: list[tuple[str, str, str]], name: str) -> dict[str, list[str]]:
    """All settings of every section called ``name`` (key -> values, in order)."""
    found: dict[str, list[str]] = {}
    for sec, key, value in entries:
        if sec == name:
            found.setdefault(key, []).append(value)
    return found


def split_args(text: str) -> list[str]:
    """Split application arguments on top-level commas (not inside ${...}, $[...] or (...))."""
    args, depth, current = [], 0, []
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(current))
            current = []
        else:
            current.append(c)
    args.append("".join(current))
    return args


@dataclass
class Step:
    priority: str
    label: str | None
    app: str
    args: list[str]

    @property
    def data(self) -> str:
        return ",".join(self.args)


@dataclass
class Dialplan:
    contexts: dict[str, dict[str, list[Step]]] = field(default_factory=dict)
    globals: dict[str, str] = field(default_factory=dict)  # [globals]: NAME = value

    def expand(self, text: str) -> str:
        """``${NAME}`` of a global replaced by its value (what Asterisk does at run time)."""
        return re.sub(r"\$\{(\w+)\}", lambda m: self.globals.get(m.group(1), m.group(0)), text)

    def steps(self, context: str, exten: str) -> list[Step]:
        return self.contexts[context][exten]

    def apps(self) -> set[str]:
        return {s.app for ctx in self.contexts.values() for steps in ctx.values() for s in steps}


def parse_dialplan(path: Path) -> Dialplan:
    plan = Dialplan()
    context: str | None = None
    last_exten: str | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = strip_comment(raw)
        if not line or line.startswith("#"):
            continue
        where = f"{path.name}:{number}"
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            context = header.group(1)
            if context == "globals":
                continue
            if context in plan.contexts:
                raise ValueError(f"{where}: context [{context}] defined twice")
            plan.contexts[context] = {}
            last_exten = None
            continue
        if context == "globals":
            variable = re.fullmatch(r"(\w+)\s*=>?\s*(.*)", line)
            if not variable:
                raise ValueError(f"{where}: not a global variable: {raw!r}")
            plan.globals[variable.group(1)] = variable.group(2)
            continue
        match = re.fullmatch(r"(exten|same)\s*=>\s*(.*)", line)
        if not match or context is None:
            raise ValueError(f"{where}: not a dialplan line: {raw!r}")
        kind, rest = match.groups()
        if kind == "exten":
            exten, rest = (part.strip() for part in rest.split(",", 1))
            last_exten = exten
        elif last_exten is None:
            raise ValueError(f"{where}: 'same =>' with no 'exten =>' before it")
        else:
            exten = last_exten
        prio, call = (part.strip() for part in rest.split(",", 1))
        label = None
        labelled = re.fullmatch(r"(\w+)\((\w+)\)", prio)
        if labelled:
            prio, label = labelled.groups()
        app_match = re.fullmatch(r"(\w+)(?:\((.*)\))?", call)
        if not app_match:
            raise ValueError(f"{where}: not an application call: {call!r}")
        app, data = app_match.group(1), app_match.group(2) or ""
        steps = plan.contexts[context].setdefault(exten, [])
        if kind == "exten" and steps:
            raise ValueError(f"{where}: extension {exten!r} started twice in [{context}]")
        if kind == "exten" and prio != "1":
            raise ValueError(f"{where}: extension {exten!r} must start at priority 1")
        if kind == "same" and prio != "n":
            raise ValueError(f"{where}: 'same =>' lines use priority n")
        steps.append(Step(prio, label, app, split_args(data) if data else []))
    return plan


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def http() -> list[tuple[str, str, str]]:
    return parse_conf(AST / "http.conf")


@pytest.fixture(scope="module")
def ari() -> list[tuple[str, str, str]]:
    return parse_conf(AST / "ari.conf")


@pytest.fixture(scope="module")
def amd() -> dict[str, int]:
    general = section(parse_conf(AST / "amd.conf"), "general")
    for key, values in general.items():
        assert len(values) == 1, f"amd.conf sets {key} {len(values)} times"
    return {key: int(values[0]) for key, values in general.items()}


@pytest.fixture(scope="module")
def modules() -> list[tuple[str, str, str]]:
    return parse_conf(AST / "modules.conf")


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return parse_dialplan(AST / "extensions.conf")


@pytest.fixture(scope="module")
def readme() -> str:
    return (AST / "README.md").read_text()


# --------------------------------------------------------------------------------------------
# the parsers themselves (so that a lenient parser cannot hide a broken file)


def test_parsers_reject_what_asterisk_would_not_read(tmp_path: Path) -> None:
    bad = tmp_path / "x.conf"
    bad.write_text("[general]\nthis is not a setting\n")
    with pytest.raises(ValueError):
        parse_conf(bad)
    bad.write_text("[ctx]\n same => n,Hangup()\n")
    with pytest.raises(ValueError):
        parse_dialplan(bad)
    bad.write_text("[ctx]\nexten => s,2,Hangup()\n")
    with pytest.raises(ValueError):
        parse_dialplan(bad)
    good = tmp_path / "y.conf"
    good.write_text("[c] ; comment\nexten => _X.,1,Stasis(a,${FILTER(+0-9,${CALLERID(num)})},b) ; x\n")
    step = parse_dialplan(good).steps("c", "_X.")[0]
    assert (step.app, step.args) == ("Stasis", ["a", "${FILTER(+0-9,${CALLERID(num)})}", "b"])


# --------------------------------------------------------------------------------------------
# http.conf and ari.conf


def test_http_serves_ari_on_localhost_only(http) -> None:
    general = section(http, "general")
    assert general["enabled"] == ["yes"]
    assert general["bindaddr"] == ["127.0.0.1"]
    assert general["bindport"] == ["8088"]
    # no second listener that would expose ARI or /media elsewhere
    assert "tlsenable" not in general or general["tlsenable"] == ["no"]
    assert "tlsbindaddr" not in general
    assert {sec for sec, _, _ in http} == {"general"}


def test_ari_enabled_with_a_read_write_minibot_user(ari, readme) -> None:
    assert section(ari, "general")["enabled"] == ["yes"]
    user = section(ari, "minibot")
    assert user["type"] == ["user"]
    assert user["read_only"] == ["no"]
    assert user["password_format"][0] in {"plain", "crypt"}
    password = user["password"][0]
    assert password, "empty ARI password"
    # the placeholder is one the README tells the operator to change
    assert password in readme
    assert re.search(r"change the ari password", readme, re.IGNORECASE)
    assert "crypt" in readme
    # accepted from localhost only (last matching rule wins in Asterisk ACLs)
    assert user["deny"] == ["0.0.0.0/0"]
    assert user["permit"] == ["127.0.0.1/32"]


def test_ari_does_not_add_channelvars_to_every_event(ari) -> None:
    # the AMD verdict comes in StasisStart args; channelvars would cost on every event
    assert "channelvars" not in section(ari, "general")


# --------------------------------------------------------------------------------------------
# amd.conf

AMD_KEYS = {
    "initial_silence",
    "greeting",
    "after_greeting_silence",
    "total_analysis_time",
    "min_word_length",
    "between_words_silence",
    "maximum_number_of_words",
    "silence_threshold",
    "maximum_word_length",
}
AMD_DEFAULTS = {  # compiled defaults of apps/app_amd.c (Asterisk 22)
    "initial_silence": 2500,
    "greeting": 1500,
    "after_greeting_silence": 800,
    "total_analysis_time": 5000,
    "min_word_length": 100,
    "between_words_silence": 50,
    "maximum_number_of_words": 2,
    "silence_threshold": 256,
    "maximum_word_length": 5000,
}


def test_amd_sets_every_key_and_nothing_else(amd) -> None:
    # an unknown key only earns a warning from app_amd, so a typo would silently keep a default
    assert set(amd) == AMD_KEYS


def test_amd_values_are_in_sane_ranges(amd) -> None:
    # a silent person (screening an unknown number) must not be MACHINE/INITIALSILENCE at 2.5 s
    assert 2500 <= amd["initial_silence"] < amd["total_analysis_time"]
    # "Allo, oui, bonjour" (~1.2 s of voice) is no long greeting; a 3-6 s voicemail greeting is
    assert 1500 <= amd["greeting"] <= 3000
    assert 800 <= amd["after_greeting_silence"] <= 1500
    assert amd["total_analysis_time"] > amd["greeting"] + amd["after_greeting_silence"]
    assert amd["total_analysis_time"] <= 10000
    assert 50 <= amd["min_word_length"] <= 200
    assert 50 <= amd["between_words_silence"] <= 200
    # app_amd says MACHINE when words > maximum: "Allo, oui, bonjour" is three words
    assert 3 <= amd["maximum_number_of_words"] <= 10
    assert 128 <= amd["silence_threshold"] <= 1024
    # one unbroken sound can never decide before the greeting length does
    assert amd["greeting"] <= amd["maximum_word_length"] <= amd["total_analysis_time"]


def read_8k(name: str) -> list[int]:
    with wave.open(str(SPEECH / f"{name}_8k.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return list(samples)


def silence(seconds: float) -> list[int]:
    return [0] * int(seconds * 8000)


def replay_amd(samples: list[int], p: dict[str, int]) -> tuple[str, str]:
    """isAnsweringMachine() of apps/app_amd.c (Asterisk 22) on 20 ms slin 8 kHz voice frames.

    The silence detector is main/dsp.c __ast_dsp_silence_noise: a frame is silent when the mean
    absolute sample is below the threshold, and the silence length is the run of silent frames.
    """
    in_initial_silence, in_greeting = True, False
    voice = silence_ms = total = words = consecutive = run_of_silence = 0
    in_word = True  # app_amd starts in STATE_IN_WORD
    for start in range(0, len(samples) - 159, 160):
        frame = samples[start : start + 160]
        total += 20
        if total >= p["total_analysis_time"]:
            return "NOTSURE", f"TOOLONG-{total}"
        if sum(abs(s) for s in frame) // 160 < p["silence_threshold"]:
            run_of_silence += 20
        else:
            run_of_silence = 0
        if run_of_silence > 0:
            silence_ms = run_of_silence
            if silence_ms >= p["between_words_silence"]:
                in_word, consecutive = False, 0
            if in_initial_silence and silence_ms >= p["initial_silence"]:
                return "MACHINE", f"INITIALSILENCE-{silence_ms}-{p['initial_silence']}"
            if in_greeting and silence_ms >= p["after_greeting_silence"]:
                return "HUMAN", f"HUMAN-{silence_ms}-{p['after_greeting_silence']}"
        else:
            consecutive += 20
            voice += 20
            if consecutive >= p["min_word_length"] and not in_word:
                words += 1
                in_word = True
            if consecutive >= p["maximum_word_length"]:
                return "MACHINE", f"MAXWORDLENGTH-{consecutive}"
            if words > p["maximum_number_of_words"]:
                return "MACHINE", f"MAXWORDS-{words}-{p['maximum_number_of_words']}"
            if in_greeting and voice >= p["greeting"]:
                return "MACHINE", f"LONGGREETING-{voice}-{p['greeting']}"
            if voice >= p["min_word_length"]:
                silence_ms = 0
            if consecutive >= p["min_word_length"] and not in_greeting:
                in_initial_silence, in_greeting = False, True
    return "NOTSURE", f"TOOLONG-{total}"


# short French answers, each followed by the silence of a person waiting for the caller
HUMAN_ANSWERS = ["allo", "bonjour_oui", "combien", "pas_le_temps", "oui_daccord", "non_merci", "robot"]


@pytest.mark.parametrize("name", HUMAN_ANSWERS)
def test_amd_calls_a_short_french_answer_human(amd, name: str) -> None:
    status, cause = replay_amd(silence(0.5) + read_8k(name) + silence(6), amd)
    assert status == "HUMAN", (name, cause)


@pytest.mark.parametrize("lead", [1.0, 2.5, 3.5])
def test_amd_does_not_call_a_silent_screener_a_machine(amd, lead: float) -> None:
    # picks up, waits `lead` seconds in silence, then "Allo ?"
    status, cause = replay_amd(silence(lead) + read_8k("allo") + silence(6), amd)
    assert status != "MACHINE", (lead, cause)


def test_amd_calls_the_french_voicemail_greeting_a_machine(amd) -> None:
    status, cause = replay_amd(silence(0.3) + read_8k("messagerie") + silence(3), amd)
    assert status == "MACHINE", cause
    assert cause.split("-")[0] in {"LONGGREETING", "MAXWORDS", "MAXWORDLENGTH"}


def test_asterisk_defaults_would_hang_up_on_people(amd) -> None:
    # the reason amd.conf is tuned: with the stock values the same replay calls these humans machines
    assert replay_amd(silence(0.5) + read_8k("non_merci") + silence(6), AMD_DEFAULTS)[0] == "MACHINE"
    assert replay_amd(silence(3.0) + read_8k("allo") + silence(6), AMD_DEFAULTS)[0] == "MACHINE"
    assert amd != AMD_DEFAULTS


# --------------------------------------------------------------------------------------------
# extensions.conf


def test_amd_context_runs_amd_then_returns_to_minibot(plan) -> None:
    steps = plan.steps("minibot-amd", "s")
    assert [s.app for s in steps] == ["AMD", "Stasis", "Hangup"]
    assert steps[0].args == []  # values come from amd.conf
    # back into the Stasis app of the worker that sent the snoop (it sets MINIBOT_APP first)
    assert steps[1].args == ["${MINIBOT_APP}", "amd", "${AMDSTATUS}", "${AMDCAUSE}"]
    assert list(plan.contexts["minibot-amd"]) == ["s"]


def test_inbound_context_hands_unanswered_calls_to_minibot(plan) -> None:
    inbound = plan.contexts["minibot-inbound"]
    assert "_X." in inbound
    for exten, steps in inbound.items():
        apps = [s.app for s in steps]
        assert "Stasis" in apps, exten
        assert "Answer" not in apps, f"{exten}: MiniBot answers over ARI"
        stasis = steps[apps.index("Stasis")]
        assert stasis.args[:2] == ["minibot", "inbound"], exten
        assert len(stasis.args) == 4, exten
        assert "${CALLERID(num)}" in stasis.args[2], exten
        assert "${EXTEN}" in stasis.args[3], exten
        # the rest runs after Stasis: a hangup on every path
        after = steps[apps.index("Stasis") + 1 :]
        assert after and all(s.app in {"GotoIf", "Hangup"} for s in after), exten
        refused = [s for s in after if s.label == "unavailable"]
        assert len(refused) == 1 and refused[0].args == ["34"], exten


def test_outbound_example_dials_the_trunk_endpoint(plan) -> None:
    for exten, steps in plan.contexts["minibot-outbound"].items():
        dial = steps[0]
        assert dial.app == "Dial", exten
        # E.164 out: either the extension is already +33..., or a national 0... becomes +33...
        target = dial.args[0]
        if exten.startswith("_+33"):
            assert target == "PJSIP/${EXTEN}@trunk", (exten, target)
        else:
            assert exten.startswith("_0") and target == "PJSIP/+33${EXTEN:1}@trunk", (exten, target)


CALLEES = {"human", "machine", "noanswer", "busy", "congestion", "reject", "unallocated", "hangup", "agent", "dtmf"}


def test_callee_sim_has_every_outcome(plan) -> None:
    assert set(plan.contexts["callee-sim"]) >= CALLEES


@pytest.mark.parametrize(
    ("exten", "cause"), [("busy", "17"), ("congestion", "34"), ("reject", "21"), ("unallocated", "1")]
)
def test_callee_sim_failures_use_the_q850_cause(plan, exten: str, cause: str) -> None:
    steps = plan.steps("callee-sim", exten)
    assert [(s.app, s.args) for s in steps] == [("Hangup", [cause])]


def playbacks(steps: list[Step], plan: Dialplan | None = None) -> list[str]:
    return [plan.expand(s.args[0]) if plan else s.args[0] for s in steps if s.app == "Playback"]


def test_callee_sim_human_greets_briefly_then_answers(plan) -> None:
    steps = plan.steps("callee-sim", "human")
    apps = [s.app for s in steps]
    assert apps[0] == "Answer" and apps[-1] == "Hangup"
    assert playbacks(steps, plan) == [SOUNDS + "allo", SOUNDS + "interet"]
    # silence between the greeting and the answer, long enough for AMD to say HUMAN
    between = steps[apps.index("Playback") + 1]
    assert between.app == "Wait" and float(between.args[0]) >= 2


def test_callee_sim_machine_plays_a_voicemail_greeting(plan) -> None:
    steps = plan.steps("callee-sim", "machine")
    apps = [s.app for s in steps]
    assert apps[0] == "Answer" and apps[-1] == "Hangup"
    assert playbacks(steps, plan) == [SOUNDS + "messagerie"]
    assert steps[apps.index("Playback") + 1].app == "Wait"
    assert steps[apps.index("Playback") + 1].args == ["3"]


def test_callee_sim_noanswer_rings_past_any_originate_timeout(plan) -> None:
    steps = plan.steps("callee-sim", "noanswer")
    apps = [s.app for s in steps]
    assert apps[0] == "Ringing" and "Answer" not in apps
    assert float(steps[1].args[0]) >= 60


def test_callee_sim_hangup_agent_dtmf(plan) -> None:
    hangup = plan.steps("callee-sim", "hangup")
    assert [(s.app, s.args) for s in hangup] == [("Answer", []), ("Wait", ["2"]), ("Hangup", [])]
    agent = plan.steps("callee-sim", "agent")
    assert [s.app for s in agent] == ["Answer", "Wait", "Hangup"] and float(agent[1].args[0]) >= 30
    dtmf = plan.steps("callee-sim", "dtmf")
    assert dtmf[0].app == "Answer"
    sent = [s.args[0] for s in dtmf if s.app == "SendDTMF"]
    assert sent and all(re.fullmatch(r"[0-9*#A-D]+", digits) for digits in sent)


def test_sounds_are_absolute_paths_without_extension(plan) -> None:
    paths = [p for ctx in plan.contexts.values() for steps in ctx.values() for p in playbacks(steps, plan)]
    assert paths
    for path in paths:
        assert path.startswith(SOUNDS), path
        assert "." not in Path(path).name, f"{path}: Asterisk wants no extension"


def test_sounds_and_scripted_server_are_globals_a_test_instance_can_move(plan) -> None:
    # tests/live/asterisk.py rewrites only these (and ports, the ARI password) in its copy
    assert plan.globals == {"MINIBOT_SOUNDS": SOUNDS.rstrip("/"), "MINIBOT_SCRIPTED": "127.0.0.1:19093"}
    for steps in plan.contexts["callee-sim"].values():
        for step in steps:
            if step.app == "Playback":
                assert step.args[0].startswith("${MINIBOT_SOUNDS}/"), step
    scripted = plan.steps("callee-sim", "scripted")
    assert [s for s in scripted if s.app == "AudioSocket"][0].args[1] == "${MINIBOT_SCRIPTED}"


def test_readme_maps_every_sound_to_an_8k_fixture(plan, readme) -> None:
    # rows like: | `allo.wav` | `tests/fixtures/speech/bonjour_oui_8k.wav` | ... |
    mapping = dict(re.findall(r"\|\s*`(\w+)\.wav`\s*\|\s*`tests/fixtures/speech/(\w+)_8k\.wav`", readme))
    used = {Path(p).name for steps in plan.contexts["callee-sim"].values() for p in playbacks(steps)}
    assert used <= set(mapping), used - set(mapping)
    for sound in used:
        read_8k(mapping[sound])  # exists, 8 kHz mono 16-bit
    assert "messagerie" in mapping["messagerie"]


# --------------------------------------------------------------------------------------------
# modules.conf

REQUIRED_MODULES = {
    "res_sorcery_config",
    "res_timing_timerfd",
    "app_amd",
    "chan_audiosocket",
    "res_stasis_snoop",
    "res_ari_channels",
    "bridge_simple",
    "bridge_softmix",
    "format_wav",
    "format_sln",
    "chan_bridge_media",  # prompts play on the call's bridge
    "func_volume",  # VOLUME(TX): the line lowered while a barge-in is judged
}
BUILTIN_APPS = {"Answer", "Hangup", "Ringing", "Wait", "NoOp", "Set", "Goto", "GotoIf", "Busy", "Congestion"}
APP_MODULES = {
    "AMD": "app_amd",
    "Stasis": "app_stasis",
    "Playback": "app_playback",
    "SendDTMF": "app_senddtmf",
    "Dial": "app_dial",
    "AudioSocket": "app_audiosocket",
    "MixMonitor": "app_mixmonitor",
}
FUNCTION_MODULES = {"CALLERID": "func_callerid", "FILTER": "func_strings", "UUID": "func_uuid"}


def loaded(modules) -> set[str]:
    return {value.removesuffix(".so") for sec, key, value in modules if sec == "modules" and key == "load"}


def test_modules_minimal_list_loads_what_minibot_needs(modules) -> None:
    general = section(modules, "modules")
    assert general["autoload"] == ["no"]
    assert loaded(modules) >= REQUIRED_MODULES, REQUIRED_MODULES - loaded(modules)
    assert loaded(modules) >= {"res_ari", "app_stasis", "res_stasis", "res_audiosocket", "codec_alaw"}


def test_modules_cover_every_application_and_function_in_the_dialplan(plan, modules) -> None:
    have = loaded(modules)
    for app in plan.apps():
        assert app in BUILTIN_APPS or APP_MODULES.get(app) in have, f"{app}() has no loaded module"
    text = (AST / "extensions.conf").read_text()
    body = "\n".join(strip_comment(line) for line in text.splitlines())
    for function in set(re.findall(r"\$\{([A-Z_]+)\(", body)):
        assert FUNCTION_MODULES.get(function) in have, f"${{{function}()}} has no loaded module"


def test_sip_modules_are_offered_but_not_loaded(modules) -> None:
    assert not any(name.startswith(("chan_pjsip", "res_pjsip")) for name in loaded(modules))
    commented = re.findall(r"^;\s*load\s*=\s*(\w+)\.so", (AST / "modules.conf").read_text(), re.MULTILINE)
    assert {"chan_pjsip", "res_pjsip", "res_pjsip_session", "res_pjsip_outbound_registration"} <= set(commented)


# --------------------------------------------------------------------------------------------
# pjsip.conf.sample and README


def test_trunk_sample_is_a_french_trunk_into_minibot(plan) -> None:
    entries = parse_conf(AST / "pjsip.conf.sample")
    types = {value for _, key, value in entries if key == "type"}
    assert {"transport", "auth", "registration", "aor", "identify", "endpoint"} <= types
    endpoint = {key: values for key, values in section(entries, "trunk").items()}
    assert "endpoint" in endpoint["type"]
    assert endpoint["context"] == ["minibot-inbound"]
    assert endpoint["context"][0] in plan.contexts
    assert endpoint["disallow"] == ["all"]
    assert endpoint["allow"][0] == "alaw"
    assert endpoint["direct_media"] == ["no"]
    assert re.search(r"<\+33\d{9}>", endpoint["callerid"][0])


def test_readme_covers_install_settings_and_live_tests(readme) -> None:
    for needed in [
        "#include",
        "dialplan reload",
        "ari show users",
        "curl -s -u minibot:",
        "http://127.0.0.1:8088/ari/asterisk/info",
        "MINIBOT_ARI__URL",
        "MINIBOT_ARI__USERNAME",
        "MINIBOT_ARI__PASSWORD",
        "MINIBOT_AUDIOSOCKET_HOST",
        "MINIBOT_AUDIOSOCKET_PORT",
        "pytest -m live",
        "ARI_URL=http://127.0.0.1:8088/ari",
        "callee-sim",
        "pjsip.conf.sample",
    ]:
        assert needed in readme, needed


def test_test_numbers_lead_to_callees_in_the_fiction_range(plan) -> None:
    numbers = plan.contexts["callee-numbers"]
    assert numbers
    for number, steps in numbers.items():
        assert re.fullmatch(r"\+3319900\d{4}", number), number  # ARCEP's range for fiction
        assert [s.app for s in steps] == ["Goto"] and steps[0].args[0] == "callee-sim", steps
        assert steps[0].args[1] in plan.contexts["callee-sim"], steps
    assert {s[0].args[1] for s in numbers.values()} >= CALLEES
