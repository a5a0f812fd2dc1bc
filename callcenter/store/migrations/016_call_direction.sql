-- Callbacks are calls too: an agent's phone rung into cc-callback, then the customer dialled.
-- direction says who placed the call (the customer: inbound; the call center: callback) and a
-- callback names the original call it answers (callback_of, that call's linkedid; no foreign
-- key: the original may be stored after it, or be gone). The inbound KPIs (offered, abandoned,
-- ASA, service level) count inbound calls only.
ALTER TABLE calls ADD COLUMN direction text NOT NULL DEFAULT 'inbound'
    CHECK (direction IN ('inbound', 'callback'));
ALTER TABLE calls ADD COLUMN callback_of text CHECK (callback_of <> '');
ALTER TABLE calls ADD CONSTRAINT calls_direction_callback_of_check
    CHECK ((direction = 'callback') = (callback_of IS NOT NULL));
-- the callbacks of a call
CREATE INDEX calls_callback_of_idx ON calls (callback_of) WHERE callback_of IS NOT NULL;
