-- Version 11: a trial's change records the trial's state after it (state), and a finish
-- its finish sequence number (ref), so that a reader of the log gets a page's finished
-- trials in one read (FinishedSince) instead of one read per change.

ALTER TABLE changes ADD COLUMN state INTEGER; -- retune.TrialState after a trial's change

DROP TRIGGER changes_trial_insert;
CREATE TRIGGER changes_trial_insert AFTER INSERT ON trials BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = NEW.study_id;
    INSERT INTO changes (study_id, seq, at, kind, trial, state)
        SELECT NEW.study_id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.created', NEW.number, NEW.state
        FROM studies WHERE id = NEW.study_id;
END;

DROP TRIGGER changes_trial_state;
CREATE TRIGGER changes_trial_state AFTER UPDATE OF state ON trials WHEN OLD.state <> NEW.state BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = NEW.study_id;
    INSERT INTO changes (study_id, seq, at, kind, trial, state, ref)
        SELECT NEW.study_id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER),
            CASE NEW.state WHEN 1 THEN 'trial.started' ELSE 'trial.finished' END, NEW.number, NEW.state, NEW.finish_seq
        FROM studies WHERE id = NEW.study_id;
END;

DROP TRIGGER changes_trial_update;
CREATE TRIGGER changes_trial_update AFTER UPDATE OF params, user_attrs, system_attrs ON trials
WHEN OLD.state = NEW.state AND (OLD.params IS NOT NEW.params OR OLD.user_attrs IS NOT NEW.user_attrs OR OLD.system_attrs IS NOT NEW.system_attrs) BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = NEW.study_id;
    INSERT INTO changes (study_id, seq, at, kind, trial, state)
        SELECT NEW.study_id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.updated', NEW.number, NEW.state
        FROM studies WHERE id = NEW.study_id;
END;

DROP TRIGGER changes_reported_insert;
CREATE TRIGGER changes_reported_insert AFTER INSERT ON intermediate BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = (SELECT study_id FROM trials WHERE id = NEW.trial_id);
    INSERT INTO changes (study_id, seq, at, kind, trial, step, state)
        SELECT s.id, s.change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.reported', t.number, NEW.step, t.state
        FROM trials t JOIN studies s ON s.id = t.study_id WHERE t.id = NEW.trial_id;
END;

DROP TRIGGER changes_reported_update;
CREATE TRIGGER changes_reported_update AFTER UPDATE ON intermediate BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE id = (SELECT study_id FROM trials WHERE id = NEW.trial_id);
    INSERT INTO changes (study_id, seq, at, kind, trial, step, state)
        SELECT s.id, s.change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'trial.reported', t.number, NEW.step, t.state
        FROM trials t JOIN studies s ON s.id = t.study_id WHERE t.id = NEW.trial_id;
END;
