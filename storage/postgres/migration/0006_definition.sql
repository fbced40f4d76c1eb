-- Version 6: a study's full definition (its study file's form without what stays on the
-- machine that runs trials), so a process without the file can rebuild the study. Empty
-- for studies created before; their next retune run fills it in. Text, not jsonb: the
-- params keep the order the file gives them.
ALTER TABLE studies ADD COLUMN definition text NOT NULL DEFAULT '';
