-- karkas schema, version 1. One text for SQLite and PostgreSQL: {{.TS}}, {{.JSON}},
-- {{.Serial}}, {{.Bool}}, {{.BigInt}} and {{.Real}} are filled in per dialect.
-- Every normalized row keeps the neutral record as pulled (raw) so that
-- `karkas remap` can resolve it again, and a hash of what it holds so that a
-- re-sync with nothing changed rewrites no row.

CREATE TABLE sources (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    attention     TEXT NOT NULL DEFAULT '',
    attention_at  {{.TS}},
    created_at    {{.TS}} NOT NULL
);

CREATE TABLE sync_runs (
    id           {{.Serial}},
    source_id    TEXT NOT NULL,
    started_at   {{.TS}} NOT NULL,
    finished_at  {{.TS}},
    status       TEXT NOT NULL,
    dry_run      {{.Bool}} NOT NULL DEFAULT FALSE,
    batches      INTEGER NOT NULL DEFAULT 0,
    received     {{.JSON}} NOT NULL DEFAULT '{}',
    written      {{.JSON}} NOT NULL DEFAULT '{}',
    rows_written {{.BigInt}} NOT NULL DEFAULT 0,
    problems     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_source ON sync_runs (source_id, started_at);

CREATE TABLE cursors (
    source_id  TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at {{.TS}} NOT NULL
);

-- Input that could not be turned into a record: recorded once, skipped.
CREATE TABLE problems (
    source_id  TEXT NOT NULL,
    location   TEXT NOT NULL,
    message    TEXT NOT NULL,
    run_id     {{.BigInt}} NOT NULL,
    created_at {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, location, message)
);

-- The agency's model, copied from the config on every sync so that BI tools
-- can join on it.
CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    calendar      TEXT NOT NULL DEFAULT '',
    policy_set    TEXT NOT NULL DEFAULT '',
    monthly_hours {{.Real}} NOT NULL DEFAULT 0,
    rollover      {{.Bool}} NOT NULL DEFAULT FALSE,
    hash          TEXT NOT NULL
);

CREATE TABLE people (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    side      TEXT NOT NULL,
    role      TEXT NOT NULL DEFAULT '',
    client_id TEXT NOT NULL DEFAULT '',
    hash      TEXT NOT NULL
);

CREATE TABLE identities (
    namespace TEXT NOT NULL,
    value     TEXT NOT NULL,
    person_id TEXT NOT NULL,
    PRIMARY KEY (namespace, value)
);

CREATE TABLE containers (
    source_id   TEXT NOT NULL,
    external_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL DEFAULT '',
    client_id   TEXT NOT NULL DEFAULT '',
    closed      {{.Bool}} NOT NULL DEFAULT FALSE,
    raw         TEXT NOT NULL,
    hash        TEXT NOT NULL,
    deleted_at  {{.TS}},
    synced_at   {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, external_id)
);

-- People as each source knows them, resolved to the config's people.
CREATE TABLE source_people (
    source_id   TEXT NOT NULL,
    external_id TEXT NOT NULL,
    username    TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    person_id   TEXT NOT NULL DEFAULT '',
    side        TEXT NOT NULL,
    client_id   TEXT NOT NULL DEFAULT '',
    raw         TEXT NOT NULL,
    hash        TEXT NOT NULL,
    deleted_at  {{.TS}},
    synced_at   {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, external_id)
);

CREATE TABLE tasks (
    source_id         TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    container_id      TEXT NOT NULL DEFAULT '',
    short_ref         TEXT NOT NULL DEFAULT '',
    client_id         TEXT NOT NULL DEFAULT '',
    title             TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    source_status     TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    labels            {{.JSON}} NOT NULL DEFAULT '[]',
    assignee_ids      {{.JSON}} NOT NULL DEFAULT '[]',
    creator_person_id TEXT NOT NULL DEFAULT '',
    creator_side      TEXT NOT NULL DEFAULT '',
    created_at        {{.TS}} NOT NULL,
    due_at            {{.TS}},
    due_done          {{.Bool}} NOT NULL DEFAULT FALSE,
    closed            {{.Bool}} NOT NULL DEFAULT FALSE,
    url               TEXT NOT NULL DEFAULT '',
    raw               TEXT NOT NULL,
    hash              TEXT NOT NULL,
    deleted_at        {{.TS}},
    synced_at         {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, external_id)
);
CREATE INDEX tasks_client ON tasks (client_id, status);
CREATE INDEX tasks_short_ref ON tasks (short_ref);

CREATE TABLE task_status_changes (
    source_id       TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL DEFAULT '',
    from_source     TEXT NOT NULL DEFAULT '',
    to_source       TEXT NOT NULL DEFAULT '',
    from_status     TEXT NOT NULL DEFAULT '',
    to_status       TEXT NOT NULL DEFAULT '',
    at              {{.TS}} NOT NULL,
    actor_person_id TEXT NOT NULL DEFAULT '',
    actor_side      TEXT NOT NULL DEFAULT '',
    raw             TEXT NOT NULL,
    hash            TEXT NOT NULL,
    deleted_at      {{.TS}},
    synced_at       {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, external_id)
);
CREATE INDEX task_status_changes_task ON task_status_changes (source_id, task_id, at);

