-- Version 16: the dashboard's sessions and one-time login tickets (retune.SessionStore):
-- the SHA-256 of the cookie's secret, never the secret.

CREATE TABLE sessions (
    hash       bytea       PRIMARY KEY,
    token      bigint      NOT NULL REFERENCES tokens (id),
    csrf       text        NOT NULL,
    login      boolean     NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX sessions_expires ON sessions (expires_at);
