"""Everything a scenario needs to hold a conversation, built once per scenario and shared by
its calls: the objection library of its themes, the intent classifier (offline, or Ollama with
the offline one behind it), free LLM answers, and the lead-ins back to the script.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import LlmSettings
from .freestyle import Exchange, Freestyle, FreestyleBrief, RailReturns
from .intents import IntentClassifier
from .llm import ChatModel, OllamaChat
from .nlu.embeddings import Embedder
from .nlu.offline import OfflineClassifier
from .nlu.ollama import OllamaClassifier
from .objections.library import BASE_THEMES, Library, load_library
from .scenario.engine import ScenarioRun
from .scenario.loader import load_scenario
from .scenario.model import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def scenario_path(name_or_path: str | Path) -> Path:
    """A shipped scenario's name (`demo`) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return SCENARIOS / f"{name_or_path}.yaml"


@dataclass
class ScenarioFreestyle:
    """The engine's free-answer hook on top of `Freestyle`: adds the step's context and the
    closest library answer (a hint, for a middling match) to the campaign brief."""

    freestyle: Freestyle
    brief: FreestyleBrief

    async def __call__(self, caller_text: str, step_context: str | None, hint: str | None,
                       history: list[tuple[str, str]]) -> str | None:
        context = self.brief.context
        if step_context:
            context += f" À cette étape : {step_context}"
        if hint:
            context += f" Réponse de référence possible : {hint}"
        brief = replace(self.brief, context=context)
        return await self.freestyle.answer(brief, [Exchange(c, b) for c, b in history], caller_text)


@dataclass
class Brain:
    scenario: Scenario
    path: Path
    library: Library
    classifier: IntentClassifier
    freestyle: ScenarioFreestyle | None
    rail_returns_path: Path | None = None
    chat: ChatModel | None = None

    async def prewarm(self) -> bool:
        """Load the LLM before the first call (a cold model answers in seconds, not in a turn);
        False when there is no LLM or it is not there (calls then go on without it)."""
        prewarm = getattr(self.chat, "prewarm", None)
        return bool(prewarm and await prewarm())

    def new_run(self, values: dict[str, str] | None = None, *, rng: random.Random | None = None) -> ScenarioRun:
        rng = rng or random.Random()
        rail_returns = RailReturns.load(self.rail_returns_path) if self.rail_returns_path else RailReturns.load()
        return ScenarioRun(self.scenario, values, library=self.library, freestyle=self.freestyle,
                           rail_returns=rail_returns, base_dir=self.path.parent, rng=rng)

    @classmethod
    def build(cls, scenario: str | Path, llm: LlmSettings | None = None, *, embeddings: bool = True,
              chat: ChatModel | None = None, cache_dir: Path | None = None) -> Brain:
        """Load and check the scenario, then build its brain (embedding the library and training
        the classifier take minutes the first time, then come from `cache_dir`, default
        `<settings' cache dir>/nlu`: a warm start takes a few seconds)."""
        path = scenario_path(scenario)
        full = load_library()
        parsed = load_scenario(path, library=full)
        library = full.select([*BASE_THEMES, *parsed.themes])
        classifier: IntentClassifier = OfflineClassifier(library, embedder=Embedder(cache_dir) if embeddings else None)
        freestyle = None
        if chat is None and llm is not None and llm.enabled:
            chat = OllamaChat.from_settings(llm)
        if chat is not None:
            timeout = llm.timeout if llm else 1.5
            classifier = OllamaClassifier(chat, library, classifier, timeout)
            brief = FreestyleBrief(parsed.agent_name, parsed.company_name, parsed.context.strip(), parsed.objective,
                                   parsed.personality, list(parsed.facts))
            freestyle = ScenarioFreestyle(Freestyle(chat, llm.freestyle_timeout if llm else 4.0), brief)
        return cls(parsed, path, library, classifier, freestyle, chat=chat)
