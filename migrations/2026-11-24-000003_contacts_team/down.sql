DROP INDEX IF EXISTS contacts_name_trgm;
DROP INDEX IF EXISTS contacts_note_name_trgm;
DROP TABLE IF EXISTS contact_changes;
-- pg_trgm stays installed: other objects may use it.
