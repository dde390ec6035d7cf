-- Why a campaign is paused, and who paused it: an operator, or the breaker (bot.campaign.breaker)
-- after a burst of refused originates or cut calls. Only a breaker pause resumes by itself.
ALTER TABLE campaigns ADD COLUMN pause_reason text;
ALTER TABLE campaigns ADD COLUMN paused_by text CHECK (paused_by IN ('operator', 'breaker'));
ALTER TABLE campaigns ADD COLUMN paused_at timestamptz;
