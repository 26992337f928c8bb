DROP INDEX sessions_ended_assignee;
DROP INDEX sessions_ended_list;
DROP INDEX sessions_open;
ALTER TABLE sessions DROP COLUMN list_at, RESET (fillfactor);
CREATE INDEX sessions_list ON sessions (project_id, status, last_message_at DESC, id DESC);
CREATE INDEX sessions_assignee ON sessions (project_id, assignee_id, status, last_message_at DESC, id DESC);
CREATE INDEX sessions_all ON sessions (project_id, last_message_at DESC, id DESC);
