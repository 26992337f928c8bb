DROP INDEX IF EXISTS flow_runs_version;
UPDATE roles SET permissions = array_remove(permissions, 'automation.view');
