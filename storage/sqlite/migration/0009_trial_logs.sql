-- Version 9: the head and tail of each trial's log (retune.TrialLog), stored with the
-- trial so that a service can show them; the log files stay where the runner wrote them.

CREATE TABLE trial_logs (
    trial_id INTEGER PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
    head     BLOB    NOT NULL,
    tail     BLOB    NOT NULL,
    size     INTEGER NOT NULL, -- the whole log's size in bytes
    at       INTEGER NOT NULL  -- Unix nanoseconds
) STRICT;
