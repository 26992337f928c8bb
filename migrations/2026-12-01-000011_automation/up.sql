-- Automation flows: a flow's editable draft, its immutable published versions, each run of a
-- version in a session (a durable row: where it is, what it collected, when it triggered,
-- participated, completed), and every step transition of every run (the funnel is a GROUP BY
-- over them, never a walk of the graph).

CREATE TABLE flows (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT false,
    -- The document being edited (src/domain/automation/document.rs); saved only when it parses,
    -- published only when it validates.
    draft             JSONB NOT NULL,
    -- The draft's trigger kind, for the list.
    trigger_kind      TEXT NOT NULL
        CHECK (trigger_kind IN ('first_message', 'keyword', 'new_session', 'visitor_silent')),
    published_version INTEGER,
    created_by        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_by        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX flows_project ON flows (project_id, id);

-- A published version never changes; a run keeps the version it started with. A preview
-- (a test run from the editor) is a version row too, numbered 0 and never counted.
CREATE TABLE flow_versions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow_id      BIGINT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    preview      BOOLEAN NOT NULL DEFAULT false,
    document     JSONB NOT NULL,
    trigger_kind TEXT NOT NULL
        CHECK (trigger_kind IN ('first_message', 'keyword', 'new_session', 'visitor_silent')),
    published_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    published_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX flow_versions_number ON flow_versions (flow_id, version) WHERE NOT preview;

-- A contact made by the editor's test run: its messages run that preview version, whatever
-- its trigger, and no other flow.
CREATE TABLE flow_previews (
    contact_id       BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    flow_version_id  BIGINT NOT NULL REFERENCES flow_versions (id) ON DELETE CASCADE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE flow_runs (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id         BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    flow_id            BIGINT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_version_id    BIGINT NOT NULL REFERENCES flow_versions (id) ON DELETE CASCADE,
    session_id         BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    contact_id         BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    channel_id         BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    preview            BOOLEAN NOT NULL DEFAULT false,
    status             TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'completed', 'stopped', 'failed')),
    -- Why a run that is not running ended.
    end_reason         TEXT
        CHECK (end_reason IN ('completed', 'agent_replied', 'session_ended', 'handed_off',
                              'step_limit', 'error')),
    trigger_kind       TEXT NOT NULL
        CHECK (trigger_kind IN ('first_message', 'keyword', 'new_session', 'visitor_silent')),
    -- The message that triggered it (the visitor's, or ours that the silence followed).
    trigger_message_id BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    -- The step it is at, how many transitions it has made (the episode a wait timer names),
    -- what it waits for there ('button', 'answer', 'wait'; NULL while it moves), retries used.
    current_step       TEXT,
    step_seq           INTEGER NOT NULL DEFAULT 0,
    waiting_for        TEXT CHECK (waiting_for IN ('button', 'answer', 'wait')),
    -- The bot message whose buttons it waits on.
    waiting_message_id BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    retries            INTEGER NOT NULL DEFAULT 0,
    vars               JSONB NOT NULL DEFAULT '{}'::jsonb,
    triggered_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    participated_at    TIMESTAMPTZ,
    completed_at       TIMESTAMPTZ,
    ended_at           TIMESTAMPTZ
);
-- One customer-facing run per session at a time.
CREATE UNIQUE INDEX flow_runs_one_running ON flow_runs (session_id) WHERE status = 'running';
CREATE INDEX flow_runs_flow_time ON flow_runs (flow_id, triggered_at) WHERE NOT preview;
CREATE INDEX flow_runs_flow_contact ON flow_runs (flow_id, contact_id) WHERE NOT preview;

-- Every step a run entered, in order: which step, reached through which port of which step.
-- `left_port` is the port it left by (NULL while it is there, or where the run stopped).
CREATE TABLE flow_run_steps (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          BIGINT NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE,
    flow_version_id BIGINT NOT NULL REFERENCES flow_versions (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    step_id         TEXT NOT NULL,
    step_type       TEXT NOT NULL,
    from_step       TEXT,
    via_port        TEXT,
    entered_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    left_port       TEXT,
    left_at         TIMESTAMPTZ,
    UNIQUE (run_id, seq)
);
CREATE INDEX flow_run_steps_version ON flow_run_steps (flow_version_id, step_id);

-- Bot messages say which run wrote them: a flow is never triggered by its own messages.
ALTER TABLE messages ADD COLUMN flow_run_id BIGINT REFERENCES flow_runs (id) ON DELETE SET NULL;

-- A timer's episode (what it waits on: the run's step number, the message a silence follows),
-- re-checked when it fires; a timer that no longer applies is marked fired with why it was
-- skipped.
ALTER TABLE timers
    ADD COLUMN episode     TEXT NOT NULL DEFAULT '',
    ADD COLUMN skip_reason TEXT;

-- A flow's hand-off step switches hosting off, recorded like any other switch.
ALTER TABLE hosting_changes DROP CONSTRAINT hosting_changes_reason_check;
ALTER TABLE hosting_changes ADD CONSTRAINT hosting_changes_reason_check
    CHECK (reason IN ('switch', 'bulk', 'all_assigned', 'reply_handoff', 'new_session',
                      'flow_handoff'));
