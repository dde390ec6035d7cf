"""Free LLM answers when no objection matched, and the lead-ins that return to the script."""

from .answer import Freestyle
from .guards import Verdict, vet
from .personalities import PERSONALITIES
from .prompt import Exchange, FreestyleBrief, build_messages
from .rail_returns import RailReturn, RailReturns, load_rail_returns

__all__ = [
    "PERSONALITIES", "Exchange", "Freestyle", "FreestyleBrief", "RailReturn", "RailReturns", "Verdict",
    "build_messages", "load_rail_returns", "vet",
]
