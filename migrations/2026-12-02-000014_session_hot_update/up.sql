-- A message's UPDATE of its session row is HOT (issue 14: 0 of 8,065 were, and each wrote
-- all nine indexes of `sessions`). HOT needs two things: no index may use a column the
-- message writes (last_seq, last_message_at, the three counts, awaiting_since,
-- first_wait_at, first_response_at, alert_wait_since, updated_at), and the new row version
-- must fit on its page (fillfactor).
--
-- The three chat-list indexes had last_message_at in them. The list now reads:
-- * open sessions (a few percent of a project) by status and assignee, sorted after the
--   fetch (sessions_open);
-- * ended sessions, which receive no messages, by `list_at`: last_message_at once the
--   session has ended, NULL while it is open. A message on an open session leaves it NULL,
--   so it changes no indexed value. Generated, so every path that ends, reassigns or
--   inserts a session (the history of a contact sync) keeps it right.
DROP INDEX sessions_list;
DROP INDEX sessions_assignee;
DROP INDEX sessions_all;

-- fillfactor 85: a session row is about 165 bytes, 40 to a page, and new sessions fill the
-- last pages, so a page's rows are mostly open and take messages at the same time. 15 %
-- (1.2 KiB) keeps room for about six new versions between two prunes of the page (any
-- read of it prunes once less than that is free), and costs 15 % more pages for the ended
-- rows that never change. This statement rewrites the table (the stored column), so the
-- existing rows get the free space too.
ALTER TABLE sessions
    SET (fillfactor = 85),
    ADD COLUMN list_at TIMESTAMPTZ
        GENERATED ALWAYS AS (CASE WHEN status = 'ended' THEN last_message_at END) STORED;

CREATE INDEX sessions_open ON sessions (project_id, status, assignee_id) WHERE status <> 'ended';
CREATE INDEX sessions_ended_list ON sessions (project_id, list_at DESC, id DESC)
    WHERE list_at IS NOT NULL;
CREATE INDEX sessions_ended_assignee ON sessions (project_id, assignee_id, list_at DESC, id DESC)
    WHERE list_at IS NOT NULL;
