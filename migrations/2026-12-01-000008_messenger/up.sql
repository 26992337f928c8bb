-- The Messenger channel: a Page per channel row, raw webhook events persisted before they are
-- processed, durable outbound sends, the person's last inbound time (the reply window), and
-- contact sync jobs.

-- A channel's identity on its platform (the Page id), its health, and since when.
ALTER TABLE channels
    ADD COLUMN external_id   TEXT,
    ADD COLUMN health        TEXT NOT NULL DEFAULT 'connected'
        CHECK (health IN ('connected', 'needs_reconnect', 'restricted')),
    ADD COLUMN health_detail TEXT,
    ADD COLUMN health_at     TIMESTAMPTZ;
CREATE UNIQUE INDEX channels_external_id ON channels (kind, external_id) WHERE external_id IS NOT NULL;

-- The window rules read the platform's timestamp of the person's last inbound event.
ALTER TABLE contacts
    ADD COLUMN last_inbound_at TIMESTAMPTZ,
    ADD COLUMN unreachable_at  TIMESTAMPTZ,
    ADD COLUMN avatar_url      TEXT;

-- A channel message is stored once per channel, whatever session it lands in; `content` holds
-- what is not text (attachments as links, a postback's payload, a quick reply's payload).
ALTER TABLE messages
    ADD COLUMN channel_id BIGINT REFERENCES channels (id) ON DELETE CASCADE,
    ADD COLUMN content    JSONB NOT NULL DEFAULT '{}'::jsonb;
CREATE UNIQUE INDEX messages_channel_external_id ON messages (channel_id, external_id)
    WHERE channel_id IS NOT NULL AND external_id IS NOT NULL;

-- Each webhook POST, as received (the raw body: the signature was checked over these bytes),
-- one row per channel it concerns. Processed after the 200, in order.
CREATE TABLE webhook_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id   BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    body         TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX webhook_events_pending ON webhook_events (channel_id, id) WHERE processed_at IS NULL;

-- A message to send through a channel's platform, written in the same transaction as the
-- message. `sending` is committed before the request goes out: a row found `sending` after a
-- crash is `unconfirmed` (never sent again automatically) unless its echo confirms it.
CREATE TABLE channel_outbound (
    message_id      BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    channel_id      BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    session_id      BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    recipient       TEXT NOT NULL,
    messaging_type  TEXT NOT NULL CHECK (messaging_type IN ('RESPONSE', 'UPDATE', 'MESSAGE_TAG')),
    tag             TEXT,
    state           TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_until   TIMESTAMPTZ,
    error_code      INTEGER,
    error_subcode   INTEGER,
    error_text      TEXT,
    mid             TEXT,
    sent_at         TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    read_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX channel_outbound_due ON channel_outbound (channel_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX channel_outbound_sending ON channel_outbound (claimed_until) WHERE state = 'sending';
CREATE UNIQUE INDEX channel_outbound_mid ON channel_outbound (channel_id, mid) WHERE mid IS NOT NULL;
CREATE INDEX channel_outbound_watermark ON channel_outbound (channel_id, recipient, sent_at) WHERE state = 'sent';

-- Jobs belong to a channel (contact sync) and can be cancelled.
ALTER TABLE jobs
    ADD COLUMN channel_id       BIGINT REFERENCES channels (id) ON DELETE CASCADE,
    ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled'));
CREATE UNIQUE INDEX jobs_one_active_per_channel_kind ON jobs (channel_id, kind)
    WHERE state IN ('queued', 'running') AND channel_id IS NOT NULL;
