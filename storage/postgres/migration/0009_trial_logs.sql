-- Version 9: the head and tail of each trial's log (retune.TrialLog), stored with the
-- trial so that a service can show them; the log files stay where the runner wrote them.

CREATE TABLE trial_logs (
    trial_id bigint PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
    head     bytea NOT NULL,
    tail     bytea NOT NULL,
    size     bigint NOT NULL,     -- the whole log's size in bytes
    at       timestamptz NOT NULL
);
