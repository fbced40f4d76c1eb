-- Version 3: requests to re-tune a model now (retune trigger), consumed by the scheduler
-- re-tuning that model. Consumed rows are kept as a record. Times are Unix nanoseconds (UTC).

CREATE TABLE triggers (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    model    TEXT    NOT NULL,
    reason   TEXT    NOT NULL,
    created  INTEGER NOT NULL,
    consumed INTEGER                     -- NULL while pending
) STRICT;

-- A model's pending triggers, oldest first.
CREATE INDEX triggers_pending ON triggers (model, id) WHERE consumed IS NULL;
