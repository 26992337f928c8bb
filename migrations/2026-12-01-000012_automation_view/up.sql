-- The permission "view automation data" (automation.view, issue 13): the builtin owner and admin
-- roles of existing projects get it, as new projects' do (src/domain/access.rs).
UPDATE roles SET permissions = array_append(permissions, 'automation.view')
WHERE builtin AND name IN ('owner', 'admin') AND NOT ('automation.view' = ANY (permissions));

-- The funnel reads a version's runs (where they are, how many completed); deleting a version
-- cascades to its runs.
CREATE INDEX flow_runs_version ON flow_runs (flow_version_id, current_step);
