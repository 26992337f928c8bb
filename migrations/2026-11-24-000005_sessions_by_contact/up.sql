-- A contact's sessions, newest first: the visitor's recent-session duplicate check and the
-- contact's history.
CREATE INDEX sessions_by_contact ON sessions (contact_id, id DESC);
