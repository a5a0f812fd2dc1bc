-- Call control: who talked to the caller when. An agent's leg (call_legs role 'agent') keeps the
-- agent it rang for, when their talk with the caller began, how it ended (the agent or caller
-- hung up; the agent transferred the call, blind, after a consultation, or left a conference),
-- where it was transferred to and the agent's note. The call counts its transfers.
ALTER TABLE call_legs ADD COLUMN agent_id bigint REFERENCES agents (id) ON DELETE SET NULL;
ALTER TABLE call_legs ADD COLUMN talk_started_at timestamptz;
ALTER TABLE call_legs ADD COLUMN ended_how text
    CHECK (ended_how IN ('hangup', 'transfer', 'consult', 'conference'));
ALTER TABLE call_legs ADD COLUMN transferred_to text;
ALTER TABLE call_legs ADD COLUMN note text;
CREATE INDEX call_legs_agent_idx ON call_legs (agent_id) WHERE agent_id IS NOT NULL;
ALTER TABLE calls ADD COLUMN transfers integer NOT NULL DEFAULT 0 CHECK (transfers >= 0);
