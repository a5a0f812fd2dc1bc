-- 012_supervision: supervisors listening to, whispering into and barging into live calls
-- through their own phone (ChanSpy), and the phone they use.

-- the supervisor's phone, an Asterisk dial string (PJSIP/1009); NULL: none given yet
ALTER TABLE users ADD COLUMN phone text
    CHECK (phone IS NULL OR (phone LIKE '%/%' AND phone !~ '[\s,]'));

-- One row per monitoring session: who listened to which call, how, from when to when. Switching
-- mode (listen -> whisper -> barge) ends one session and starts the next.
CREATE TABLE supervision_sessions (
    id           bigserial PRIMARY KEY,
    supervisor   text NOT NULL,               -- users.login
    call_id      text NOT NULL,               -- calls.linkedid
    agent_id     text NOT NULL DEFAULT '',    -- agents.login of the agent on the call
    mode         text NOT NULL CHECK (mode IN ('listen', 'whisper', 'barge')),
    phone        text NOT NULL,               -- the dial string rung
    spy_channel  text NOT NULL DEFAULT '',    -- the supervisor's channel once it exists
    started_at   timestamptz NOT NULL,
    answered_at  timestamptz,                 -- the supervisor picked up: spying from here
    ended_at     timestamptz,
    end_reason   text CHECK (end_reason IN ('stopped', 'switched', 'call_ended', 'hung_up',
                                            'phone_unavailable', 'failed', 'server_restart',
                                            'agent_left')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX supervision_sessions_call_idx ON supervision_sessions (call_id);
CREATE INDEX supervision_sessions_started_idx ON supervision_sessions (started_at DESC);
-- one barge at a time on a call; one live session at a time per supervisor (one phone)
CREATE UNIQUE INDEX supervision_sessions_one_barge ON supervision_sessions (call_id)
    WHERE mode = 'barge' AND ended_at IS NULL;
CREATE UNIQUE INDEX supervision_sessions_one_live ON supervision_sessions (supervisor)
    WHERE ended_at IS NULL;
