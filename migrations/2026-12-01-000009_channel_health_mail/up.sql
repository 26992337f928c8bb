-- E-mails to a project's channel managers when a channel stops being able to send.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('no_reply_alert', 'test', 'channel_health'));
