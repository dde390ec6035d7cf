"""The pre-call lookup: before dialling a contact, ask the CRM for extra variables.

MiniBot POSTs `{"campaign_id", "contact": {...}}`, signed like the webhooks (bot.integrations.signing),
to the campaign's `lookup_url`, and expects a JSON object of strings (`{"offre": "fibre", ...}`),
which the scenario sees beside the contact's own values. A slow, failed or malformed answer does
not block the call (the scenario goes on without those values) unless the campaign set
`lookup_required`: then the attempt waits (LookupFailed) and is tried again later.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import aiohttp
import asyncpg

from ..ops.logs import mask_number as mask
from .outbox import Webhook, get_webhook
from .signing import sign

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 1024


class LookupFailed(RuntimeError):
    """The lookup was required and gave no usable answer."""


class PreCallLookup:
    """`await lookup(campaign_id, contact)` → extra variables (an empty dict when the campaign has
    no lookup, or when an optional one fails)."""

    def __init__(self, pool: asyncpg.Pool, *, session: aiohttp.ClientSession | None = None) -> None:
        self.pool = pool
        self._session = session
        self._own_session = session is None

    async def __call__(self, campaign_id: int, contact: dict[str, Any]) -> dict[str, str]:
        hook = await get_webhook(self.pool, campaign_id)
        if hook is None or hook.lookup_url is None:
            return {}
        try:
            return await self._ask(hook, campaign_id, contact)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            why = "no answer in time" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            if hook.lookup_required:
                raise LookupFailed(f"pre-call lookup failed for {mask(str(contact.get('phone', '')))}: {why}") from exc
            log.warning("pre-call lookup for %s failed (%s); calling without its values",
                        mask(str(contact.get("phone", ""))), why)
            return {}

    async def _ask(self, hook: Webhook, campaign_id: int, contact: dict[str, Any]) -> dict[str, str]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        body = json.dumps({"campaign_id": campaign_id, "contact": contact}, ensure_ascii=False,
                          default=str).encode()
        headers = sign(hook.secret, str(uuid.uuid4()), body, time.time())
        timeout = aiohttp.ClientTimeout(total=hook.lookup_timeout_s)
        async with self._session.post(hook.lookup_url, data=body, headers=headers, timeout=timeout,
                                      allow_redirects=False) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            raw = await resp.content.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ValueError(f"answer larger than {MAX_BYTES} bytes")
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("the answer is not a JSON object")
        return {str(k): "" if v is None else str(v) for k, v in data.items() if isinstance(v, str | int | float | None)}

    async def aclose(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
