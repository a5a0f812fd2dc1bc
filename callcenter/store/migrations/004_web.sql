-- 004_web: people who log in (agents, supervisors, QA staff, admins), their sessions, and the
-- audit log of security-relevant actions.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    login         text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    display_name  text NOT NULL CHECK (display_name <> ''),
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor', 'qa', 'admin')),
    -- argon2id hash (PHC string); never the password
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    language      text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh-CN')),
    -- an agent user is the person behind one agent record (routing, state, calls)
    agent_id      bigint UNIQUE REFERENCES agents (id) ON DELETE SET NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'agent' OR agent_id IS NOT NULL OR disabled)
);

-- A browser session. Only the SHA-256 of the cookie's token is stored, so a leaked table
-- cannot be replayed as cookies.
CREATE TABLE sessions (
    token_sha256 text PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    remote       text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Who did what: logins (failed too), recording plays and downloads, score overrides, ticket
-- changes. Append-only like the call event log.
CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,             -- user login, or the attempted login for failures
    action  text NOT NULL CHECK (action <> ''),
    target  text NOT NULL DEFAULT '',
    remote  text NOT NULL DEFAULT '',
    detail  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object')
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION call_events_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION call_events_append_only();
