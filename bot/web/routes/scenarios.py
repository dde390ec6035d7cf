"""Scenarios over HTTP: the shipped ones (a campaign names one of them), and a validator for a YAML
text that reports every problem with its line, as `minibot scenario validate` does for a file.

Reading YAML and loading the objection library is CPU and file work: it runs in a thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ...dialog.objections.library import LibraryError, load_library
from ...dialog.scenario.authoring import NAME, shipped
from ...dialog.scenario.loader import ScenarioInvalid, load_scenario, read_scenario_text
from ..context import context
from ..errors import ApiError
from . import JSON, Answer, Route, json_body, reply, validate
from .contacts import scratch

YAML_TYPES = frozenset({"text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml", "text/plain"})
MAX_SCENARIO_BYTES = 1024 * 1024  # the largest shipped scenario is a few kB


class ScenarioInfo(BaseModel):
    name: str
    title: str | None
    objective: str | None
    path: str = Field(description="the file, relative to the scenarios folder's parent")


class ScenarioList(BaseModel):
    scenarios: list[ScenarioInfo]


class ScenarioText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=MAX_SCENARIO_BYTES, description="the scenario's YAML text")


class Uploaded(BaseModel):
    name: str
    steps: int
    path: str = Field(description="where the server keeps it; a campaign names it by `name`")


class ValidationProblem(BaseModel):
    line: int = Field(description="1-based line in the YAML text")
    message: str


class ValidationResult(BaseModel):
    valid: bool
    name: str | None = Field(None, description="the scenario's name, when valid")
    steps: int | None = Field(None, description="its number of steps, when valid")
    problems: list[ValidationProblem]
    objections_checked: bool = Field(description="false when the objection library could not be loaded "
                                     "(themes then go unchecked)")


def _describe(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in shipped(folder):
        try:
            raw = yaml.safe_load(read_scenario_text(path))
        except (OSError, ValueError, yaml.YAMLError):
            raw = None
        raw = raw if isinstance(raw, dict) else {}
        out.append({"name": str(raw.get("name") or path.stem), "title": raw.get("title"),
                    "objective": raw.get("objective"), "path": str(path.relative_to(folder.parent))})
    return out


async def list_scenarios(request: web.Request) -> web.Response:
    ctx = context(request)
    found = await asyncio.to_thread(_describe, ctx.scenarios_dir)
    if ctx.uploads_dir is not None and await asyncio.to_thread(ctx.uploads_dir.is_dir):
        names = {s["name"] for s in found}
        found += [s for s in await asyncio.to_thread(_describe, ctx.uploads_dir) if s["name"] not in names]
    return reply({"scenarios": found})


async def _text(request: web.Request) -> str:
    if request.content_type == JSON:
        return validate(ScenarioText, await json_body(request)).yaml
    if request.content_type in YAML_TYPES:
        if request.content_length is not None and request.content_length > MAX_SCENARIO_BYTES:
            raise ApiError(413, f"a scenario is at most {MAX_SCENARIO_BYTES // 1024} KiB")
        data = await request.read()
        if len(data) > MAX_SCENARIO_BYTES:
            raise ApiError(413, f"a scenario is at most {MAX_SCENARIO_BYTES // 1024} KiB")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"the YAML is not UTF-8 (byte {exc.start})", field="body") from None
    raise ApiError(415, f"send the scenario as text/yaml, or as JSON {{\"yaml\": \"...\"}}, not {request.content_type}")


def _validate(path: Path) -> dict[str, Any]:
    try:
        library = load_library()
    except LibraryError:
        library = None
    try:
        scenario = load_scenario(path, library=library)
    except ScenarioInvalid as exc:
        problems = [{"line": p.line, "message": p.message.replace(str(path), "scenario")} for p in exc.problems]
        return {"valid": False, "name": None, "steps": None, "problems": problems,
                "objections_checked": library is not None}
    return {"valid": True, "name": scenario.name, "steps": len(scenario.steps), "problems": [],
            "objections_checked": library is not None}


def _prepare(folder: Path, scenarios_dir: Path, text: str) -> Path:
    """The text as a file in `folder`, beside links to what the scenarios folder holds (audio...), so
    that relative paths in it resolve as they would for a shipped scenario."""
    for entry in scenarios_dir.iterdir() if scenarios_dir.is_dir() else ():
        if entry.suffix not in (".yaml", ".yml"):
            (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    path = folder / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def validate_scenario(request: web.Request) -> web.Response:
    text = await _text(request)
    async with scratch() as folder:
        path = await asyncio.to_thread(_prepare, folder, context(request).scenarios_dir, text)
        result = await asyncio.to_thread(_validate, path)
    return reply(result)


async def upload_scenario(request: web.Request) -> web.Response:
    """Validate a scenario's YAML and keep it under `name`, so that a campaign can run it. A shipped
    scenario's name is refused (409): the shipped files are the product's, not the API's."""
    ctx = context(request)
    name = request.match_info["name"]
    if not NAME.match(name):
        raise ApiError(400, f"a scenario name is lowercase letters, digits and _, starting with a letter: {name!r}",
                       field="name")
    if ctx.uploads_dir is None:
        raise ApiError(409, "this server keeps no uploaded scenarios")
    if (ctx.scenarios_dir / f"{name}.yaml").exists():
        raise ApiError(409, f"{name!r} is a shipped scenario; upload under another name")
    text = await _text(request)
    async with scratch() as folder:
        path = await asyncio.to_thread(_prepare, folder, ctx.scenarios_dir, text)
        result = await asyncio.to_thread(_validate, path)
    if not result["valid"]:
        problems = "; ".join(f"line {p['line']}: {p['message']}" for p in result["problems"])
        raise ApiError(400, f"invalid scenario: {problems}", field="body")
    if result["name"] != name:
        raise ApiError(400, f"the YAML's name is {result['name']!r}, not {name!r}", field="name")
    target = await asyncio.to_thread(_keep, ctx.uploads_dir, name, text)
    return reply({"name": name, "steps": result["steps"], "path": str(target)}, status=201,
                 headers={"Location": f"/api/scenarios/{name}"})


def _keep(folder: Path, name: str, text: str) -> Path:
    """Written whole, then renamed into place: a campaign never reads half a scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.yaml"
    tmp = folder / f".{name}.yaml.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target


ROUTES = (
    Route("GET", "/api/scenarios", list_scenarios, "List the shipped scenarios", "scenarios",
          answers=(Answer(200, "name, title, objective and file of each", schema=ScenarioList),)),
    Route("POST", "/api/scenarios/validate", validate_scenario, "Validate a scenario's YAML", "scenarios",
          description="Every problem with its line: YAML syntax, shape, unknown steps and intents, unreachable "
                      "steps, undeclared variables, the disclosure line, objection themes, audio files (relative "
                      "to the scenarios folder). Always 200: `valid` says whether it passed.",
          body={"text/yaml": {"type": "string"}, JSON: ScenarioText},
          answers=(Answer(200, "the verdict and the problems", schema=ValidationResult),), errors=(400, 413, 415)),
    Route("PUT", "/api/scenarios/{name}", upload_scenario, "Upload a scenario", "scenarios",
          description="Validated as by /api/scenarios/validate (400 with the problems and their lines), then kept "
                      "on the server under `name` (the YAML's own name must match), for campaigns to name. "
                      "Uploading again replaces it; a shipped scenario's name is a 409.",
          body={"text/yaml": {"type": "string"}, JSON: ScenarioText},
          path_params={"name": {"type": "string", "pattern": NAME.pattern}},
          answers=(Answer(201, "kept", schema=Uploaded),), errors=(400, 409, 413, 415)),
)
