-- Version 10: leadership terms (retune.LeaderStore): one holder per role at a time, until
-- its term expires (Unix nanoseconds).

CREATE TABLE leaders (
    role    TEXT    PRIMARY KEY,
    holder  TEXT    NOT NULL,
    expires INTEGER NOT NULL
) STRICT;
