"""Lead-ins that bring the call back to the script after a free answer ("Revenons à notre sujet.").

Each is a complete short sentence, said just before the rail step's own line, which is appended
unchanged: no placeholder, so every lead-in can be rendered once as its own audio clip and the
step keeps its own.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "scenarios" / "rail_returns.yaml"
MEMORY = 8  # a caller who hears several free answers should not hear the same lead-in twice soon


@dataclass(frozen=True, slots=True)
class RailReturn:
    id: str
    text: str

    @property
    def audio(self) -> str:
        return f"rail_returns/{self.id}"

    def before(self, line: str) -> str:
        return f"{self.text} {line}"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str = Field(min_length=5, pattern=r"[.!?]$")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    returns: list[_Entry] = Field(min_length=2)


def load_rail_returns(path: Path = DEFAULT_PATH) -> tuple[RailReturn, ...]:
    try:
        parsed = _File.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    for attr in ("id", "text"):
        values = [getattr(e, attr) for e in parsed.returns]
        if dupes := sorted({v for v in values if values.count(v) > 1}):
            raise ValueError(f"{path}: duplicate {attr}(s) {dupes}")
    return tuple(RailReturn(e.id, e.text) for e in parsed.returns)


class RailReturns:
    """Picks lead-ins for one call, never one of the last `memory` it picked."""

    def __init__(self, entries: Sequence[RailReturn], *, memory: int = MEMORY) -> None:
        if len(entries) < 2:
            raise ValueError("need at least two rail returns to avoid repeating one")
        self.entries = tuple(entries)
        self._recent: deque[str] = deque(maxlen=min(memory, len(entries) - 1))

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH, *, memory: int = MEMORY) -> RailReturns:
        return cls(load_rail_returns(path), memory=memory)

    def pick(self, rng: random.Random) -> RailReturn:
        choice = rng.choice([e for e in self.entries if e.id not in self._recent])
        self._recent.append(choice.id)
        return choice
