-- Version 13: the agents servers have seen (retune.AgentStore), as each last reported
-- itself.

CREATE TABLE agents (
    id      text PRIMARY KEY,
    host    text NOT NULL,
    pid     integer NOT NULL,
    study   text NOT NULL,
    slots   integer NOT NULL,
    running integer NOT NULL,
    first   timestamptz NOT NULL,
    last    timestamptz NOT NULL
);

CREATE INDEX agents_last ON agents (last);
