-- Why a call ended when nobody saw it end: the AMI link was down (the server reconciled with
-- Asterisk's channel list afterwards) or no server was running (closed at the next start).
-- Empty for every call whose end was seen.
ALTER TABLE calls ADD COLUMN end_reason text
    CHECK (end_reason IN ('link_down', 'server_down'));
