-- 001_initial: calls and their raw AMI event log, agents and skills, the shop's customers,
-- orders and shipments (screen-pop), after-sales tickets, recordings.
--
-- Conventions: every time is timestamptz; text columns that hold a closed set of values carry a
-- CHECK; foreign keys say what happens on delete; indexes exist for what is looked up
-- (screen-pop by caller number, live calls, an agent's open tickets, replay of a call's events).

-- updated_at maintained by the database, so no writer can forget it.
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Agents and skills
-- ---------------------------------------------------------------------------------------------

CREATE TABLE skills (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    description text NOT NULL DEFAULT ''
);

CREATE TABLE agents (
    id             bigserial PRIMARY KEY,
    login          text NOT NULL UNIQUE CHECK (login <> ''),
    display_name   text NOT NULL CHECK (display_name <> ''),
    -- any Asterisk dial string: PJSIP/1001 in production, Local/1001@ctx/n in tests and the lab
    dial_string    text NOT NULL CHECK (dial_string LIKE '%/%'),
    languages      text[] NOT NULL DEFAULT '{}',
    max_concurrent int NOT NULL DEFAULT 1 CHECK (max_concurrent >= 1),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_skills (
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    skill_id bigint NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    level    int NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (agent_id, skill_id)
);
-- the router loads "who has skill X" (the primary key covers "skills of agent Y")
CREATE INDEX agent_skills_skill_idx ON agent_skills (skill_id, level DESC);

CREATE TABLE agent_state_changes (
    id       bigserial PRIMARY KEY,
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    state    text NOT NULL CHECK (state IN ('logged_out', 'ready', 'paused', 'wrap_up', 'busy')),
    reason   text NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_state_changes_agent_at_idx ON agent_state_changes (agent_id, at DESC);
CREATE INDEX agent_state_changes_at_idx ON agent_state_changes (at);

-- ---------------------------------------------------------------------------------------------
-- The shop: customers, orders, shipments (read by the screen-pop)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE customers (
    id         bigserial PRIMARY KEY,
    -- normalised digits (optional leading +) so the caller number finds it; not unique on
    -- purpose: a household or a company line can be shared by several customers
    phone      text CHECK (phone ~ '^\+?[0-9]{3,20}$'),
    name       text NOT NULL,
    email      text CHECK (email IS NULL OR email LIKE '%_@_%'),
    tier       text NOT NULL DEFAULT 'standard' CHECK (tier IN ('standard', 'vip')),
    language   text NOT NULL DEFAULT 'en' CHECK (language <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_phone_idx ON customers (phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_email_idx ON customers (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE orders (
    id           bigserial PRIMARY KEY,
    order_number text NOT NULL UNIQUE CHECK (order_number <> ''),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    status       text NOT NULL CHECK (status <> ''),
    total_cents  bigint NOT NULL CHECK (total_cents >= 0),
    currency     text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    placed_at    timestamptz NOT NULL,
    -- target of tickets' (order_id, customer_id) key: a ticket's order is its customer's
    UNIQUE (id, customer_id)
);
-- screen-pop: a customer's most recent orders first
CREATE INDEX orders_customer_placed_idx ON orders (customer_id, placed_at DESC);

CREATE TABLE order_items (
    id         bigserial PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    sku        text NOT NULL CHECK (sku <> ''),
    title      text NOT NULL,
    quantity   int NOT NULL CHECK (quantity > 0),
    unit_cents bigint NOT NULL CHECK (unit_cents >= 0)
);
CREATE INDEX order_items_order_idx ON order_items (order_id);

CREATE TABLE shipments (
    id              bigserial PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    carrier         text NOT NULL CHECK (carrier <> ''),
    tracking_number text,
    status          text NOT NULL CHECK (status <> ''),
    status_at       timestamptz,
    delivered_at    timestamptz
);
CREATE INDEX shipments_order_idx ON shipments (order_id);
-- agents search by the tracking number a customer reads out
CREATE INDEX shipments_tracking_idx ON shipments (tracking_number) WHERE tracking_number IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- Calls: the tracker's projection of the AMI events, and the events themselves
-- ---------------------------------------------------------------------------------------------

CREATE TABLE calls (
    id               bigserial PRIMARY KEY,
    linkedid         text NOT NULL UNIQUE CHECK (linkedid <> ''),
    caller_channel   text,
    caller_number    text,
    caller_name      text,
    state            text NOT NULL DEFAULT 'ivr'
                     CHECK (state IN ('ivr', 'queued', 'offered', 'talking', 'ended')),
    outcome          text CHECK (outcome IN ('answered', 'abandoned', 'failed', 'ivr_hangup')),
    agent_channel    text,
    -- filled by the screen-pop / routing once known; the call stays if they are deleted
    agent_id         bigint REFERENCES agents (id) ON DELETE SET NULL,
    customer_id      bigint REFERENCES customers (id) ON DELETE SET NULL,
    digits           text,
    hangup_cause     int,
    hangup_by        text,
    arrived_at       timestamptz NOT NULL,
    queued_at        timestamptz,
    answered_at      timestamptz,
    bridged_at       timestamptz,
    ended_at         timestamptz,
    ivr_path         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ivr_path) = 'array'),
    context          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context) = 'object'),
    offers           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(offers) = 'array'),
    recording_pauses jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(recording_pauses) = 'array'),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- an ended call says when and how it ended
    CHECK (state <> 'ended' OR (ended_at IS NOT NULL AND outcome IS NOT NULL))
);
CREATE TRIGGER calls_updated_at BEFORE UPDATE ON calls
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- history lists and reports (newest first), the wallboard's live calls, a caller's past calls
CREATE INDEX calls_arrived_idx ON calls (arrived_at DESC);
CREATE INDEX calls_live_idx ON calls (arrived_at) WHERE state <> 'ended';
CREATE INDEX calls_caller_number_idx ON calls (caller_number, arrived_at DESC)
    WHERE caller_number IS NOT NULL AND caller_number <> '';
