-- Version 5: a study's finish counter moves to a row of its own. Finishing a trial then
-- locks that row instead of the study row, which creating a trial locks, so with many
-- workers the creates and finishes of different trials no longer wait for each other.
-- finish_seq order is still commit order: the counter's row lock is held until commit
-- (see Finish).
CREATE TABLE study_finish (
    study_id   bigint PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    finish_seq bigint NOT NULL DEFAULT 0  -- trials finished so far
);

INSERT INTO study_finish (study_id, finish_seq) SELECT id, finish_seq FROM studies;

ALTER TABLE studies DROP COLUMN finish_seq;
