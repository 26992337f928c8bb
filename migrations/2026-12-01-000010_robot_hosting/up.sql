-- Robot hosting: every change of sessions.bot_hosted, who made it and why.
CREATE TABLE hosting_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    hosted BOOLEAN NOT NULL,
    reason TEXT NOT NULL
        CHECK (reason IN ('switch', 'bulk', 'all_assigned', 'reply_handoff', 'new_session')),
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX hosting_changes_session ON hosting_changes (session_id, id);
