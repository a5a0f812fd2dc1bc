-- 002_ivr: what the IVR stores beyond calls.ivr_path and calls.context.
--
-- csat: the post-call survey's answer (1-5), also kept in calls.context as "survey.csat"; a
-- column so that reports and the wallboard can average it without parsing jsonb.
-- callback_number: the number a callback ticket must be called back on (the caller ID or the
-- number the caller keyed in), normalised like customers.phone.

ALTER TABLE calls ADD COLUMN csat smallint CHECK (csat BETWEEN 1 AND 5);
CREATE INDEX calls_csat_idx ON calls (arrived_at DESC) WHERE csat IS NOT NULL;

ALTER TABLE tickets ADD COLUMN callback_number text
    CHECK (callback_number IS NULL OR callback_number ~ '^\+?[0-9]{3,20}$');
ALTER TABLE tickets ADD CONSTRAINT tickets_callback_has_number_check
    CHECK (kind <> 'callback' OR callback_number IS NOT NULL OR notes <> '') NOT VALID;
-- the callback work list: open callbacks by due time
CREATE INDEX tickets_callbacks_open_idx ON tickets (reply_due_at, id)
    WHERE kind = 'callback' AND status NOT IN ('resolved', 'closed');
