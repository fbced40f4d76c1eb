-- Version 8: the change log. Every change to a study's trials (created, started, updated,
-- reported, finished) and every decision about it gets the study's next change sequence
-- number, written by triggers in the transaction that makes the change. The number comes
-- from the study's row in study_changes, whose lock the transaction holds until it commits
-- (always the last lock it takes), so change order is commit order per study: a reader
-- that has seen seq n has seen every smaller one. Each change also notifies the channel
-- retune_changes (payload "schema:study_id"), delivered at commit: a wake-up for watchers,
-- never the truth, which is the table. The server prunes rows older than its retention.

CREATE TABLE study_changes (
    study_id bigint PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    seq      bigint NOT NULL -- the study's last change
);

CREATE TABLE changes (
    study_id bigint NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    seq      bigint NOT NULL,
    at       timestamptz NOT NULL,
    kind     text NOT NULL,   -- retune.Change kinds: trial.created, trial.started, …
    trial    integer,         -- the trial's number; NULL for a decision
    step     bigint,          -- trial.reported: the step
    ref      bigint,          -- decision: its id
    PRIMARY KEY (study_id, seq)
);

CREATE INDEX changes_at ON changes (at);

CREATE FUNCTION retune_change(p_study bigint, p_kind text, p_trial integer, p_step bigint, p_ref bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO study_changes AS c (study_id, seq) VALUES (p_study, 1)
        ON CONFLICT (study_id) DO UPDATE SET seq = c.seq + 1
        RETURNING c.seq INTO n;
    INSERT INTO changes (study_id, seq, at, kind, trial, step, ref)
        VALUES (p_study, n, clock_timestamp(), p_kind, p_trial, p_step, p_ref);
    PERFORM pg_notify('retune_changes', current_schema() || ':' || p_study);
END $$;

CREATE FUNCTION retune_trials_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM retune_change(NEW.study_id, 'trial.created', NEW.number, NULL, NULL);
    ELSIF NEW.state <> OLD.state THEN
        PERFORM retune_change(NEW.study_id, CASE WHEN NEW.state = 1 THEN 'trial.started' ELSE 'trial.finished' END, NEW.number, NULL, NULL);
    ELSIF NEW.params IS DISTINCT FROM OLD.params OR NEW.user_attrs IS DISTINCT FROM OLD.user_attrs
            OR NEW.system_attrs IS DISTINCT FROM OLD.system_attrs THEN
        PERFORM retune_change(NEW.study_id, 'trial.updated', NEW.number, NULL, NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER trials_change AFTER INSERT OR UPDATE ON trials
    FOR EACH ROW EXECUTE FUNCTION retune_trials_change();

CREATE FUNCTION retune_intermediate_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retune_change(t.study_id, 'trial.reported', t.number, NEW.step, NULL) FROM trials t WHERE t.id = NEW.trial_id;
    RETURN NULL;
END $$;

CREATE TRIGGER intermediate_change AFTER INSERT OR UPDATE ON trial_intermediate
    FOR EACH ROW EXECUTE FUNCTION retune_intermediate_change();

CREATE FUNCTION retune_decision_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retune_change(s.id, 'decision', NEW.candidate::integer, NULL, NEW.id) FROM studies s WHERE s.name = NEW.study;
    RETURN NULL;
END $$;

CREATE TRIGGER decisions_change AFTER INSERT ON decisions
    FOR EACH ROW EXECUTE FUNCTION retune_decision_change();
