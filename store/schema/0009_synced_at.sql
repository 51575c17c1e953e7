-- karkas serve evaluates, after a webhook's pull, only the clients whose
-- rows that pull wrote: it finds them by synced_at.
CREATE INDEX tasks_synced ON tasks (synced_at);
CREATE INDEX task_status_changes_synced ON task_status_changes (synced_at);
CREATE INDEX messages_synced ON messages (synced_at);
CREATE INDEX time_entries_synced ON time_entries (synced_at);
-- And it looks for the next instant an open clock turns, and the clients
-- whose clocks turned, after every evaluation.
CREATE INDEX sla_clocks_warn ON sla_clocks (state, warn_at);
CREATE INDEX sla_clocks_due ON sla_clocks (state, due_at);
