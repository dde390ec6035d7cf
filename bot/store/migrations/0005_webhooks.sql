-- The CRM link (bot.integrations): a campaign's webhook and pre-call lookup, and the outbox of
-- post-call events. An event is written in the transaction that concludes its call, so it exists
-- exactly when the call's result does; delivery reads it from here until the receiver says 2xx.

CREATE TABLE campaign_webhooks (
    campaign_id      bigint PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    url              text,                                 -- post-call events go here (null: none)
    secret           text NOT NULL,                        -- HMAC-SHA256 key; never returned by the API
    lookup_url       text,                                 -- pre-call lookup (null: none)
    lookup_timeout_s real NOT NULL DEFAULT 2 CHECK (lookup_timeout_s > 0 AND lookup_timeout_s <= 30),
    lookup_required  boolean NOT NULL DEFAULT false,       -- true: no call when the lookup fails
    max_attempts     integer NOT NULL DEFAULT 15 CHECK (max_attempts > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (url IS NOT NULL OR lookup_url IS NOT NULL)
);

CREATE TABLE webhook_outbox (
    id              bigserial PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,                  -- the receiver's key against duplicates
    kind            text NOT NULL DEFAULT 'call.ended',
    campaign_id     bigint REFERENCES campaigns (id) ON DELETE CASCADE,
    call_id         bigint REFERENCES calls (id) ON DELETE SET NULL,
    url             text NOT NULL,
    body            text NOT NULL,                         -- the exact bytes signed and sent, every try
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),    -- also the lease of a delivery in flight
    last_status     integer,                               -- the receiver's last HTTP status
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id) WHERE status = 'PENDING';
CREATE INDEX webhook_outbox_campaign ON webhook_outbox (campaign_id, status);
-- One event per call and kind: a conclusion replayed (lease recovery, then the call's real end)
-- does not send a second one.
CREATE UNIQUE INDEX webhook_outbox_one_per_call ON webhook_outbox (call_id, kind) WHERE call_id IS NOT NULL;

-- The scenario steps a call reached, in order: where a person who hung up stopped, and the
-- campaign's per-step funnel.
ALTER TABLE calls ADD COLUMN steps jsonb NOT NULL DEFAULT '[]';
