"""The conversation an inbound call runs: the inbound scenario, with what is known of the call.

Every inbound call gets `caller_number` and `called_number`; a caller whose number is a stored
contact also gets the contact's fields (first_name, company, the file's other columns), as a
campaign call would. A scenario variable still without a value refuses the call (the controller
hangs up with a cause) rather than greeting "Bonjour , je suis Camille".
"""

from __future__ import annotations

import logging

from ..call.call import mask
from ..call.controller import InboundCall
from ..call.scenario_conversation import ScenarioConversation, Voice
from ..contacts.phones import InvalidPhone, to_e164
from ..dialog.brain import Brain
from ..store import Database
from ..store.contacts import contact_fields

log = logging.getLogger(__name__)


class MissingValues(ValueError):
    """A scenario variable has no value for this call."""


def missing_values(brain: Brain, values: dict[str, str]) -> list[str]:
    return [v for v in brain.scenario.variables if not str(values.get(v) or "").strip()]


class InboundConversations:
    def __init__(self, brain: Brain, voice: Voice, db: Database | None, *, agent_endpoint: str | None = None) -> None:
        self.brain, self.voice, self.db, self.agent_endpoint = brain, voice, db, agent_endpoint

    async def values(self, inbound: InboundCall) -> dict[str, str]:
        values = {"caller_number": inbound.caller, "called_number": inbound.called}
        if self.db is None or not inbound.caller:
            return values
        try:
            phone = to_e164(inbound.caller)
        except InvalidPhone:
            return values  # a withheld or foreign-format number: not a contact
        contact = await contact_fields(self.db.pool, phone)
        if contact:
            log.info("inbound call from %s: a known contact", mask(phone))
            values = {**contact, **values}
        return values

    async def __call__(self, inbound: InboundCall) -> ScenarioConversation:
        values = await self.values(inbound)
        missing = missing_values(self.brain, values)
        if missing:
            raise MissingValues(f"scenario {self.brain.scenario.name!r}: no value for {', '.join(missing)} "
                                f"on this call")
        return ScenarioConversation(self.brain, self.voice, values, agent_endpoint=self.agent_endpoint)
