-- Version 13: the agents servers have seen (retune.AgentStore), as each last reported
-- itself. Times are Unix nanoseconds.

CREATE TABLE agents (
    id      TEXT    PRIMARY KEY,
    host    TEXT    NOT NULL,
    pid     INTEGER NOT NULL,
    study   TEXT    NOT NULL,
    slots   INTEGER NOT NULL,
    running INTEGER NOT NULL,
    first   INTEGER NOT NULL,
    last    INTEGER NOT NULL
) STRICT;

CREATE INDEX agents_last ON agents (last);
