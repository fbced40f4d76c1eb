-- Version 17: on PostgreSQL, creating and finishing a trial in one round trip (server-side
-- functions and a write token per trial). SQLite runs in the process, with no round trips
-- to save, so nothing changes here; the version keeps both databases' schema versions in
-- step.

SELECT 1;
