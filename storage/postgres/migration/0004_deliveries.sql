-- Version 4: at-least-once delivery of outbox events to notifiers. An event names its
-- notifiers by ID (events.notify); storing the event stores one delivery per notifier in
-- the same transaction. Dispatchers claim due deliveries with FOR UPDATE SKIP LOCKED and
-- lease them (lease_owner, lease_until), make one attempt each and record it.

ALTER TABLE events ADD COLUMN notify text NOT NULL DEFAULT '[]'; -- JSON array of notifier IDs

CREATE TABLE deliveries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq   bigint NOT NULL REFERENCES events (seq),
    notifier    text NOT NULL,
    state       text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,             -- when a pending delivery is due
    lease_owner text NOT NULL DEFAULT '',         -- the dispatcher holding it, '' if none
    lease_until timestamptz NOT NULL DEFAULT '-infinity',
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (event_seq, notifier)
);

-- Due pending deliveries of a notifier, longest-due first.
CREATE INDEX deliveries_due ON deliveries (notifier, next_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
    delivery    bigint NOT NULL REFERENCES deliveries (id),
    n           integer NOT NULL,                 -- 1, 2, … per delivery
    owner       text NOT NULL,
    started     timestamptz NOT NULL,
    duration_ns bigint NOT NULL,
    status      integer NOT NULL,
    outcome     text NOT NULL,
    response    text NOT NULL,
    error       text NOT NULL,
    PRIMARY KEY (delivery, n)
);

-- Notifier health: a failure streak, and whether the notifier is disabled.
CREATE TABLE notifiers (
    id            text PRIMARY KEY,
    failing_since timestamptz,                    -- NULL while the last attempt succeeded
    last_success  timestamptz,
    disabled_at   timestamptz,                    -- NULL while enabled
    reason        text NOT NULL DEFAULT ''
);
