"""A stand-in Asterisk 22 for demos and tests: ARI REST + the event WebSocket on aiohttp, and
AudioSocket media to MiniBot's AudioSocket server, with scripted called parties.

Behaviour follows ../shared/asterisk-22-facts.md and the live captures in
../shared/asterisk-22-captures (event orders, causes, field sets).
"""

from .call import Call, Played, Said
from .callees import (
    Agent,
    Busy,
    Callee,
    Congestion,
    Failure,
    Human,
    Machine,
    NoAnswer,
    Rejected,
    Say,
    Unallocated,
    default_callee,
)
from .core import Faults
from .server import SimulatedAsterisk

__all__ = [
    "Agent",
    "Busy",
    "Call",
    "Callee",
    "Congestion",
    "Failure",
    "Faults",
    "Human",
    "Machine",
    "NoAnswer",
    "Played",
    "Rejected",
    "Said",
    "Say",
    "SimulatedAsterisk",
    "Unallocated",
    "default_callee",
]
