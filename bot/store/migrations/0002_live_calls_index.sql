-- Calls in progress are read every few seconds (metrics gauges, live views): index them alone.
CREATE INDEX calls_live ON calls (campaign_id) WHERE status IN ('DIALING', 'IN_PROGRESS');
