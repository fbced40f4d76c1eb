-- Version 12: promotions and deliveries join the change log. A champion promoted from a
-- study's trial is a "promotion" change of that study (ref: the champion's version); a
-- delivery created, delivered or dead is a "delivery" change of the study its event is
-- about (the event data's "study"; ref: the delivery's id). Data that PostgreSQL's json
-- functions refuse (a \u0000 escape, which JSON allows) names no study.

CREATE FUNCTION retune_promotion_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retune_change(s.id, 'promotion', NEW.trial::integer, NULL, NEW.version, NULL) FROM studies s WHERE s.name = NEW.study;
    RETURN NULL;
END $$;

CREATE TRIGGER champions_change AFTER INSERT ON champions
    FOR EACH ROW WHEN (NEW.source = 'trial') EXECUTE FUNCTION retune_promotion_change();

CREATE FUNCTION retune_delivery_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    study_name text;
BEGIN
    BEGIN
        SELECT e.data::json ->> 'study' INTO study_name FROM events e WHERE e.seq = NEW.event_seq;
    EXCEPTION WHEN others THEN
        study_name := NULL; -- data PostgreSQL's json functions cannot read: no study to tell
    END;
    IF study_name IS NOT NULL THEN
        PERFORM retune_change(s.id, 'delivery', NULL, NULL, NEW.id, NULL) FROM studies s WHERE s.name = study_name;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER deliveries_change_insert AFTER INSERT ON deliveries
    FOR EACH ROW EXECUTE FUNCTION retune_delivery_change();
CREATE TRIGGER deliveries_change_state AFTER UPDATE ON deliveries
    FOR EACH ROW WHEN (NEW.state <> OLD.state) EXECUTE FUNCTION retune_delivery_change();
