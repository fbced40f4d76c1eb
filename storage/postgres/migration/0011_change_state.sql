-- Version 11: a trial's change records the trial's state after it (state), and a finish
-- its finish sequence number (ref), so that a reader of the log gets a page's finished
-- trials in one read (FinishedSince) instead of one read per change. The trials trigger
-- now fires only for updates that change something the log records (not a heartbeat).

ALTER TABLE changes ADD COLUMN state smallint; -- retune.TrialState after a trial's change

DROP FUNCTION retune_change(bigint, text, integer, bigint, bigint) CASCADE;

CREATE FUNCTION retune_change(p_study bigint, p_kind text, p_trial integer, p_step bigint, p_ref bigint, p_state smallint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO study_changes AS c (study_id, seq) VALUES (p_study, 1)
        ON CONFLICT (study_id) DO UPDATE SET seq = c.seq + 1
        RETURNING c.seq INTO n;
    INSERT INTO changes (study_id, seq, at, kind, trial, step, ref, state)
        VALUES (p_study, n, clock_timestamp(), p_kind, p_trial, p_step, p_ref, p_state);
    PERFORM pg_notify('retune_changes', current_schema() || ':' || p_study);
END $$;

CREATE OR REPLACE FUNCTION retune_trials_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM retune_change(NEW.study_id, 'trial.created', NEW.number, NULL, NULL, NEW.state);
    ELSIF NEW.state <> OLD.state THEN
        PERFORM retune_change(NEW.study_id, CASE WHEN NEW.state = 1 THEN 'trial.started' ELSE 'trial.finished' END,
            NEW.number, NULL, NEW.finish_seq, NEW.state);
    ELSE
        PERFORM retune_change(NEW.study_id, 'trial.updated', NEW.number, NULL, NULL, NEW.state);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER trials_change ON trials;
CREATE TRIGGER trials_change_insert AFTER INSERT ON trials
    FOR EACH ROW EXECUTE FUNCTION retune_trials_change();
CREATE TRIGGER trials_change_update AFTER UPDATE ON trials
    FOR EACH ROW WHEN (NEW.state <> OLD.state OR NEW.params IS DISTINCT FROM OLD.params
        OR NEW.user_attrs IS DISTINCT FROM OLD.user_attrs OR NEW.system_attrs IS DISTINCT FROM OLD.system_attrs)
    EXECUTE FUNCTION retune_trials_change();

CREATE OR REPLACE FUNCTION retune_intermediate_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retune_change(t.study_id, 'trial.reported', t.number, NEW.step, NULL, t.state) FROM trials t WHERE t.id = NEW.trial_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION retune_decision_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retune_change(s.id, 'decision', NEW.candidate::integer, NULL, NEW.id, NULL) FROM studies s WHERE s.name = NEW.study;
    RETURN NULL;
END $$;
