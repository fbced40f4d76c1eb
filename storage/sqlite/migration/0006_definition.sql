-- Version 6: a study's full definition (its study file's form without what stays on the
-- machine that runs trials), so a process without the file can rebuild the study. Empty
-- for studies created before; their next retune run fills it in.
ALTER TABLE studies ADD COLUMN definition TEXT NOT NULL DEFAULT '';
