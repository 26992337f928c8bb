DROP INDEX timers_pending_per_key;
DELETE FROM timers WHERE key <> '' AND fired_at IS NULL;
CREATE UNIQUE INDEX timers_pending_per_kind ON timers (session_id, kind) WHERE fired_at IS NULL;
ALTER TABLE timers DROP COLUMN key;
