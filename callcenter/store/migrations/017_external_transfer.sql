-- Blind transfer to an outside number: the carrier leg the caller's channel dials is the call's
-- 'external' party (its transferred_to: the masked number, as on the agent's leg that sent the
-- caller there).
ALTER TABLE call_legs DROP CONSTRAINT call_legs_role_check;
ALTER TABLE call_legs ADD CONSTRAINT call_legs_role_check
    CHECK (role IN ('caller', 'agent', 'local', 'external', 'other'));
