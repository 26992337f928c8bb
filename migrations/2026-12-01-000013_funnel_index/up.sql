-- The funnel of one version reads only indexes (issue 13's 50 ms at 5,000,000 step rows):
-- every column its two aggregates touch is in the index, so they are index-only scans of the
-- version's entries instead of one heap page per step row, scattered over the table.
DROP INDEX flow_run_steps_version;
CREATE INDEX flow_run_steps_funnel ON flow_run_steps (flow_version_id, step_id, from_step, via_port)
    INCLUDE (step_type, run_id);

DROP INDEX flow_runs_version;
CREATE INDEX flow_runs_version ON flow_runs (flow_version_id, current_step) INCLUDE (status);
