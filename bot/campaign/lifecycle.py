"""A campaign's lifecycle: DRAFT → READY → RUNNING ⇄ PAUSED → COMPLETED / CANCELLED.

DRAFT is being set up (contacts imported, rules edited); READY has been checked (its scenario
loads, it has contacts); only RUNNING campaigns are dialled; PAUSED keeps its schedule but dials
nothing new (calls in progress finish); COMPLETED is reached by itself when no attempt is left;
CANCELLED drops what was scheduled. A wrong change is a TransitionError (HTTP 409 in the API).
"""

from __future__ import annotations

from enum import StrEnum

from ..i18n import _


class CampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    READY = "READY"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


S = CampaignStatus
# action → (the statuses it applies to, the status it leads to)
TRANSITIONS: dict[str, tuple[tuple[CampaignStatus, ...], CampaignStatus]] = {
    "ready": ((S.DRAFT,), S.READY),
    "start": ((S.READY,), S.RUNNING),
    "pause": ((S.RUNNING,), S.PAUSED),
    "resume": ((S.PAUSED,), S.RUNNING),
    "complete": ((S.RUNNING, S.PAUSED), S.COMPLETED),
    "cancel": ((S.DRAFT, S.READY, S.RUNNING, S.PAUSED), S.CANCELLED),
}
OPEN = (S.DRAFT, S.READY, S.RUNNING, S.PAUSED)  # contacts may still be added


class TransitionError(Exception):
    """The campaign is not in a status this action applies to."""

    def __init__(self, campaign_id: int, action: str, status: str) -> None:
        allowed, _target = TRANSITIONS[action]
        super().__init__(_("la campagne {id} est {status} : « {action} » ne s'applique qu'aux campagnes "
                           "{allowed}").format(
            id=campaign_id, status=status, action=action, allowed=_(" ou ").join(s.value for s in allowed)))
        self.campaign_id, self.action, self.status = campaign_id, action, status


def target(action: str) -> tuple[tuple[CampaignStatus, ...], CampaignStatus]:
    if action not in TRANSITIONS:
        raise ValueError(f"unknown action {action!r} (one of {', '.join(TRANSITIONS)})")
    return TRANSITIONS[action]
