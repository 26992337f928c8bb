DROP INDEX sessions_by_contact;
