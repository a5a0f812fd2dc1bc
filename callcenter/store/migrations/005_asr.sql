-- 005_asr: the durable job queue (speech-to-text and QA work), transcripts and utterances.
--
-- Jobs are claimed with FOR UPDATE SKIP LOCKED under a lease: a worker that dies mid-job loses
-- its lease and another takes the job again. A job's result is stored in the same transaction
-- that marks it done, and only while the lease is still the worker's, so a retried job never
-- stores its result twice.

CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('asr', 'qa')),
    -- what the job is about (a call id): one live job per (kind, key)
    key          text NOT NULL CHECK (key <> ''),
    payload      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts int NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after    timestamptz NOT NULL DEFAULT now(),
    locked_by    text,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    UNIQUE (kind, key),
    CHECK (status <> 'running' OR (locked_by IS NOT NULL AND locked_until IS NOT NULL)),
    CHECK (status <> 'failed' OR last_error IS NOT NULL)
);
CREATE TRIGGER jobs_updated_at BEFORE UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- the claim: due queued jobs of a kind, and running ones whose lease ran out
CREATE INDEX jobs_due_idx ON jobs (kind, run_after) WHERE status = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (kind, locked_until) WHERE status = 'running';

-- One transcript per call (the latest decode), its utterances in speaking order.
CREATE TABLE transcripts (
    call_id    bigint PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    model      text NOT NULL,
    language   text NOT NULL DEFAULT '',
    audio_s    double precision NOT NULL CHECK (audio_s >= 0),
    decode_s   double precision NOT NULL CHECK (decode_s >= 0),
    redacted   int NOT NULL DEFAULT 0 CHECK (redacted >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE utterances (
    id              bigserial PRIMARY KEY,
    call_id         bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq             int NOT NULL CHECK (seq >= 0),
    speaker         text NOT NULL CHECK (speaker IN ('customer', 'agent', 'mixed')),
    start_s         double precision NOT NULL CHECK (start_s >= 0),
    end_s           double precision NOT NULL,
    -- masked (cards, phone numbers) unless the settings keep the original
    text            text NOT NULL,
    words           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(words) = 'array'),
    text_unredacted text,
    UNIQUE (call_id, seq),
    CHECK (end_s >= start_s)
);
-- QA search over what was said
CREATE INDEX utterances_text_idx ON utterances USING gin (to_tsvector('simple', text));

-- Why audio is missing: each pause of a call's recording (payment data given to the IVR, the
-- agent's pause button), who asked, and when it resumed. The muted span itself is what Asterisk
-- reported (calls.recording_pauses); this says why.
CREATE TABLE recording_gaps (
    id         bigserial PRIMARY KEY,
    call_id    bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    reason     text NOT NULL CHECK (reason IN ('payment_ivr', 'agent_pause', 'supervisor_pause')),
    actor      text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX recording_gaps_call_idx ON recording_gaps (call_id, started_at);
-- at most one open pause per call
CREATE UNIQUE INDEX recording_gaps_open_idx ON recording_gaps (call_id) WHERE ended_at IS NULL;
