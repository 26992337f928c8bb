ALTER TABLE hosting_changes DROP CONSTRAINT hosting_changes_reason_check;
ALTER TABLE hosting_changes ADD CONSTRAINT hosting_changes_reason_check
    CHECK (reason IN ('switch', 'bulk', 'all_assigned', 'reply_handoff', 'new_session'));
ALTER TABLE timers DROP COLUMN skip_reason, DROP COLUMN episode;
ALTER TABLE messages DROP COLUMN flow_run_id;
DROP TABLE flow_run_steps;
DROP TABLE flow_runs;
DROP TABLE flow_previews;
DROP TABLE flow_versions;
DROP TABLE flows;
