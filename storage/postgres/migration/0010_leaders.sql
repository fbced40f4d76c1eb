-- Version 10: leadership terms (retune.LeaderStore): one holder per role at a time, until
-- its term expires (by the database's clock).

CREATE TABLE leaders (
    role    text PRIMARY KEY,
    holder  text NOT NULL,
    expires timestamptz NOT NULL
);
