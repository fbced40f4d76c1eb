-- Version 12: promotions and deliveries join the change log. A champion promoted from a
-- study's trial is a "promotion" change of that study (ref: the champion's version); a
-- delivery created, delivered or dead is a "delivery" change of the study its event is
-- about (the event data's "study"; ref: the delivery's id).

CREATE TRIGGER changes_promotion AFTER INSERT ON champions WHEN NEW.source = 'trial' BEGIN
    UPDATE studies SET change_seq = change_seq + 1 WHERE name = NEW.study;
    INSERT INTO changes (study_id, seq, at, kind, trial, ref)
        SELECT id, change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'promotion', NEW.trial, NEW.version
        FROM studies WHERE name = NEW.study;
END;

CREATE TRIGGER changes_delivery_insert AFTER INSERT ON deliveries BEGIN
    UPDATE studies SET change_seq = change_seq + 1
        WHERE name = (SELECT json_extract(data, '$.study') FROM events WHERE seq = NEW.event_seq AND json_valid(data));
    INSERT INTO changes (study_id, seq, at, kind, ref)
        SELECT s.id, s.change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'delivery', NEW.id
        FROM studies s WHERE s.name = (SELECT json_extract(data, '$.study') FROM events WHERE seq = NEW.event_seq AND json_valid(data));
END;

CREATE TRIGGER changes_delivery_state AFTER UPDATE OF state ON deliveries WHEN OLD.state <> NEW.state BEGIN
    UPDATE studies SET change_seq = change_seq + 1
        WHERE name = (SELECT json_extract(data, '$.study') FROM events WHERE seq = NEW.event_seq AND json_valid(data));
    INSERT INTO changes (study_id, seq, at, kind, ref)
        SELECT s.id, s.change_seq, CAST(unixepoch('subsec') * 1000000000 AS INTEGER), 'delivery', NEW.id
        FROM studies s WHERE s.name = (SELECT json_extract(data, '$.study') FROM events WHERE seq = NEW.event_seq AND json_valid(data));
END;
