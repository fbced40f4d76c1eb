-- Version 15: on SQLite, fewer pages per trial write (a partial trials_finish index, no
-- change-log time index). PostgreSQL's finish-order index is already partial and its
-- change log keeps its time index, so nothing changes here; the version keeps both
-- databases' schema versions in step.

SELECT 1;
