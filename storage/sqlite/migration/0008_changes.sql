-- Version 8: the change log. Every change to a study's trials (created, started, updated,
-- reported, finished) and every decision about it gets the study's next change sequence
-- number, written by triggers in the transaction that makes the change. One write
-- transaction runs at a time, so sequence numbers are handed out in commit order: a reader
-- that has seen seq n of a study has seen every smaller one. The server streams it (SSE)
-- and prunes rows older than its retention.

ALTER TABLE studies ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0; -- the study's last change

CREATE TABLE changes (
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    at       INTEGER NOT NULL, -- Unix nanoseconds
    kind     TEXT    NOT NULL, -- retune.Change kinds: trial.created, trial.started, …
    trial    INTEGER,          -- the trial's number; NULL for a decision
    step     INTEGER,          -- trial.reported: the step
    ref      INTEGER,          -- decision: its id
    PRIMARY KEY (study_id, seq)
) STRICT, WITHOUT ROWID;

CREATE INDEX changes_at ON changes (at);

CREATE TRIGGER changes_trial_insert AFTER INSERT ON trials BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = NEW.study_id;
    INSERT INTO changes (study_id, seq, at, kind, trial)
        SELECT NEW.study_id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.created', NEW.number
        FROM studies WHERE id = NEW.study_id;
END;

CREATE TRIGGER changes_trial_state AFTER UPDATE OF state ON trials WHEN OLD.state <> NEW.state BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = NEW.study_id;
    INSERT INTO changes (study_id, seq, at, kind, trial)
        SELECT NEW.study_id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER),
            CASE NEW.state WHEN 1 THEN 'trial.started' ELSE 'trial.finished' END, NEW.number
        FROM studies WHERE id = NEW.study_id;
END;

CREATE TRIGGER changes_trial_update AFTER UPDATE OF params, user_attrs, system_attrs ON trials
WHEN OLD.state = NEW.state AND (OLD.params IS NOT NEW.params OR OLD.user_attrs IS NOT NEW.user_attrs OR OLD.system_attrs IS NOT NEW.system_attrs) BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = NEW.study_id;
    INSERT INTO changes (study_id, seq, at, kind, trial)
        SELECT NEW.study_id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.updated', NEW.number
        FROM studies WHERE id = NEW.study_id;
END;

CREATE TRIGGER changes_reported_insert AFTER INSERT ON intermediate BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = (SELECT study_id FROM trials WHERE id = NEW.trial_id);
    INSERT INTO changes (study_id, seq, at, kind, trial, step)
        SELECT s.id, s.change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.reported', t.number, NEW.step
        FROM trials t JOIN studies s ON s.id = t.study_id WHERE t.id = NEW.trial_id;
END;

CREATE TRIGGER changes_reported_update AFTER UPDATE ON intermediate BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = (SELECT study_id FROM trials WHERE id = NEW.trial_id);
    INSERT INTO changes (study_id, seq, at, kind, trial, step)
        SELECT s.id, s.change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.reported', t.number, NEW.step
        FROM trials t JOIN studies s ON s.id = t.study_id WHERE t.id = NEW.trial_id;
END;

CREATE TRIGGER changes_decision AFTER INSERT ON decisions BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE name = NEW.study;
    INSERT INTO changes (study_id, seq, at, kind, trial, ref)
        SELECT id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'decision', NEW.candidate, NEW.id
        FROM studies WHERE name = NEW.study;
END;