CREATE INDEX calls_agent_idx ON calls (agent_id, arrived_at DESC) WHERE agent_id IS NOT NULL;
CREATE INDEX calls_customer_idx ON calls (customer_id, arrived_at DESC) WHERE customer_id IS NOT NULL;

CREATE TABLE call_legs (
    id           bigserial PRIMARY KEY,
    -- legs move between calls when the tracker merges two; they go with their call
    call_id      bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    uniqueid     text NOT NULL UNIQUE CHECK (uniqueid <> ''),
    channel      text NOT NULL,
    role         text NOT NULL CHECK (role IN ('caller', 'agent', 'local', 'other')),
    created_at   timestamptz NOT NULL,
    answered_at  timestamptz,
    ended_at     timestamptz,
    hangup_cause int,
    dial_status  text
);
CREATE INDEX call_legs_call_idx ON call_legs (call_id);

-- The raw AMI event log, append-only: the calls above are a projection of it, and replaying
-- it rebuilds them. (scope, seq, event) identifies an event, so writing the same events twice
-- inserts nothing. scope is the Uniqueid or bridge id the event is about ('' for none);
-- linkedid is '' for events that belong to no call.
-- The headers of a raw AMI frame as a jsonb object (the first value wins when a header repeats,
-- as in the server's parser), for queries over the event log:
--   SELECT ami_fields(raw)->>'Cause' FROM call_events WHERE linkedid = $1 AND event = 'Hangup'
-- The log stores only the raw frame: it is the truth, and the hot path ships nothing else.
CREATE FUNCTION ami_fields(raw text) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb)
    FROM (SELECT DISTINCT ON (k) k, v
          FROM (SELECT split_part(line, ': ', 1) AS k, substr(line, strpos(line, ': ') + 2) AS v, n
                FROM unnest(string_to_array(raw, E'\r\n')) WITH ORDINALITY AS l(line, n)
                WHERE strpos(line, ': ') > 1) AS headers
          ORDER BY k, n) AS firsts
$$;

CREATE TABLE call_events (
    id          bigserial PRIMARY KEY,
    linkedid    text NOT NULL DEFAULT '',
    scope       text NOT NULL,
    seq         int NOT NULL,
    event       text NOT NULL,
    -- the frame exactly as Asterisk sent it (without the terminating blank line)
    raw         text NOT NULL,
    received_at timestamptz NOT NULL,
    CONSTRAINT call_events_identity UNIQUE (scope, seq, event)
);
-- replay one call in arrival order
CREATE INDEX call_events_linkedid_idx ON call_events (linkedid, id) WHERE linkedid <> '';
-- time ranges (incidents, retention): rows arrive in time order, so BRIN is tiny and cheap
CREATE INDEX call_events_received_brin ON call_events USING brin (received_at);

