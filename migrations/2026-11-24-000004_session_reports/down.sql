DROP INDEX IF EXISTS sessions_received_ongoing;
DROP INDEX IF EXISTS sessions_receptionist;
DROP INDEX IF EXISTS sessions_received;
