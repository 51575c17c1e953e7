-- karkas schema, version 4: what real mail and exports need.
--
-- problems.warning tells a note on input that was stored anyway (a date
-- taken from a Received header, a repaired header) from input refused.
-- sync_runs.input keeps what a source counted of its own input in the run
-- (read, stored, refused, merged, warned: record.Tally), for sync and status.
-- messages.fingerprint is the content of an email (record.Message.Fingerprint)
-- so that a different message reusing a Message-ID is stored apart instead
-- of overwriting the first; messages.parents lists the ids an email names as
-- its parents (References, then In-Reply-To), which threading follows. NULL
-- parents mark rows written before this version: threading reads them once
-- from the stored record.

ALTER TABLE problems ADD COLUMN warning {{.Bool}} NOT NULL DEFAULT FALSE;
ALTER TABLE sync_runs ADD COLUMN input {{.JSON}} NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN parents {{.JSON}};
CREATE INDEX messages_source_thread ON messages (source_id, channel, thread_key);
