-- Core data model: accounts, projects and roles, channels, contacts, sessions, messages,
-- session tags, durable timers and jobs.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Console cookies and API bearer tokens; only a SHA-256 of the secret is stored.
CREATE TABLE auth_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('cookie', 'api')),
    name         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE projects (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    -- Per-project settings that later features read (alerts, auto-end, …).
    settings   JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A role is a named permission set inside one project. `builtin` roles (owner, admin, agent)
-- are made with the project; their permissions may be edited, except owner's.
CREATE TABLE roles (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    builtin     BOOLEAN NOT NULL DEFAULT false,
    permissions TEXT[] NOT NULL DEFAULT '{}',
    data_scope  TEXT NOT NULL DEFAULT 'all' CHECK (data_scope IN ('own', 'all')),
    UNIQUE (project_id, name)
);

CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    BIGINT NOT NULL REFERENCES roles (id),
    -- The member's own chat-list preferences in this project.
    preferences JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE channels (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('web', 'messenger')),
    name       TEXT NOT NULL,
    -- Public key a widget embeds; NULL for channels that are not a widget.
    widget_key TEXT UNIQUE,
    config     JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX channels_project ON channels (project_id);

CREATE TABLE contacts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id   BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    -- The channel's own id for the person: our visitor id for the widget, the PSID for Messenger.
    external_id  TEXT NOT NULL,
    name         TEXT NOT NULL,
    note_name    TEXT,
    phone        TEXT,
    email        TEXT,
    labels       TEXT[] NOT NULL DEFAULT '{}',
    visitor_token_hash BYTEA UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (channel_id, external_id)
);
CREATE INDEX contacts_project ON contacts (project_id, id DESC);

CREATE TABLE sessions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id    BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    contact_id    BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status        TEXT NOT NULL DEFAULT 'unassigned' CHECK (status IN ('unassigned', 'assigned', 'ended')),
    bot_hosted    BOOLEAN NOT NULL DEFAULT false,
    assignee_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Reception time: when an agent first took or was given the session.
    received_at   TIMESTAMPTZ,
    -- Start of the current wait for a human reply (NULL while nobody is waiting).
    awaiting_since TIMESTAMPTZ,
    -- Start of the first wait for a human, and the first human reply: first response time.
    first_wait_at      TIMESTAMPTZ,
    first_response_at  TIMESTAMPTZ,
    ended_at      TIMESTAMPTZ,
    -- The highest message sequence number; the row lock on this row orders messages.
    last_seq      BIGINT NOT NULL DEFAULT 0,
    last_message_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    message_count         INTEGER NOT NULL DEFAULT 0,
    visitor_message_count INTEGER NOT NULL DEFAULT 0,
    agent_message_count   INTEGER NOT NULL DEFAULT 0,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status = 'assigned') = (assignee_id IS NOT NULL) OR status = 'ended')
);
-- Chat list: newest activity first, per status, with id as the tie-breaker for cursors.
CREATE INDEX sessions_list ON sessions (project_id, status, last_message_at DESC, id DESC);
CREATE INDEX sessions_assignee ON sessions (project_id, assignee_id, status, last_message_at DESC, id DESC);
CREATE INDEX sessions_all ON sessions (project_id, last_message_at DESC, id DESC);
-- At most one open session per contact.
CREATE UNIQUE INDEX sessions_open_per_contact ON sessions (contact_id) WHERE status <> 'ended';

CREATE TABLE messages (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id     BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    sender_kind    TEXT NOT NULL CHECK (sender_kind IN ('visitor', 'agent', 'bot', 'system')),
    sender_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    client_id      TEXT,
    body           TEXT NOT NULL,
    -- An agent reply sent outside Switchboard (e.g. the Messenger Page inbox).
    off_platform   BOOLEAN NOT NULL DEFAULT false,
    -- The channel's own message id (Messenger mid), unique per session when present.
    external_id    TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (session_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages (session_id, client_id) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX messages_external_id ON messages (session_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE session_tags (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    color      TEXT NOT NULL DEFAULT '#888888',
    UNIQUE (project_id, name)
);
CREATE TABLE session_tag_links (
    session_id BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    tag_id     BIGINT NOT NULL REFERENCES session_tags (id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, tag_id)
);
CREATE INDEX session_tag_links_tag ON session_tag_links (tag_id);

-- Durable timers: delivered to the session actor when due; `fired_at` is set in the same
-- transaction as the timer's effect, so a timer takes effect once even across restarts.
CREATE TABLE timers (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    session_id    BIGINT REFERENCES sessions (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    payload       JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- A claim is a lease: a server that dies while holding it loses it when it lapses.
    claimed_until TIMESTAMPTZ,
    fired_at      TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;
CREATE UNIQUE INDEX timers_pending_per_kind ON timers (session_id, kind) WHERE fired_at IS NULL;

-- Durable background jobs (contact sync and other long work) with progress.
CREATE TABLE jobs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    params      JSONB NOT NULL DEFAULT '{}'::jsonb,
    progress    JSONB NOT NULL DEFAULT '{}'::jsonb,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    run_after   TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_until TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_runnable ON jobs (run_after) WHERE state IN ('queued', 'running');
