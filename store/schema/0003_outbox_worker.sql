-- karkas schema, version 3: the outbox worker. Rows of sink 'route' are
-- what the SLA engine queued; the worker routes each into deliveries, rows
-- of a named sink. A worker claims a delivery for a while (lease_owner,
-- lease_until) before it calls the sink, so that replicas never work the
-- same row at once and a worker killed mid-delivery leaves a row that
-- another takes over when the lease ends. clock_id names the SLA clock a
-- delivery tells of, for the checks made before sending (is the clock
-- still in that state?) and for follow-ups.

ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until {{.TS}};
ALTER TABLE outbox ADD COLUMN clock_id TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_sink ON outbox (sink, status, delivered_at);
CREATE INDEX outbox_clock ON outbox (clock_id, sink);
CREATE INDEX sla_clocks_subject ON sla_clocks (subject_source_id, subject_external_id);
