-- karkas schema, version 4: what real mail, exports and mappings need.
--
-- problems.warning tells a note on input that was stored anyway (a date
-- taken from a Received header, a repaired header) from input refused.
-- sync_runs.input keeps what a source counted of its own input in the run
-- (read, stored, refused, merged, warned: record.Tally), for sync and status.
-- messages.fingerprint is the content of an email (record.Message.Fingerprint)
-- so that a different message reusing a Message-ID is stored apart instead
-- of overwriting the first; messages.parents lists the ids an email names as
-- its parents (References, then In-Reply-To), which threading follows.
-- The *_ref columns (and time_entries.person_name) keep the source's own
-- reference of the person a row names, so that karkas status can name the
-- people the mapping does not know and count their records.
--
-- The new columns of rows already stored are filled from their stored
-- records by the migration's data step (store/migrate.go), in this
-- migration's transaction.

ALTER TABLE problems ADD COLUMN warning {{.Bool}} NOT NULL DEFAULT FALSE;
ALTER TABLE sync_runs ADD COLUMN input {{.JSON}} NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN parents {{.JSON}} NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN author_ref TEXT NOT NULL DEFAULT '';
-- The task references an email's text holds (card links), so that a card
-- synced after the email links it at once (sync/engine heal.go).
ALTER TABLE messages ADD COLUMN task_refs {{.JSON}} NOT NULL DEFAULT '[]';
ALTER TABLE task_status_changes ADD COLUMN actor_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN creator_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN assignee_refs {{.JSON}} NOT NULL DEFAULT '[]';
ALTER TABLE time_entries ADD COLUMN person_name TEXT NOT NULL DEFAULT '';
-- When the source's emails were last threaded (sync/engine Thread): a
-- source never threaded is threaded at its next run even when it brings
-- nothing new.
ALTER TABLE sources ADD COLUMN threaded_at {{.TS}};
-- A task's messages, for the scopes that re-read one card's comments.
CREATE INDEX messages_task ON messages (task_source_id, task_id);
