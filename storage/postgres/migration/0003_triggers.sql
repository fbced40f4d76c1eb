-- Version 3: requests to re-tune a model now (retune trigger), consumed by the scheduler
-- re-tuning that model. Consumed rows are kept as a record.

CREATE TABLE triggers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model       text NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL,
    consumed_at timestamptz                     -- NULL while pending
);

-- A model's pending triggers, oldest first.
CREATE INDEX triggers_pending ON triggers (model, id) WHERE consumed_at IS NULL;
