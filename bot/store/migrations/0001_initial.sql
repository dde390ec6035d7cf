-- MiniBot's schema: campaigns, contacts, the attempts the dialer works through, calls and their
-- events, and what the compliance gate reads (opt-outs with evidence, blacklist, Bloctel, consent).
-- Phone numbers are stored in E.164; times are timestamptz (UTC on the wire).

CREATE TABLE campaigns (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL,
    scenario             text NOT NULL,                        -- a shipped scenario's name or a YAML path
    status               text NOT NULL DEFAULT 'DRAFT'
                         CHECK (status IN ('DRAFT', 'READY', 'RUNNING', 'PAUSED', 'COMPLETED', 'CANCELLED')),
    max_concurrent_calls integer NOT NULL DEFAULT 5 CHECK (max_concurrent_calls > 0),
    calls_per_second     real NOT NULL DEFAULT 1 CHECK (calls_per_second > 0),
    retry_policy         jsonb NOT NULL DEFAULT '{}',          -- overrides of bot.campaign.retries.RetryPolicy
    compliance           jsonb NOT NULL DEFAULT '{}',          -- overrides of bot.compliance.rules.ComplianceRules
    variables            jsonb NOT NULL DEFAULT '{}',          -- values every call of the campaign gets
    next_dial_at         timestamptz NOT NULL DEFAULT now(),   -- the pace: no dial before this
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    finished_at          timestamptz
);

CREATE TABLE contacts (
    id          bigserial PRIMARY KEY,
    phone       text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    first_name  text,
    last_name   text,
    email       text,
    company     text,
    timezone    text,                                  -- null: the campaign's rules decide
    extra       jsonb NOT NULL DEFAULT '{}',           -- other columns of the imported file
    source      text,                                  -- the file it came from
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A contact's place in a campaign.
CREATE TABLE campaign_contacts (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id  bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'PENDING'
                CHECK (status IN ('PENDING', 'IN_PROGRESS', 'DONE', 'EXCLUDED')),
    result      text,                                  -- the last call's result, or why excluded
    attempts    integer NOT NULL DEFAULT 0,
    added_at    timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, contact_id)
);
CREATE INDEX campaign_contacts_contact ON campaign_contacts (contact_id);

-- One planned dial. The dialer claims due ones with FOR UPDATE SKIP LOCKED and holds a lease
-- while it works; an expired lease is recovered without dialling twice (bot.campaign.leases).
CREATE TABLE attempts (
    id               bigserial PRIMARY KEY,
    campaign_id      bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id       bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    number           integer NOT NULL DEFAULT 1,       -- 1 for the first dial, then retries
    reason           text NOT NULL DEFAULT 'first',    -- first, retry:<outcome>, callback, recovered
    due_at           timestamptz NOT NULL DEFAULT now(),
    status           text NOT NULL DEFAULT 'SCHEDULED'
                     CHECK (status IN ('SCHEDULED', 'CLAIMED', 'DIALING', 'DONE', 'SKIPPED', 'CANCELLED')),
    lease_owner      text,
    lease_expires_at timestamptz,
    gate_reasons     text[] NOT NULL DEFAULT '{}',     -- the compliance gate's last refusal
    call_id          bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attempts_due ON attempts (due_at, id) WHERE status = 'SCHEDULED';
CREATE INDEX attempts_leased ON attempts (lease_expires_at) WHERE status IN ('CLAIMED', 'DIALING');
CREATE INDEX attempts_campaign ON attempts (campaign_id, status);
-- At most one open attempt per contact and campaign: a retry is planned only once the last one ended.
CREATE UNIQUE INDEX attempts_one_open ON attempts (campaign_id, contact_id)
    WHERE status IN ('SCHEDULED', 'CLAIMED', 'DIALING');

CREATE TABLE calls (
    id              bigserial PRIMARY KEY,
    call_uuid       text NOT NULL UNIQUE,              -- the id in logs and Asterisk channel names
    campaign_id     bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    contact_id      bigint REFERENCES contacts (id) ON DELETE SET NULL,
    attempt_id      bigint REFERENCES attempts (id) ON DELETE SET NULL,
    phone           text NOT NULL,
    direction       text NOT NULL DEFAULT 'outbound' CHECK (direction IN ('outbound', 'inbound')),
    status          text NOT NULL DEFAULT 'DIALING'
                    CHECK (status IN ('DIALING', 'IN_PROGRESS', 'ENDED', 'INTERRUPTED')),
    outcome         text,                              -- bot.call.outcome.Outcome
    result          text,                              -- the scenario's CallResult
    amd_status      text,
    amd_cause       text,
    amd_verdict     text,                              -- human | machine, after the transcript layer
    hangup_cause    integer,
    hangup_cause_txt text,
    worker          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    answered_at     timestamptz,
    ended_at        timestamptz,
    ring_ms         integer,
    duration_ms     integer,                           -- answered to hang-up
    transcript      jsonb NOT NULL DEFAULT '[]',       -- [{speaker, text, at_ms}]
    recording_path  text,
    objections      jsonb NOT NULL DEFAULT '[]',       -- [{id, score, at_ms}]
    freestyle_turns integer NOT NULL DEFAULT 0,
    barge_ins       integer NOT NULL DEFAULT 0,
    latency         jsonb NOT NULL DEFAULT '{}',       -- answer_to_first_audio_ms, turn_latency_ms [...]
    qualification   real,
    note            text,
    purged_at       timestamptz                        -- transcript and recording removed (retention)
);
CREATE INDEX calls_phone_time ON calls (phone, created_at);
CREATE INDEX calls_campaign ON calls (campaign_id, created_at);
ALTER TABLE attempts ADD FOREIGN KEY (call_id) REFERENCES calls (id) ON DELETE SET NULL;

CREATE TABLE call_events (
    id       bigserial PRIMARY KEY,
    call_id  bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at_ms    integer NOT NULL,                         -- since the call was placed
    kind     text NOT NULL,
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX call_events_call ON call_events (call_id, at_ms);

-- Do-not-call requests. Never deleted by retention: they are the evidence that the request was honoured.
CREATE TABLE opt_outs (
    id          bigserial PRIMARY KEY,
    phone       text NOT NULL,
    source      text NOT NULL,                         -- call, cli, api, import
    call_id     bigint REFERENCES calls (id) ON DELETE SET NULL,
    campaign_id bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    evidence    text NOT NULL DEFAULT '',              -- what the person said, or who recorded it
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opt_outs_phone ON opt_outs (phone);

CREATE TABLE blacklist (
    phone      text PRIMARY KEY,
    reason     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The Bloctel opposition list: each import replaces the numbers, and keeps a trace of the file.
CREATE TABLE bloctel_imports (
    id          bigserial PRIMARY KEY,
    file_name   text NOT NULL,
    sha256      text NOT NULL,
    numbers     integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bloctel_numbers (
    phone     text PRIMARY KEY,
    import_id bigint NOT NULL REFERENCES bloctel_imports (id) ON DELETE CASCADE
);

-- Consent ledger: who agreed to be called, for what (a campaign, or any campaign when null), and the proof.
CREATE TABLE consents (
    id          bigserial PRIMARY KEY,
    phone       text NOT NULL,
    campaign_id bigint REFERENCES campaigns (id) ON DELETE CASCADE,
    source      text NOT NULL,
    evidence    text NOT NULL DEFAULT '',
    granted_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX consents_phone ON consents (phone);