-- Card comments, issue comments and emails in one table.
CREATE TABLE messages (
    source_id        TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    channel          TEXT NOT NULL,
    thread_key       TEXT NOT NULL,
    task_source_id   TEXT NOT NULL DEFAULT '',
    task_id          TEXT NOT NULL DEFAULT '',
    client_id        TEXT NOT NULL DEFAULT '',
    author_name      TEXT NOT NULL DEFAULT '',
    author_email     TEXT NOT NULL DEFAULT '',
    author_person_id TEXT NOT NULL DEFAULT '',
    author_side      TEXT NOT NULL,
    direction        TEXT NOT NULL,
    automated        {{.Bool}} NOT NULL DEFAULT FALSE,
    automated_reason TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL DEFAULT '',
    sent_at          {{.TS}} NOT NULL,
    edited_at        {{.TS}},
    folder           TEXT NOT NULL DEFAULT '',
    raw              TEXT NOT NULL,
    hash             TEXT NOT NULL,
    deleted_at       {{.TS}},
    synced_at        {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, external_id)
);
CREATE INDEX messages_thread ON messages (thread_key, sent_at);
CREATE INDEX messages_client ON messages (client_id, sent_at);

CREATE TABLE time_entries (
    source_id      TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    person_ref     TEXT NOT NULL DEFAULT '',
    person_id      TEXT NOT NULL DEFAULT '',
    task_ref       TEXT NOT NULL DEFAULT '',
    task_source_id TEXT NOT NULL DEFAULT '',
    task_id        TEXT NOT NULL DEFAULT '',
    project        TEXT NOT NULL DEFAULT '',
    client_id      TEXT NOT NULL DEFAULT '',
    entry_date     TEXT NOT NULL,
    start_at       {{.TS}},
    seconds        {{.BigInt}} NOT NULL,
    category       TEXT NOT NULL,
    billable       {{.Bool}} NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    tags           {{.JSON}} NOT NULL DEFAULT '[]',
    locked         {{.Bool}} NOT NULL DEFAULT FALSE,
    raw            TEXT NOT NULL,
    hash           TEXT NOT NULL,
    deleted_at     {{.TS}},
    synced_at      {{.TS}} NOT NULL,
    PRIMARY KEY (source_id, external_id)
);
CREATE INDEX time_entries_client ON time_entries (client_id, entry_date);
CREATE INDEX time_entries_task ON time_entries (task_source_id, task_id);

-- SLA clocks and their transitions (filled by the SLA engine).
CREATE TABLE sla_clocks (
    id                  TEXT PRIMARY KEY,
    policy              TEXT NOT NULL,
    client_id           TEXT NOT NULL DEFAULT '',
    subject_kind        TEXT NOT NULL,
    subject_source_id   TEXT NOT NULL DEFAULT '',
    subject_external_id TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL,
    started_at          {{.TS}} NOT NULL,
    warn_at             {{.TS}},
    due_at              {{.TS}},
    breached_at         {{.TS}},
    stopped_at          {{.TS}},
    business_seconds    {{.BigInt}} NOT NULL DEFAULT 0,
    waived              {{.Bool}} NOT NULL DEFAULT FALSE,
    waiver_reason       TEXT NOT NULL DEFAULT '',
    detail              {{.JSON}} NOT NULL DEFAULT '{}',
    updated_at          {{.TS}} NOT NULL
);
CREATE INDEX sla_clocks_client ON sla_clocks (client_id, state);

CREATE TABLE sla_transitions (
    id               {{.Serial}},
    clock_id         TEXT NOT NULL,
    from_state       TEXT NOT NULL,
    to_state         TEXT NOT NULL,
    at               {{.TS}} NOT NULL,
    business_seconds {{.BigInt}} NOT NULL DEFAULT 0
);
CREATE INDEX sla_transitions_clock ON sla_transitions (clock_id, at);

-- Deliveries to sinks: written with the state change that causes them, worked
-- by the push side. idempotency_key makes a delivery happen once.
CREATE TABLE outbox (
    id              {{.Serial}},
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    sink            TEXT NOT NULL,
    client_id       TEXT NOT NULL DEFAULT '',
    target          {{.JSON}} NOT NULL DEFAULT '{}',
    payload         {{.JSON}} NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {{.TS}},
    last_error      TEXT NOT NULL DEFAULT '',
    external_ref    TEXT NOT NULL DEFAULT '',
    created_at      {{.TS}} NOT NULL,
    delivered_at    {{.TS}}
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);

CREATE TABLE reports (
    id           {{.Serial}},
    client_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end   TEXT NOT NULL,
    format       TEXT NOT NULL,
    content      TEXT NOT NULL,
    created_at   {{.TS}} NOT NULL,
    UNIQUE (client_id, kind, period_start, format)
);
