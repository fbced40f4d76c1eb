-- Version 15: fewer pages per trial write (each page a commit touches is a WAL frame).
-- trials_finish keeps only finished trials (FinishedSince asks for finish_seq > n, which
-- implies it is set), so creating a trial no longer touches it; the change log loses its
-- time index: PruneChanges finds each study's cutoff by its sequence, since a study's
-- changes are timed in sequence order.

DROP INDEX trials_finish;
CREATE INDEX trials_finish ON trials (study_id, finish_seq) WHERE finish_seq IS NOT NULL;
DROP INDEX changes_at;
