-- Version 7: the service's API tokens (only a SHA-256 of each secret) and idempotency
-- keys (the first answer to a request, kept for a bounded time so that a retry on any
-- replica gets it). Times are Unix nanoseconds (UTC).

CREATE TABLE tokens (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT    NOT NULL UNIQUE,
    hash    BLOB    NOT NULL,
    scope   TEXT    NOT NULL,
    studies TEXT    NOT NULL,                -- '' = every study
    expires INTEGER,                         -- NULL = never
    created INTEGER NOT NULL,
    revoked INTEGER                          -- NULL while valid
) STRICT;

CREATE TABLE idempotency_keys (
    key         TEXT    PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    locked      INTEGER NOT NULL,            -- the owner's claim holds until then
    expires     INTEGER NOT NULL,            -- forgotten then
    status      INTEGER,                     -- NULL until answered
    body        BLOB
) STRICT;

CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires);
