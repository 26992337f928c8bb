-- Several pending timers of one kind per session (an automation run's steps, say), told apart
-- by `key`; the kinds that keep one per session use the empty key.
ALTER TABLE timers ADD COLUMN key TEXT NOT NULL DEFAULT '';
DROP INDEX timers_pending_per_kind;
CREATE UNIQUE INDEX timers_pending_per_key ON timers (session_id, kind, key) WHERE fired_at IS NULL;
