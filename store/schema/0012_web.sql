-- The web UI of karkas serve: agency accounts and their sessions, sign-in
-- failures (rate limits that hold across replicas), what people did in the
-- browser, and the client cabinet's links.

-- Agency people who sign in. password_hash is an argon2id PHC string
-- (empty: this account signs in only through the configured OIDC
-- provider). role: admin, pm, lead, viewer. A pm or lead sees the clients
-- whose pm or lead their person is (person_id), plus clients, unless
-- all_clients.
CREATE TABLE web_users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    person_id     TEXT NOT NULL DEFAULT '',
    all_clients   {{.Bool}} NOT NULL DEFAULT FALSE,
    clients       {{.JSON}} NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    {{.TS}} NOT NULL,
    updated_at    {{.TS}} NOT NULL
);
CREATE INDEX web_users_email ON web_users (email);

-- A session is found by the SHA-256 of its cookie's token, so that the
-- table read by someone else signs nobody in.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  {{.TS}} NOT NULL,
    expires_at  {{.TS}} NOT NULL,
    seen_at     {{.TS}} NOT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- Failed sign-ins, by account ("user:ID") and by address ("ip:ADDR").
CREATE TABLE web_login_failures (
    id   {{.Serial}},
    key  TEXT NOT NULL,
    at   {{.TS}} NOT NULL
);
CREATE INDEX web_login_failures_key ON web_login_failures (key, at);

-- What people did: waived a clock, retried a delivery, signed in, made a
-- cabinet link. actor is a web user's id, or "cli:" and the OS user.
CREATE TABLE audit_log (
    id       {{.Serial}},
    at       {{.TS}} NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL DEFAULT '',
    detail   {{.JSON}} NOT NULL DEFAULT '{}',
    ip       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_subject ON audit_log (subject, at);

-- Client cabinet links. The link carries the id, the client and the
-- expiry, signed with the key in web_keys; revoking sets revoked_at.
CREATE TABLE cabinet_links (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    created_at  {{.TS}} NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  {{.TS}} NOT NULL,
    revoked_at  {{.TS}},
    last_used_at {{.TS}},
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cabinet_links_client ON cabinet_links (client_id);

-- Keys made by karkas itself, once per store: the cabinet links' signing
-- key. Rotating it (karkas cabinet rotate-key) ends every link.
CREATE TABLE web_keys (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at {{.TS}} NOT NULL
);

ALTER TABLE sla_clocks ADD COLUMN waived_by TEXT NOT NULL DEFAULT '';
ALTER TABLE sla_clocks ADD COLUMN waived_at {{.TS}};

-- Instants karkas marks: "evaluated", when the clocks were last evaluated
-- in full (what the web pages' clocks are as of).
CREATE TABLE store_marks (
    name TEXT PRIMARY KEY,
    at   {{.TS}} NOT NULL
);