CREATE FUNCTION call_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'call_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'the event log is the record calls are rebuilt from; add rows instead';
END
$$;
-- statement-level: costs nothing per inserted row, and fires even when no row matches
CREATE TRIGGER call_events_no_update BEFORE UPDATE ON call_events
    FOR EACH STATEMENT EXECUTE FUNCTION call_events_append_only();
CREATE TRIGGER call_events_no_delete BEFORE DELETE ON call_events
    FOR EACH STATEMENT EXECUTE FUNCTION call_events_append_only();

-- ---------------------------------------------------------------------------------------------
-- After-sales tickets
-- ---------------------------------------------------------------------------------------------

CREATE TABLE tickets (
    id             bigserial PRIMARY KEY,
    customer_id    bigint NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    order_id       bigint,
    call_id        bigint REFERENCES calls (id) ON DELETE SET NULL,
    kind           text NOT NULL
                   CHECK (kind IN ('return', 'refund', 'exchange', 'repair', 'complaint', 'inquiry',
                                   'callback')),
    status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'in_progress', 'waiting_customer', 'resolved', 'closed')),
    subject        text NOT NULL CHECK (subject <> ''),
    notes          text NOT NULL DEFAULT '',
    owner_agent_id bigint REFERENCES agents (id) ON DELETE SET NULL,
    reply_due_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- the ticket's order belongs to the ticket's customer
    FOREIGN KEY (order_id, customer_id) REFERENCES orders (id, customer_id) ON DELETE RESTRICT
);
CREATE TRIGGER tickets_updated_at BEFORE UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- screen-pop: the caller's tickets, open ones first
CREATE INDEX tickets_customer_idx ON tickets (customer_id, created_at DESC);
CREATE INDEX tickets_customer_open_idx ON tickets (customer_id)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX tickets_order_idx ON tickets (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX tickets_call_idx ON tickets (call_id) WHERE call_id IS NOT NULL;
-- an agent's work list, and the sweep for replies coming due
CREATE INDEX tickets_owner_idx ON tickets (owner_agent_id, status) WHERE owner_agent_id IS NOT NULL;
CREATE INDEX tickets_reply_due_idx ON tickets (reply_due_at)
    WHERE reply_due_at IS NOT NULL AND status NOT IN ('resolved', 'closed');

CREATE TABLE ticket_history (
    id        bigserial PRIMARY KEY,
    ticket_id bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL CHECK (actor <> ''),
    field     text NOT NULL CHECK (field <> ''),
    old_value text,
    new_value text
);
CREATE INDEX ticket_history_ticket_idx ON ticket_history (ticket_id, at);

-- ---------------------------------------------------------------------------------------------
-- Recordings (MixMonitor files); the ASR/QA job queue comes with the workers
-- ---------------------------------------------------------------------------------------------

CREATE TABLE recordings (
    id         bigserial PRIMARY KEY,
    -- a call with recordings is not deleted before its files are dealt with
    call_id    bigint NOT NULL REFERENCES calls (id) ON DELETE RESTRICT,
    kind       text NOT NULL CHECK (kind IN ('mixed', 'customer', 'agent')),
    path       text NOT NULL UNIQUE CHECK (path <> ''),
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    size_bytes bigint CHECK (size_bytes >= 0),
    duration_s double precision CHECK (duration_s >= 0),
    sha256     text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    status     text NOT NULL DEFAULT 'recording'
               CHECK (status IN ('recording', 'final', 'missing', 'empty')),
    -- a final recording is a closed, measured, hashed file
    CHECK (status <> 'final' OR (ended_at IS NOT NULL AND size_bytes IS NOT NULL AND sha256 IS NOT NULL))
);
CREATE INDEX recordings_call_idx ON recordings (call_id);
-- the registry's sweep of files still being written
CREATE INDEX recordings_open_idx ON recordings (started_at) WHERE status = 'recording';
