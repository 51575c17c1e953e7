-- karkas schema, version 2: calendar versions. An admin's edit of a calendar
-- in the config takes effect from the instant karkas first saw it, so that
-- business time already counted is never recounted with the new hours.
-- Each row is a calendar as it was from effective_from on; the first version
-- of a calendar has effective_from 1970-01-01T00:00:00Z, meaning "since
-- always". spec is the calendar's canonical JSON, hash its SHA-256 as it was
-- written (PostgreSQL's JSONB does not keep the text as given).

CREATE TABLE calendar_versions (
    calendar       TEXT NOT NULL,
    effective_from {{.TS}} NOT NULL,
    hash           TEXT NOT NULL,
    spec           {{.JSON}} NOT NULL,
    PRIMARY KEY (calendar, effective_from)
);
