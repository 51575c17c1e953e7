-- Field history: every change of a task's fields that its source reports
-- (a Trello updateCard with its old value, a member or label added, an
-- issue's labeled event), so that the policies and reports judge a task
-- by what it carried at the instant they judge, not by what it carries
-- today. old_value and new_value follow record.FieldChange: a single
-- value's before and after, or a list's element added (new) or removed
-- (old).
CREATE TABLE task_field_changes (
    source_id       TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL DEFAULT '',
    field           TEXT NOT NULL,
    old_value       TEXT NOT NULL DEFAULT '',
    new_value       TEXT NOT NULL DEFAULT '',
    at              {{.TS}} NOT NULL,
    actor_ref       TEXT NOT NULL DEFAULT '',
    actor_person_id TEXT NOT NULL DEFAULT '',
    actor_side      TEXT NOT NULL DEFAULT '',
    raw             TEXT NOT NULL,
    hash            TEXT NOT NULL,
    deleted_at      {{.TS}},
    synced_at       {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, external_id)
);
CREATE INDEX task_field_changes_task ON task_field_changes (source_id, task_id, at);
CREATE INDEX task_field_changes_client ON task_field_changes (client_id, field, at);
CREATE INDEX task_field_changes_synced ON task_field_changes (synced_at);

-- The spans of a container's past over which a read held every change of
-- its tasks (record.History): one row per distinct span, so a re-read adds
-- nothing. The zero time stands for "from the beginning" (from_at) and
-- "up to now, continued by the next pull" (to_at). A container with no row
-- comes from a source that reports no field history.
CREATE TABLE history_spans (
    source_id    TEXT NOT NULL,
    container_id TEXT NOT NULL,
    from_at      {{.TS}} NOT NULL,
    to_at        {{.TS}} NOT NULL,
    -- fields: the fields whose changes the read held, comma-separated;
    -- '' for every field.
    fields       TEXT NOT NULL DEFAULT '',
    synced_at    {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, container_id, from_at, to_at)
);

-- A store made before this version holds no field change: the sources
-- that hold tasks read everything again on their next pull (a board
-- export's files, a Trello board's or a repository's whole history), so
-- that their history is recorded before a span claims it whole. The
-- re-read rewrites no row it already had.
DELETE FROM cursors WHERE source_id IN (SELECT DISTINCT source_id FROM tasks);
