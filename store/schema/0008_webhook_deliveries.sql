-- The webhook deliveries karkas serve has acted on, keyed by service,
-- source and the service's own id of the delivery (GitHub's
-- X-GitHub-Delivery, Trello's action id, which Trello sends to every
-- webhook on the board): a redelivery of one is a no-op, on whichever
-- replica it lands. Rows older than a week are pruned.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    source_id   TEXT NOT NULL,
    received_at {{.TS}} NOT NULL
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
