-- The webhook deliveries karkas serve has acted on, by the service's own
-- delivery id (GitHub's X-GitHub-Delivery): a redelivery of one is a
-- no-op, on whichever replica it lands. Rows older than a week are pruned.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    source_id   TEXT NOT NULL,
    received_at {{.TS}} NOT NULL
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
