-- Customer info editing: an audit trail of contact changes, and trigram indexes so that the
-- Contacts list's substring filters (`q` on name or note name, `note_name`) stay fast at
-- millions of contacts.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One row per changed field of one edit, written in the edit's transaction.
CREATE TABLE contact_changes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    -- The member who made the change; kept (NULL) when the account is deleted.
    user_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- `note_name`, `phone`, `email` or `labels`.
    field      TEXT NOT NULL,
    -- Values as JSON (a string, null, or for labels an array of strings).
    old        JSONB NOT NULL,
    new        JSONB NOT NULL,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX contact_changes_contact ON contact_changes (contact_id, id DESC);

CREATE INDEX contacts_note_name_trgm ON contacts USING gin (note_name gin_trgm_ops);
CREATE INDEX contacts_name_trgm ON contacts USING gin (name gin_trgm_ops);
