-- Session management reports (GET /api/projects/{pid}/reports/sessions, …/summary, ….csv).
-- Chosen from EXPLAIN (ANALYZE, BUFFERS) on 1M sessions / 10M messages: docs/performance.md.

-- Records by reception time (newest first, never-received last) and the summary's
-- reception-window counts (index-only: status is included).
CREATE INDEX sessions_received
    ON sessions (project_id, received_at DESC NULLS LAST, id DESC) INCLUDE (status);

-- The same per receptionist: the receptionist filter and the own data scope.
CREATE INDEX sessions_receptionist
    ON sessions (project_id, assignee_id, received_at DESC NULLS LAST, id DESC) INCLUDE (status);

-- Ongoing sessions are a few percent of all: without this, status=ongoing over a past window
-- walks every ended session of the window.
CREATE INDEX sessions_received_ongoing
    ON sessions (project_id, received_at DESC NULLS LAST, id DESC) WHERE status <> 'ended';
