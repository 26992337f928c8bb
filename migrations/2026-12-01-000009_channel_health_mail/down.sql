DELETE FROM outbox WHERE kind = 'channel_health';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('no_reply_alert', 'test'));
