DROP TABLE outbox;
ALTER TABLE sessions DROP COLUMN alert_wait_since;
