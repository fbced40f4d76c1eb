-- Version 2: retraining coordination: champions, decisions and the event outbox.
--
-- They belong to a model's lineage, not to a study: deleting a study keeps them, so no
-- foreign key points to studies. JSON columns are text in the root package's encoding
-- (MarshalChampion, MarshalEvidence; event data as written), so they read back the same
-- as from the other storages.

CREATE TABLE champions (
    model       text NOT NULL,
    version     bigint NOT NULL,                -- 1, 2, … per model, in promotion order
    params      text NOT NULL,                  -- JSON object; numbers read back exactly
    vals        text NOT NULL,                  -- retune.MarshalFloats
    metrics     text NOT NULL,                  -- retune.MarshalMetrics
    source      text NOT NULL,                  -- 'trial' or 'manual'
    study       text NOT NULL,                  -- the source trial's study, by name
    trial       bigint NOT NULL,                -- the source trial's number, -1 if manual
    decision_id bigint NOT NULL,                -- the decision that led to it, 0 if none
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (model, version)                -- the promotion's compare-and-set
);

CREATE TABLE decisions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model            text NOT NULL,
    study            text NOT NULL,
    run_id           text NOT NULL,
    champion_version bigint NOT NULL,           -- 0 when the model had no champion
    candidate        bigint NOT NULL,           -- the candidate trial's number
    improved         boolean NOT NULL,
    reason           text NOT NULL,
    evidence         text NOT NULL,             -- retune.MarshalEvidence
    created_at       timestamptz NOT NULL,
    UNIQUE (run_id, champion_version, candidate) -- a retried run does not decide twice
);

-- Decisions of one model, newest first.
CREATE INDEX decisions_model ON decisions (model, id);

-- The outbox. seq comes from event_seq, whose one row every writer of events updates
-- and keeps locked until it commits, so seq order is commit order (a sequence would
-- hand out numbers in insert order, and a reader could pass over one still in flight).
CREATE TABLE events (
    seq     bigint PRIMARY KEY,
    id      text NOT NULL UNIQUE,               -- CloudEvents id, stable forever
    type    text NOT NULL,
    source  text NOT NULL,
    subject text NOT NULL,
    time    timestamptz NOT NULL,
    data    text                                -- JSON as written; NULL: no data
);

CREATE TABLE event_seq (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    last bigint NOT NULL                        -- seq of the last event written
);
INSERT INTO event_seq (last) VALUES (0);
