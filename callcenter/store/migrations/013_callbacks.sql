-- Callbacks that keep the caller's place (callcenter/routing/callbacks.py): one row per call whose
-- caller was offered a callback. A taken callback stays in the router's queue with the caller's
-- original wait start (enqueued_at, the router's clock in epoch seconds), so a restarted server
-- queues the open ones again in the same order. status: offered (the IVR played the offer),
-- declined (the caller kept waiting), waiting (taken; not yet connected, attempts tried so far),
-- connected (the agent talks with the customer), completed, failed (after the last attempt: a
-- callback ticket, ticket_id).
CREATE TABLE callbacks (
    call_linkedid     text PRIMARY KEY CHECK (call_linkedid <> ''),
    status            text NOT NULL DEFAULT 'offered'
                      CHECK (status IN ('offered', 'declined', 'waiting', 'connected', 'completed',
                                        'failed')),
    skill             text NOT NULL DEFAULT '',
    number            text CHECK (number <> ''),
    request           jsonb,
    enqueued_at       double precision,
    waited_s          double precision NOT NULL DEFAULT 0 CHECK (waited_s >= 0),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_result       text,
    agent_login       text,
    callback_linkedid text,
    ticket_id         bigint REFERENCES tickets (id) ON DELETE SET NULL,
    offered_at        timestamptz NOT NULL DEFAULT now(),
    accepted_at       timestamptz,
    connected_at      timestamptz,
    ended_at          timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('offered', 'declined') OR (number IS NOT NULL AND request IS NOT NULL
                                                  AND enqueued_at IS NOT NULL
                                                  AND accepted_at IS NOT NULL))
);
CREATE TRIGGER callbacks_updated_at BEFORE UPDATE ON callbacks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- the restart reloads the open ones in queue order
CREATE INDEX callbacks_open_idx ON callbacks (enqueued_at) WHERE status IN ('waiting', 'connected');
-- the KPIs by the day the offer was made
CREATE INDEX callbacks_offered_idx ON callbacks (offered_at);
