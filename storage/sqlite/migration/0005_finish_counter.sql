-- Version 5 moves PostgreSQL's finish counter to a row of its own, so that finishing a
-- trial stops waiting for the lock that creating one takes. SQLite runs one write
-- transaction at a time, so nothing changes here; the version keeps both storages'
-- numbers in step.
SELECT 1;
