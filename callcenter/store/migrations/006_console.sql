-- 006_console: the agent console: the disposition an agent gives a call at wrap-up, and who
-- changed a ticket (history rows already exist since 001).

ALTER TABLE calls
    ADD COLUMN disposition text CHECK (disposition IS NULL OR disposition ~ '^[a-z_]{2,40}$'),
    ADD COLUMN disposition_note text NOT NULL DEFAULT '' CHECK (length(disposition_note) <= 2000),
    ADD COLUMN disposition_at timestamptz;

-- ticket search: subject and notes as words, order numbers and phones by equality
CREATE INDEX tickets_text_idx ON tickets
    USING gin (to_tsvector('simple', subject || ' ' || notes));
CREATE INDEX tickets_created_idx ON tickets (created_at DESC);
