-- 007_qa: sentiment per utterance, scorecard results per call, reviewers' overrides.

ALTER TABLE utterances
    ADD COLUMN sentiment text CHECK (sentiment IN ('negative', 'neutral', 'positive')),
    ADD COLUMN sentiment_score real CHECK (sentiment_score BETWEEN 0 AND 1);

-- The latest scoring of a call (re-scored when its scorecard's version changes).
CREATE TABLE qa_results (
    call_id     bigint PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    scorecard   text NOT NULL,
    version     int NOT NULL CHECK (version >= 1),
    -- the machine's score, and the score with the reviewers' overrides (what reports use)
    total       real CHECK (total BETWEEN 0 AND 100),
    final_score real CHECK (final_score BETWEEN 0 AND 100),
    items       jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    flags       text[] NOT NULL DEFAULT '{}',
    sentiment   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(sentiment) = 'object'),
    model       text NOT NULL DEFAULT '',
    scored_at   timestamptz NOT NULL DEFAULT now(),
    reviewed_at timestamptz,
    reviewer    text
);
CREATE INDEX qa_results_scored_idx ON qa_results (scored_at DESC);
CREATE INDEX qa_results_flags_idx ON qa_results USING gin (flags);
CREATE INDEX qa_results_final_idx ON qa_results (final_score);

-- A reviewer's verdict on one item (the latest per call and item counts); kept as history.
CREATE TABLE qa_overrides (
    id       bigserial PRIMARY KEY,
    call_id  bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    item_id  text NOT NULL CHECK (item_id <> ''),
    passed   boolean NOT NULL,
    comment  text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    reviewer text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_overrides_call_idx ON qa_overrides (call_id, item_id, at DESC);
