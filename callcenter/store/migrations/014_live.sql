-- 014_live: live speech during the call.
--
-- Each utterance the server cuts from a live leg is kept as a segment (its 8 kHz audio) with a
-- ``live_asr`` job in the shared queue; an ASR worker (any host that reaches this database)
-- claims it under a short lease, and stores the text as a live utterance in the same
-- transaction that completes the job (a worker that dies loses the lease; another decodes the
-- segment, and the text is stored once). A gap row says where the transcript has no audio:
-- the stream dropped, or the recording was paused for card data (no audio left Asterisk then).
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('asr', 'qa', 'live_asr'));

CREATE TABLE live_segments (
    id             bigserial PRIMARY KEY,
    linkedid       text NOT NULL CHECK (linkedid <> ''),
    speaker        text NOT NULL CHECK (speaker IN ('customer', 'agent')),
    start_s        double precision NOT NULL CHECK (start_s >= 0),
    end_s          double precision NOT NULL,
    -- the wall time the speech ended (what the lag to the agent's screen counts from)
    speech_end_at  timestamptz NOT NULL,
    pcm            bytea NOT NULL CHECK (octet_length(pcm) <= 16000 * 30),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (end_s >= start_s)
);
CREATE INDEX live_segments_call_idx ON live_segments (linkedid);

CREATE TABLE live_utterances (
    id             bigserial PRIMARY KEY,
    linkedid       text NOT NULL CHECK (linkedid <> ''),
    segment_id     bigint UNIQUE,
    kind           text NOT NULL DEFAULT 'speech' CHECK (kind IN ('speech', 'gap')),
    -- a gap's cause: the stream dropped, or the recording was paused for payment data
    reason         text CHECK (reason IN ('dropped', 'paused')),
    speaker        text NOT NULL CHECK (speaker IN ('customer', 'agent')),
    start_s        double precision NOT NULL CHECK (start_s >= 0),
    end_s          double precision NOT NULL,
    text           text NOT NULL DEFAULT '',
    words          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(words) = 'array'),
    model          text NOT NULL DEFAULT '',
    -- the caller's own orders and shipments heard in it (matched before the text is masked)
    mentions       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(mentions) = 'array'),
    -- the customer's sentiment in it (the QA sentiment model), for the supervisor's alerts
    sentiment      text CHECK (sentiment IN ('negative', 'neutral', 'positive')),
    sentiment_score real,
    speech_end_at  timestamptz,
    stored_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (end_s >= start_s),
    CHECK ((kind = 'gap') = (reason IS NOT NULL))
);
CREATE INDEX live_utterances_call_idx ON live_utterances (linkedid, start_s);
