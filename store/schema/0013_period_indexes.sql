-- Indexes for reading one client's period: the hour report and the web
-- UI's client page read a month's status moves, clocks and new tasks of
-- one client, which the earlier indexes (by task, by state) made scans of
-- every row of the client.
CREATE INDEX task_status_changes_client_at ON task_status_changes (client_id, at);
CREATE INDEX sla_clocks_client_started ON sla_clocks (client_id, started_at);
CREATE INDEX sla_clocks_client_breached ON sla_clocks (client_id, breached_at);
CREATE INDEX tasks_client_created ON tasks (client_id, created_at);
