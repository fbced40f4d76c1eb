-- Version 7: the service's API tokens (only a SHA-256 of each secret) and idempotency
-- keys (the first answer to a request, kept for a bounded time so that a retry on any
-- replica gets it).

CREATE TABLE tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    hash       bytea NOT NULL,
    scope      text NOT NULL,
    studies    text NOT NULL,                 -- '' = every study
    expires_at timestamptz,                   -- NULL = never
    created_at timestamptz NOT NULL,
    revoked_at timestamptz                    -- NULL while valid
);

CREATE TABLE idempotency_keys (
    key         text PRIMARY KEY,
    fingerprint text NOT NULL,
    owner       text NOT NULL,
    locked_at   timestamptz NOT NULL,         -- the owner's claim holds until then
    expires_at  timestamptz NOT NULL,         -- forgotten then
    status      integer,                      -- NULL until answered
    body        bytea
);

CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
