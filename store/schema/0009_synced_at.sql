-- karkas serve evaluates, after a webhook's pull, only the clients whose
-- rows that pull wrote: it finds them by synced_at.
CREATE INDEX tasks_synced ON tasks (synced_at);
CREATE INDEX task_status_changes_synced ON task_status_changes (synced_at);
CREATE INDEX messages_synced ON messages (synced_at);
CREATE INDEX time_entries_synced ON time_entries (synced_at);
