-- Version 17: creating and finishing a trial in one round trip (Store.CreateTrial and
-- Store.Finish call these functions as a single statement, in its own transaction). They
-- take the locks of the two-round-trip forms in the same order: the study row (creating)
-- or the finish counter (finishing), then the trial's row.
--
-- write_token is a random number the caller draws for each write; the functions record it
-- in the trial row, and a write repeated after its reply was lost finds it there and
-- returns what the first run did instead of doing it twice. The finish is a
-- compare-and-set: the caller merges its patches (in Go: PostgreSQL's JSON functions
-- cannot read a string holding \u0000) into the objects it last wrote, and the function
-- writes them only if the stored ones are still those.
--
-- Errors carry SQLSTATEs of class RT: RT404 the study is missing; RT429 the budget is
-- spent (message: the study's name; detail: "started budget"); RT410 no waiting trial to
-- claim (message: the study's name); RT409 the lease fence failed; RT412 the stored
-- objects are not the ones the caller merged into.

ALTER TABLE trials ADD COLUMN write_token bigint;

-- A repeated create looks for its token among the study's running trials, which may be
-- many (one per agent): by this index, not by reading each.
CREATE INDEX trials_write_token ON trials (study_id, write_token) WHERE state = 1;

-- A trial as the Store reads it (the columns of trialCols, in its order).
CREATE TYPE retune_trial_row AS (number integer, kind smallint, state smallint, params text,
    vals double precision[], metrics text, user_attrs text, system_attrs text, fixed text, retry_of integer,
    lease_holder text, lease_epoch bigint, lease_expires timestamptz, reason bytea, started_at timestamptz,
    ended_at timestamptz, intermediate json);

CREATE FUNCTION retune_trial_row(p_id bigint) RETURNS SETOF retune_trial_row LANGUAGE sql STABLE AS $$
    SELECT t.number, t.kind, t.state, t.params, t.vals, t.metrics, t.user_attrs, t.system_attrs, t.fixed,
        t.retry_of, t.lease_holder, t.lease_epoch, t.lease_expires, t.reason, t.started_at, t.ended_at,
        (SELECT json_agg(json_build_array(i.step, i.vals::json) ORDER BY i.step)
           FROM trial_intermediate i WHERE i.trial_id = t.id)
    FROM trials t WHERE t.id = p_id
$$;

CREATE FUNCTION retune_create_trial(p_study bigint, p_kind smallint, p_search integer, p_claim_only boolean,
    p_fixed text, p_system text, p_holder text, p_ttl_us bigint, p_token bigint)
RETURNS SETOF retune_trial_row
LANGUAGE plpgsql AS $$
DECLARE
    v_name text;
    v_budget bigint;
    v_started bigint;
    v_next integer;
    v_id bigint;
    v_now timestamptz;
    v_new boolean := false;
BEGIN
    SELECT s.name, s.budget_trials, s.search_started, s.next_number INTO v_name, v_budget, v_started, v_next
        FROM studies s WHERE s.id = p_study FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'study id % not found', p_study USING ERRCODE = 'RT404';
    END IF;
    -- A repeat of a write that committed (its reply lost) finds its trial, still running.
    SELECT t.id INTO v_id FROM trials t WHERE t.study_id = p_study AND t.state = 1 AND t.write_token = p_token;
    IF NOT FOUND THEN
        IF p_search = 1 AND v_budget > 0 AND v_started >= v_budget THEN
            RAISE EXCEPTION '%', v_name USING ERRCODE = 'RT429', DETAIL = v_started || ' ' || v_budget;
        END IF;
        v_now := clock_timestamp();
        SELECT t.id INTO v_id FROM trials t WHERE t.study_id = p_study AND t.kind = p_kind AND t.state = 0
            ORDER BY t.number LIMIT 1 FOR UPDATE;
        IF FOUND THEN
            UPDATE trials t SET state = 1, lease_holder = p_holder, lease_epoch = t.lease_epoch + 1,
                lease_expires = v_now + p_ttl_us * interval '1 microsecond', started_at = v_now, write_token = p_token
                WHERE t.id = v_id;
        ELSIF p_claim_only THEN
            RAISE EXCEPTION '%', v_name USING ERRCODE = 'RT410';
        ELSE
            INSERT INTO trials (study_id, number, kind, state, fixed, system_attrs, lease_holder, lease_epoch,
                    lease_expires, started_at, write_token)
                VALUES (p_study, v_next, p_kind, 1, p_fixed, p_system, p_holder, 1,
                    v_now + p_ttl_us * interval '1 microsecond', v_now, p_token)
                RETURNING id INTO v_id;
            v_new := true;
        END IF;
        UPDATE studies s SET search_started = s.search_started + p_search,
            next_number = s.next_number + CASE WHEN v_new THEN 1 ELSE 0 END
            WHERE s.id = p_study;
    END IF;
    RETURN QUERY SELECT * FROM retune_trial_row(v_id);
END $$;

CREATE FUNCTION retune_finish_trial(p_study bigint, p_number integer, p_epoch bigint, p_state smallint,
    p_vals double precision[], p_metrics text, p_reason bytea,
    p_old_params text, p_old_user text, p_old_system text, p_params text, p_user text, p_system text, p_token bigint)
RETURNS SETOF retune_trial_row
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_id bigint;
    v_state smallint;
    v_epoch bigint;
    v_token bigint;
BEGIN
    UPDATE study_finish f SET finish_seq = f.finish_seq + 1 WHERE f.study_id = p_study RETURNING f.finish_seq INTO v_seq;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'study id % not found', p_study USING ERRCODE = 'RT404';
    END IF;
    UPDATE trials t SET state = p_state, vals = p_vals, metrics = p_metrics, reason = p_reason,
            ended_at = clock_timestamp(), params = p_params, user_attrs = p_user, system_attrs = p_system,
            finish_seq = v_seq, write_token = p_token
        WHERE t.study_id = p_study AND t.number = p_number AND t.state = 1 AND t.lease_epoch = p_epoch
            AND t.params = p_old_params AND t.user_attrs = p_old_user AND t.system_attrs = p_old_system
        RETURNING t.id INTO v_id;
    IF NOT FOUND THEN
        SELECT t.id, t.state, t.lease_epoch, t.write_token INTO v_id, v_state, v_epoch, v_token
            FROM trials t WHERE t.study_id = p_study AND t.number = p_number;
        IF NOT FOUND OR v_token IS DISTINCT FROM p_token THEN
            IF FOUND AND v_state = 1 AND v_epoch = p_epoch THEN
                RAISE EXCEPTION 'trial % changed since it was last written', p_number USING ERRCODE = 'RT412';
            END IF;
            RAISE EXCEPTION 'trial % is not running under lease epoch %', p_number, p_epoch USING ERRCODE = 'RT409';
        END IF;
        -- A repeat of a finish that committed (its reply lost): give the number back.
        UPDATE study_finish f SET finish_seq = f.finish_seq - 1 WHERE f.study_id = p_study;
    END IF;
    RETURN QUERY SELECT * FROM retune_trial_row(v_id);
END $$;
