DROP TRIGGER sessions_counted_status ON sessions;
DROP TRIGGER sessions_counted_rows ON sessions;
DROP FUNCTION session_counts_track();
DROP TABLE session_count_deltas;
