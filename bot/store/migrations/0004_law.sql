-- The French law in force (issue 16): a legal basis per campaign, a consent ledger with its proof,
-- the caller ID presented, and every gate decision kept for the authority (DGCCRF, CNIL).

-- What a campaign states about itself. legal_basis NULL (campaigns created before this migration) is
-- read as `consent`, the strictest: no default dials a consumer without consent.
ALTER TABLE campaigns
    ADD COLUMN legal_basis       text CHECK (legal_basis IN ('consent', 'contract', 'b2b', 'not_prospecting')),
    ADD COLUMN sector            text,                 -- bot.compliance.sectors; NULL: none declared
    ADD COLUMN advertiser        text,                 -- the company the calls are for (consents name it)
    ADD COLUMN purpose           text,                 -- what the calls are for (consents list purposes)
    ADD COLUMN contract_subject  text,                 -- basis contract: the contract's subject
    ADD COLUMN no_sales_declared boolean NOT NULL DEFAULT false,  -- basis not_prospecting: declared
    ADD COLUMN caller_id         text,                 -- the number presented; NULL: the dial settings'
    ADD COLUMN legal_ground      text;                 -- why overrides that loosen French rules are lawful

-- The consent ledger with its proof. Rows are never deleted (a revocation sets revoked_*).
ALTER TABLE consents
    ADD COLUMN collected_by     text,                  -- who collected it (the company or its partner)
    ADD COLUMN company          text,                  -- for whom; NULL: the operator itself
    ADD COLUMN method           text NOT NULL DEFAULT 'other'
                                CHECK (method IN ('web_form', 'paper', 'call', 'email', 'other')),
    ADD COLUMN wording          text NOT NULL DEFAULT '',  -- the exact words the person accepted
    ADD COLUMN purposes         text[] NOT NULL DEFAULT '{}',
    ADD COLUMN channel          text NOT NULL DEFAULT 'telephone',
    ADD COLUMN proof_ref        text,                  -- form id, file, URL
    ADD COLUMN outside_hours    boolean NOT NULL DEFAULT false,  -- agreed to be called outside the hours
    ADD COLUMN revoked_source   text,
    ADD COLUMN revoked_evidence text,
    ADD COLUMN revoked_call_id  bigint REFERENCES calls (id) ON DELETE SET NULL;

-- What a call presented and when its AI disclosure had been heard to its end (ms since the answer).
ALTER TABLE calls
    ADD COLUMN caller_id          text,
    ADD COLUMN disclosure_done_ms integer;

-- Every decision of the gate at a dial: why each number was (or was not) dialled.
CREATE TABLE gate_decisions (
    id           bigserial PRIMARY KEY,
    decided_at   timestamptz NOT NULL,                 -- the time the gate judged (the dialer's clock)
    phone        text NOT NULL,
    campaign_id  bigint REFERENCES campaigns (id) ON DELETE CASCADE,
    attempt_id   bigint REFERENCES attempts (id) ON DELETE SET NULL,
    allowed      boolean NOT NULL,
    regime       text NOT NULL,                        -- opposition | consent
    legal_basis  text,
    reasons      text[] NOT NULL DEFAULT '{}',
    rules        text[] NOT NULL DEFAULT '{}',         -- the legal texts behind the reasons / the basis
    consent_id   bigint REFERENCES consents (id) ON DELETE SET NULL,
    contract_ref text,
    caller_id    text,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX gate_decisions_campaign ON gate_decisions (campaign_id, decided_at);
CREATE INDEX gate_decisions_phone ON gate_decisions (phone);
