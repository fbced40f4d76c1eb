-- Version 16: the dashboard's sessions and one-time login tickets (retune.SessionStore):
-- the SHA-256 of the cookie's secret, never the secret. Times are Unix nanoseconds.

CREATE TABLE sessions (
    hash    BLOB    PRIMARY KEY,
    token   INTEGER NOT NULL REFERENCES tokens (id),
    csrf    TEXT    NOT NULL,
    login   INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    created INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_expires ON sessions (expires);
