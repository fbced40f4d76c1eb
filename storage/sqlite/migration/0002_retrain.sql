-- Version 2: retraining coordination: champions, decisions and the event outbox.
-- They belong to a model's lineage, not to a study: deleting a study keeps them, so no
-- foreign key points to studies. Times are Unix nanoseconds (UTC); JSON columns hold
-- the encoding of the root package (MarshalChampion, MarshalEvidence).

CREATE TABLE champions (
    model    TEXT    NOT NULL,
    version  INTEGER NOT NULL,           -- 1, 2, … per model, in promotion order
    params   TEXT    NOT NULL,           -- JSON object; numbers read back exactly
    vals     TEXT    NOT NULL,           -- retune.MarshalFloats
    metrics  TEXT    NOT NULL,           -- retune.MarshalMetrics
    source   TEXT    NOT NULL,           -- "trial" or "manual"
    study    TEXT    NOT NULL,           -- the source trial's study, by name
    trial    INTEGER NOT NULL,           -- the source trial's number, -1 if manual
    decision INTEGER NOT NULL,           -- the decision that led to it, 0 if none
    created  INTEGER NOT NULL,
    PRIMARY KEY (model, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE decisions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    model            TEXT    NOT NULL,
    study            TEXT    NOT NULL,
    run_id           TEXT    NOT NULL,
    champion_version INTEGER NOT NULL,   -- 0 when the model had no champion
    candidate        INTEGER NOT NULL,   -- the candidate trial's number
    improved         INTEGER NOT NULL,   -- 0 or 1
    reason           TEXT    NOT NULL,
    evidence         TEXT    NOT NULL,   -- retune.MarshalEvidence
    created          INTEGER NOT NULL,
    UNIQUE (run_id, champion_version, candidate) -- a retried run does not decide twice
) STRICT;

-- Decisions of one model, newest first.
CREATE INDEX decisions_model ON decisions (model, id);

-- The outbox. One write transaction runs at a time, so seq (never reused) grows in
-- commit order: a reader that has seen seq n has seen every event below it.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT    NOT NULL UNIQUE,     -- CloudEvents id, stable forever
    type    TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    time    INTEGER NOT NULL,
    data    TEXT                         -- JSON as written; NULL: no data
) STRICT;
