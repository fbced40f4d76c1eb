-- Version 4: at-least-once delivery of outbox events to notifiers. An event names its
-- notifiers by ID (events.notify); storing the event stores one delivery per notifier in
-- the same transaction. A dispatcher leases due deliveries (lease_owner, lease_until),
-- makes one attempt each and records it. Times are Unix nanoseconds (UTC).

ALTER TABLE events ADD COLUMN notify TEXT NOT NULL DEFAULT '[]'; -- JSON array of notifier IDs

CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq   INTEGER NOT NULL REFERENCES events (seq),
    notifier    TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,            -- when a pending delivery is due
    lease_owner TEXT    NOT NULL DEFAULT '', -- the dispatcher holding it, '' if none
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    UNIQUE (event_seq, notifier)
) STRICT;

-- Due pending deliveries of a notifier, longest-due first.
CREATE INDEX deliveries_due ON deliveries (notifier, next_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
    delivery    INTEGER NOT NULL REFERENCES deliveries (id),
    n           INTEGER NOT NULL,            -- 1, 2, … per delivery
    owner       TEXT    NOT NULL,
    started     INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    response    TEXT    NOT NULL,
    error       TEXT    NOT NULL,
    PRIMARY KEY (delivery, n)
) STRICT, WITHOUT ROWID;

-- Notifier health: a failure streak, and whether the notifier is disabled.
CREATE TABLE notifiers (
    id            TEXT    PRIMARY KEY,
    failing_since INTEGER NOT NULL DEFAULT 0, -- 0 while the last attempt succeeded
    last_success  INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0, -- 0 while enabled
    reason        TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
