-- The append-only tables refuse TRUNCATE too (it bypasses UPDATE/DELETE triggers), and the
-- refusal names the table it was about (the function was shared and always said call_events).
CREATE OR REPLACE FUNCTION call_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'this table is a record of what happened; add rows instead';
END
$$;
CREATE TRIGGER call_events_no_truncate BEFORE TRUNCATE ON call_events
    FOR EACH STATEMENT EXECUTE FUNCTION call_events_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION call_events_append_only();
