-- Version 18: a trial's change records are written when its transaction commits, not
-- when its row changes. The records take the study's change counter (study_changes), whose
-- row lock is held until commit, through the WAL flush; written at once, creating trials
-- (which hold the study row) and finishing them (which hold the finish counter) waited for
-- each other's whole transactions on that one row. Deferred, each holds it only for its
-- commit. The records, their order (commit order, as before: a record's seq is taken
-- under the counter's lock) and their contents are unchanged: a deferred row trigger sees
-- the row as the statement that fired it left it. The other change triggers stay
-- immediate: their writes never share a transaction with a trial's.

DROP TRIGGER trials_change_insert ON trials;
DROP TRIGGER trials_change_update ON trials;

CREATE CONSTRAINT TRIGGER trials_change_insert AFTER INSERT ON trials
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION retune_trials_change();
CREATE CONSTRAINT TRIGGER trials_change_update AFTER UPDATE ON trials
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.state <> OLD.state OR NEW.params IS DISTINCT FROM OLD.params
        OR NEW.user_attrs IS DISTINCT FROM OLD.user_attrs OR NEW.system_attrs IS DISTINCT FROM OLD.system_attrs)
    EXECUTE FUNCTION retune_trials_change();
