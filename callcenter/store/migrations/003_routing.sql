-- 003_routing: agent states as the router knows them, and what each state change was about.
--
-- States: offline, ready, offered (the phone rings with a call), talking, wrap_up, paused (with a
-- reason: break, training, missed…). 001 had logged_out/busy: those rows become offline/talking.

ALTER TABLE agent_state_changes DROP CONSTRAINT agent_state_changes_state_check;
UPDATE agent_state_changes SET state = 'offline' WHERE state = 'logged_out';
UPDATE agent_state_changes SET state = 'talking' WHERE state = 'busy';
ALTER TABLE agent_state_changes ADD CONSTRAINT agent_state_changes_state_check
    CHECK (state IN ('offline', 'ready', 'offered', 'talking', 'wrap_up', 'paused'));

-- the call (its linkedid) an offered/talking state is about; '' for none
ALTER TABLE agent_state_changes ADD COLUMN call_id text NOT NULL DEFAULT '';
-- a pause always says why
ALTER TABLE agent_state_changes ADD CONSTRAINT agent_state_changes_pause_reason_check
    CHECK (state <> 'paused' OR reason <> '') NOT VALID;
