-- What a call produced is first written to a local journal (bot/store/journal.py), then stored.
-- A call's entry is stored once: its uuid is inserted here in the same transaction, so a replay
-- after a crash or an outage finds it and stores nothing twice.
CREATE TABLE journal_replays (
    call_uuid   text PRIMARY KEY,
    worker      text NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);

-- What a campaign runs, stored when it starts: every worker runs the same scenario whatever its
-- file system holds, and an edit of the file never changes a running campaign.
ALTER TABLE campaigns
    ADD COLUMN scenario_yaml    text,   -- the scenario file's text at start
    ADD COLUMN scenario_version text,   -- sha256 of that text (its first 12 hex digits)
    ADD COLUMN scenario_dir     text;   -- the file's absolute folder on the starting machine (audio beside it)
