-- What a call produced is first written to a local journal (bot/store/journal.py), then stored.
-- A call's entry is stored once: its uuid is inserted here in the same transaction, so a replay
-- after a crash or an outage finds it and stores nothing twice.
CREATE TABLE journal_replays (
    call_uuid   text PRIMARY KEY,
    worker      text NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
