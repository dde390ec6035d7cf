"""The delivery worker: sends the outbox's due events, signed, and retries with backoff.

Run by `minibot serve` and by `minibot campaign run` (bot.integrations.delivery.run_delivery); any
number of them may share the outbox. A try is a success on any 2xx; anything else (a refusal, a
timeout, a receiver down) is tried again after 5 s, 10 s, 20 s... up to an hour between tries, until
the webhook's `max_attempts`; then the event is FAILED, kept, and can be sent again (`minibot
webhook resend`). The event id is the same on every try: a receiver that got a try whose answer was
lost sees the same id again and ignores it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import asyncpg

from . import outbox
from .signing import sign

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryConfig:
    poll_interval: float = 1.0  # seconds between looks at an empty outbox
    batch: int = 20  # events claimed at once
    concurrency: int = 8  # requests in flight at once
    timeout: float = 10.0  # seconds a receiver has to answer one try
    backoff_base: float = 5.0  # seconds before the 2nd try; doubled each time after
    backoff_max: float = 3600.0
    jitter: float = 0.2  # ± this fraction, so events that failed together do not all come back together
    housekeep_every: float = 3600.0  # seconds between outbox.housekeep passes (old deliveries, purged words)

    def backoff(self, tries: int) -> float:
        delay = min(self.backoff_base * 2 ** max(tries - 1, 0), self.backoff_max)
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.timeout + 30)


class WebhookDelivery:
    def __init__(self, pool: asyncpg.Pool, config: DeliveryConfig | None = None, *,
                 wall: Callable[[], float] = time.time) -> None:
        self.pool, self.config, self.wall = pool, config or DeliveryConfig(), wall
        self.delivered = 0
        self.failed_tries = 0
        self._session: aiohttp.ClientSession | None = None
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now (an event was just written)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        async with aiohttp.ClientSession() as self._session:
            next_housekeeping = time.monotonic()
            try:
                while True:
                    if time.monotonic() >= next_housekeeping:
                        next_housekeeping = time.monotonic() + self.config.housekeep_every
                        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                            await outbox.housekeep(self.pool)
                    try:
                        sent = await self.deliver_due()
                    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                        log.warning("webhooks: cannot read the outbox (%s); retrying", exc)
                        sent = 0
                        await self._nap(self.config.poll_interval * 5)
                    if not sent:
                        await self._nap(self.config.poll_interval)
            finally:
                self._session = None

    async def deliver_due(self) -> int:
        """One pass: claim due events and try each once. Returns how many were tried."""
        due = await outbox.claim_due(self.pool, limit=self.config.batch, lease=self.config.lease)
        if not due:
            return 0
        gate = asyncio.Semaphore(self.config.concurrency)

        async def one(event: outbox.Pending) -> None:
            async with gate:
                await self._try(event)

        await asyncio.gather(*(one(e) for e in due))
        return len(due)

    async def _nap(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _try(self, event: outbox.Pending) -> None:
        status: int | None = None
        if event.secret is None:
            error = "le webhook de la campagne a été supprimé"
        else:
            body = event.body.encode()
            headers = sign(event.secret, event.event_id, body, self.wall())
            try:
                status, error = await self._post(event.url, body, headers)
            except (aiohttp.ClientError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except TimeoutError:
                error = f"pas de réponse en {self.config.timeout:g} s"
        try:
            if status is not None and 200 <= status < 300:
                await outbox.mark_delivered(self.pool, event.id, status)
                self.delivered += 1
                log.info("webhook event %s delivered (try %d, HTTP %d)", event.event_id, event.attempts, status)
                return
            self.failed_tries += 1
            give_up = event.secret is None or event.attempts >= event.max_attempts
            retry_in = None if give_up else timedelta(seconds=self.config.backoff(event.attempts))
            await outbox.mark_failed_try(self.pool, event.id, status=status, error=error, retry_in=retry_in)
            if give_up:
                log.error("webhook event %s failed after %d tries: %s", event.event_id, event.attempts, error)
            else:
                log.warning("webhook event %s: try %d failed (%s); next in %.0f s", event.event_id, event.attempts,
                            error, retry_in.total_seconds())
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            # The try's outcome is not stored: the lease runs out and the event is sent again with
            # the same id, which a receiver that already has it ignores.
            log.warning("webhook event %s: outcome not stored (%s)", event.event_id, exc)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        assert self._session is not None, "run() opens the session"
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        # No redirects: a signed body is for the URL the operator configured, not wherever it points.
        async with self._session.post(url, data=body, headers=headers, timeout=timeout,
                                      allow_redirects=False) as resp:
            text = (await resp.content.read(300)).decode("utf-8", "replace")
            return resp.status, "" if 200 <= resp.status < 300 else f"HTTP {resp.status}: {text.strip()[:200]}"


async def run_delivery(pool: asyncpg.Pool, config: DeliveryConfig | None = None) -> None:
    """The worker as a task body (serve, campaign run): logs and restarts after an unexpected error."""
    while True:
        try:
            await WebhookDelivery(pool, config).run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery crashed; restarting in 5 s")
            await asyncio.sleep(5)
