-- E-mail alerts when a visitor waits for a human reply: the wait that alerts count (hosted
-- sessions included), and the outbox of e-mails the mailer sends.

-- Start of the current wait for a human reply, counted also while a bot hosts the session
-- (alerts for hosted sessions are a project setting). `awaiting_since` keeps leaving hosted
-- time out, for first-response times.
ALTER TABLE sessions ADD COLUMN alert_wait_since TIMESTAMPTZ;
UPDATE sessions SET alert_wait_since = awaiting_since WHERE awaiting_since IS NOT NULL;

-- E-mails to send. A row is written in the transaction that decides to send it (a timer
-- firing, a test request); the mailer claims due rows with a lease, sends, and records the
-- outcome. `message_id` is fixed at insert, so a resend after a crash is the same mail.
CREATE TABLE outbox (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('no_reply_alert', 'test')),
    session_id        BIGINT REFERENCES sessions (id) ON DELETE SET NULL,
    -- The timer whose firing wrote the row (one row per recipient and timer).
    timer_id          BIGINT,
    recipient_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    to_address        TEXT NOT NULL,
    to_name           TEXT NOT NULL DEFAULT '',
    subject           TEXT NOT NULL,
    text_body         TEXT NOT NULL,
    html_body         TEXT NOT NULL,
    message_id        TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    -- Attempts started (counted when claimed, so an attempt cut short by a crash counts).
    attempts          INTEGER NOT NULL DEFAULT 0,
    -- The error of the most recent failed attempt (kept after a later success).
    last_error        TEXT,
    next_attempt_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A claim is a lease: a server that dies while sending loses it when it lapses.
    claimed_until     TIMESTAMPTZ,
    sent_at           TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_project ON outbox (project_id, state, id DESC);
CREATE UNIQUE INDEX outbox_per_timer ON outbox (timer_id, to_address) WHERE timer_id IS NOT NULL;
