-- Version 1: studies, trials, their intermediate values, and the keys of once-only enqueues.
--
-- Trial data (params, metrics, attributes, fixed params, intermediate vectors) is text in
-- the encoding of the root package's codec.go, so a trial reads back the same from every
-- storage. Objective values are double precision[], which keeps ±Infinity and NaN exactly.

CREATE TABLE studies (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text COLLATE "C" NOT NULL UNIQUE,
    directions     smallint[] NOT NULL,
    metrics        text[],
    model          text NOT NULL,
    seed           bigint NOT NULL,                 -- the uint64 seed's bits
    sampler        text NOT NULL,                   -- retune.Spec as JSON
    pruner         text NOT NULL,                   -- retune.Spec as JSON
    budget_trials  bigint NOT NULL DEFAULT 0,
    budget_retries bigint NOT NULL DEFAULT 0,
    user_attrs     text NOT NULL DEFAULT '{}',
    system_attrs   text NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    -- Counters, changed only by a transaction that holds this row's lock.
    next_number    integer NOT NULL DEFAULT 0,      -- number of the study's next trial
    search_started bigint NOT NULL DEFAULT 0,       -- search trials ever started (budget)
    finish_seq     bigint NOT NULL DEFAULT 0        -- trials finished so far
);

CREATE TABLE trials (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id      bigint NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number        integer NOT NULL,                 -- 0, 1, 2 … dense per study
    kind          smallint NOT NULL,                -- retune.TrialKind
    state         smallint NOT NULL,                -- retune.TrialState: 0 WAITING, 1 RUNNING, 2-4 finished
    params        text NOT NULL DEFAULT '{}',
    vals          double precision[],               -- set when the trial finishes
    metrics       text,
    user_attrs    text NOT NULL DEFAULT '{}',
    system_attrs  text NOT NULL DEFAULT '{}',
    fixed         text NOT NULL DEFAULT '{}',
    retry_of      integer,                          -- number of the trial this one re-runs
    retry_depth   integer NOT NULL DEFAULT 0,       -- lease-expiry retries that led here
    lease_holder  text NOT NULL DEFAULT '',
    lease_epoch   bigint NOT NULL DEFAULT 0,
    lease_expires timestamptz,
    reason        bytea NOT NULL DEFAULT '',        -- any bytes a failing process wrote
    started_at    timestamptz,
    ended_at      timestamptz,
    finish_seq    bigint,                           -- position in the study's finish order
    UNIQUE (study_id, number)
);

-- FinishedSince reads a study's trials by finish sequence.
CREATE UNIQUE INDEX trials_finish_seq ON trials (study_id, finish_seq) WHERE finish_seq IS NOT NULL;
-- CreateTrial claims the lowest-numbered WAITING trial of a kind.
CREATE INDEX trials_waiting ON trials (study_id, kind, number) WHERE state = 0;
-- Running and ExpireLeases look at RUNNING trials only.
CREATE INDEX trials_running ON trials (study_id, lease_expires) WHERE state = 1;

CREATE TABLE trial_intermediate (
    trial_id bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    step     bigint NOT NULL,
    vals     text NOT NULL,                         -- retune.MarshalFloats
    PRIMARY KEY (trial_id, step)
);

CREATE TABLE enqueue_keys (
    study_id bigint NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    once_key text NOT NULL,
    PRIMARY KEY (study_id, once_key)
);

