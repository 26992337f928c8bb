DROP INDEX flow_runs_version;
CREATE INDEX flow_runs_version ON flow_runs (flow_version_id, current_step);

DROP INDEX flow_run_steps_funnel;
CREATE INDEX flow_run_steps_version ON flow_run_steps (flow_version_id, step_id);
