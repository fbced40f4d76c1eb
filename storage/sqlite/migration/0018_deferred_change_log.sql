-- Version 18: on PostgreSQL, a trial's change records are written at commit, so that
-- creating and finishing trials stop waiting for each other on the change counter.
-- SQLite runs one write transaction at a time, so nothing changes here; the version keeps
-- both databases' schema versions in step.
SELECT 1;
