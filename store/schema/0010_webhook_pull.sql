-- A webhook's pull of one card looks up the few tasks its records name
-- (by id, of any source, or by short ref) instead of loading every task,
-- and links to the tasks it brought the rows that named them before they
-- were stored: it finds those rows among the unlinked ones alone, which
-- these partial indexes hold (UnlinkedRefs spells the same conditions).
CREATE INDEX tasks_external_id ON tasks (external_id);
CREATE INDEX time_entries_unlinked ON time_entries (source_id)
    WHERE deleted_at IS NULL AND task_id = '' AND task_ref LIKE 'tr:%';
CREATE INDEX messages_unlinked ON messages (source_id)
    WHERE deleted_at IS NULL AND task_id = '' AND CAST(task_refs AS TEXT) <> '[]';
-- A webhook's pull reads one board or repository: karkas status shows a
-- source's last full run, and the webhook pulls since beside it, so that
-- "synced" never claims more than was read.
ALTER TABLE sync_runs ADD COLUMN partial BOOLEAN NOT NULL DEFAULT FALSE;
