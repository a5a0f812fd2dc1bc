-- Call control: how long the agent kept the caller on hold (holds that ended, the running one
-- counted when the call ends) and how many times.
ALTER TABLE calls ADD COLUMN hold_s double precision NOT NULL DEFAULT 0 CHECK (hold_s >= 0);
ALTER TABLE calls ADD COLUMN hold_count integer NOT NULL DEFAULT 0 CHECK (hold_count >= 0);
