-- Version 1: studies, trials, intermediate values and enqueue keys.
-- Times are Unix nanoseconds (UTC); JSON columns hold retune's codec encoding.

CREATE TABLE studies (
    id             INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a stale handle cannot reach a newer study
    name           TEXT    NOT NULL UNIQUE,
    directions     TEXT    NOT NULL, -- JSON array of "minimize" / "maximize"
    metrics        TEXT    NOT NULL, -- JSON array of objective names
    model          TEXT    NOT NULL,
    seed           INTEGER NOT NULL, -- the uint64 seed's bits
    sampler        TEXT    NOT NULL, -- JSON retune.Spec
    pruner         TEXT    NOT NULL, -- JSON retune.Spec
    budget_trials  INTEGER NOT NULL,
    budget_retries INTEGER NOT NULL,
    user_attrs     TEXT    NOT NULL,
    system_attrs   TEXT    NOT NULL,
    created        INTEGER NOT NULL,
    -- Counters kept so that no write scans the trials table:
    next_number    INTEGER NOT NULL DEFAULT 0, -- number of the next new trial
    started        INTEGER NOT NULL DEFAULT 0, -- search trials ever started (Budget.Trials)
    finish_seq     INTEGER NOT NULL DEFAULT 0  -- finish sequence number of the last finished trial
) STRICT;

CREATE TABLE trials (
    id            INTEGER PRIMARY KEY,
    study_id      INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    kind          INTEGER NOT NULL,           -- retune.TrialKind
    state         INTEGER NOT NULL,           -- retune.TrialState
    params        TEXT    NOT NULL DEFAULT '{}', -- retune.MarshalParams (values and distributions)
    fixed         TEXT    NOT NULL DEFAULT '{}', -- retune.MarshalAttrs of the enqueued params
    vals          TEXT,                       -- retune.MarshalFloats; NULL until finished
    value0        REAL,                       -- first value of a COMPLETE trial (for Studies)
    metrics       TEXT    NOT NULL DEFAULT '{}', -- retune.MarshalMetrics
    user_attrs    TEXT    NOT NULL DEFAULT '{}',
    system_attrs  TEXT    NOT NULL DEFAULT '{}',
    retry_of      INTEGER,                    -- number of the trial this one re-runs
    retry_depth   INTEGER NOT NULL DEFAULT 0, -- lease-expiry retries that led to this trial
    lease_holder  TEXT    NOT NULL DEFAULT '',
    lease_epoch   INTEGER NOT NULL DEFAULT 0,
    lease_expires INTEGER,
    reason        TEXT    NOT NULL DEFAULT '',
    started       INTEGER,
    ended         INTEGER,
    finish_seq    INTEGER,                    -- position in the study's finish order
    UNIQUE (study_id, number)
) STRICT;

-- Claiming the lowest WAITING trial of a kind, RUNNING trials, counts by state.
CREATE INDEX trials_state ON trials (study_id, state, kind, number);
-- FinishedSince.
CREATE INDEX trials_finish ON trials (study_id, finish_seq);

CREATE TABLE intermediate (
    trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    step     INTEGER NOT NULL,
    vals     TEXT    NOT NULL, -- retune.MarshalFloats
    PRIMARY KEY (trial_id, step)
) STRICT, WITHOUT ROWID;

CREATE TABLE enqueue_keys (
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    PRIMARY KEY (study_id, key)
) STRICT, WITHOUT ROWID;
