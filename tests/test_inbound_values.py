"""What an inbound call's scenario knows: the numbers, and the contact's fields when the caller is a
stored contact (a real PostgreSQL); a declared variable with no value refuses the call."""

from __future__ import annotations

import pytest

from bot.call.controller import InboundCall
from bot.campaign.inbound import InboundConversations, MissingValues
from bot.dialog.brain import Brain

SCENARIO = """
name: accueil
title: Accueil entrant
agent_name: Camille
company_name: MiniBot Services
objective: lead
variables: [first_name, called_number]
rail: [hello, bye]
steps:
  hello:
    disclosure: true
    say: Bonjour {{first_name}}, vous avez appelé le {{called_number}}. Je suis une assistante automatisée.
    intent_mapping:
      default: bye
  bye:
    say: Merci, au revoir.
    result: NOT_QUALIFIED
"""


@pytest.fixture(scope="module")
def brain(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "accueil.yaml"
    path.write_text(SCENARIO)
    return Brain.build(path, embeddings=False)


async def test_a_known_caller_gets_the_contacts_fields(db, brain):
    await db.pool.execute("INSERT INTO contacts (phone, first_name, company, extra) VALUES ($1, $2, $3, $4)",
                          "+33612345678", "Hélène", "Rénov'Éco", '{"ville": "Lyon"}')
    inbound = InboundConversations(brain, voice=None, db=db)
    call = InboundCall(caller="0612345678", called="+33162000000", channel_id="c1")  # national format
    values = await inbound.values(call)
    assert values == {"first_name": "Hélène", "company": "Rénov'Éco", "ville": "Lyon",
                      "caller_number": "0612345678", "called_number": "+33162000000"}
    conversation = await inbound(call)
    assert conversation.values["first_name"] == "Hélène"


async def test_an_unknown_caller_missing_a_variable_is_refused(db, brain):
    inbound = InboundConversations(brain, voice=None, db=db)
    with pytest.raises(MissingValues, match="first_name"):
        await inbound(InboundCall(caller="+33699999999", called="+33162000000", channel_id="c2"))
    with pytest.raises(MissingValues, match="first_name"):  # a withheld number: not a contact either
        await inbound(InboundCall(caller="", called="+33162000000", channel_id="c3"))
