-- Views for BI tools (Power BI, Metabase, a spreadsheet over ODBC): stable
-- names (bi_*), one row shape on SQLite and PostgreSQL, deleted rows left
-- out, client and person names joined in. The README documents every
-- column. A later version that changes one drops and recreates it; a column
-- is only ever added, never renamed or dropped.
--
-- Timestamps are UTC (SQLite gives them as text, "2026-09-01 10:00:00+00:00").
-- Durations are whole seconds; *_hours columns are the same seconds / 3600.

-- One row per time entry, with its task and client.
CREATE VIEW bi_time_entries AS
SELECT e.source_id,
       e.external_id AS entry_id,
       e.entry_date,
       substr(e.entry_date, 1, 7) AS month,
       e.client_id,
       COALESCE(c.name, '') AS client_name,
       e.person_id,
       COALESCE(p.name, e.person_name) AS person_name,
       e.project,
       e.category,
       e.billable,
       e.seconds,
       CAST(e.seconds AS {{.Real}}) / 3600 AS hours,
       e.task_source_id,
       e.task_id,
       COALESCE(t.title, '') AS task_title,
       COALESCE(t.url, '') AS task_url,
       COALESCE(t.status, '') AS task_status,
       e.note,
       e.start_at,
       e.locked
FROM time_entries e
LEFT JOIN clients c ON c.id = e.client_id
LEFT JOIN people p ON p.id = e.person_id
LEFT JOIN tasks t ON t.source_id = e.task_source_id AND t.external_id = e.task_id AND t.deleted_at IS NULL
WHERE e.deleted_at IS NULL;

-- Hours by day, client, person, category and billability.
CREATE VIEW bi_hours_daily AS
SELECT entry_date AS day,
       month,
       client_id,
       client_name,
       person_id,
       person_name,
       category,
       billable,
       COUNT(*) AS entries,
       CAST(SUM(seconds) AS BIGINT) AS seconds,
       CAST(SUM(seconds) AS {{.Real}}) / 3600 AS hours
FROM bi_time_entries
GROUP BY entry_date, month, client_id, client_name, person_id, person_name, category, billable;

-- Every SLA clock with its client, policy, state and business duration.
CREATE VIEW bi_sla_clocks AS
SELECT k.id AS clock_id,
       k.policy,
       k.client_id,
       COALESCE(c.name, '') AS client_name,
       k.subject_kind,
       k.subject_source_id,
       k.subject_external_id,
       COALESCE({{.JSONText "k.detail" "title"}}, '') AS subject_title,
       COALESCE({{.JSONText "k.detail" "url"}}, '') AS subject_url,
       k.state,
       CASE WHEN k.state IN ('met', 'resolved', 'withdrawn') THEN FALSE ELSE TRUE END AS open,
       CASE WHEN k.breached_at IS NULL THEN FALSE ELSE TRUE END AS breached_ever,
       k.waived,
       k.waiver_reason,
       k.started_at,
       k.warn_at,
       k.due_at,
       k.breached_at,
       k.stopped_at,
       k.business_seconds,
       CAST(k.business_seconds AS {{.Real}}) / 3600 AS business_hours,
       {{.Seconds "k.started_at" "k.stopped_at"}} AS elapsed_seconds,
       k.updated_at
FROM sla_clocks k
LEFT JOIN clients c ON c.id = k.client_id;

-- Every human client message (a card comment, an issue comment, an email)
-- with the response clock of the reply cycle it belongs to: the cycle
-- starts at its first unanswered client message and ends at the agency's
-- reply, so that a follow-up in the same cycle shares its clock.
CREATE VIEW bi_response_times AS
SELECT m.source_id,
       m.external_id AS message_id,
       m.channel,
       m.thread_key,
       m.client_id,
       COALESCE(c.name, '') AS client_name,
       m.author_person_id,
       m.author_name,
       m.author_email,
       m.subject,
       m.task_source_id,
       m.task_id,
       m.sent_at,
       k.id AS clock_id,
       k.state AS clock_state,
       k.waived,
       k.started_at AS cycle_started_at,
       CASE WHEN k.id IS NULL THEN NULL WHEN {{.Seconds "k.started_at" "m.sent_at"}} = 0 THEN TRUE ELSE FALSE END AS first_in_cycle,
       k.due_at,
       k.stopped_at AS answered_at,
       {{.Seconds "m.sent_at" "k.stopped_at"}} AS response_seconds,
       k.business_seconds AS cycle_business_seconds,
       CAST(k.business_seconds AS {{.Real}}) / 3600 AS cycle_business_hours
FROM messages m
LEFT JOIN clients c ON c.id = m.client_id
LEFT JOIN sla_clocks k ON k.id = (
    SELECT r.id FROM sla_clocks r
    WHERE r.policy = 'response' AND r.state <> 'withdrawn'
      AND r.subject_source_id = CASE WHEN m.task_id <> '' THEN m.task_source_id ELSE m.source_id END
      AND r.subject_external_id = CASE WHEN m.task_id <> '' THEN m.task_id ELSE m.thread_key END
      AND {{.Seconds "r.started_at" "m.sent_at"}} >= 0
      AND (r.stopped_at IS NULL OR {{.Seconds "m.sent_at" "r.stopped_at"}} >= 0)
    ORDER BY r.started_at DESC, r.id
    LIMIT 1)
WHERE m.deleted_at IS NULL AND m.author_side = 'client' AND NOT m.automated;

-- Tasks (cards, issues) with their client, stage and the time logged on them.
CREATE VIEW bi_tasks AS
SELECT t.source_id,
       t.external_id AS task_id,
       t.short_ref,
       t.client_id,
       COALESCE(c.name, '') AS client_name,
       t.title,
       t.url,
       t.status,
       t.source_status,
       t.closed,
       t.created_at,
       t.due_at,
       t.due_done,
       (SELECT MAX(s.at) FROM task_status_changes s
        WHERE s.source_id = t.source_id AND s.task_id = t.external_id AND s.deleted_at IS NULL) AS stage_entered_at,
       (SELECT COUNT(*) FROM task_status_changes s
        WHERE s.source_id = t.source_id AND s.task_id = t.external_id AND s.deleted_at IS NULL) AS status_moves,
       COALESCE((SELECT CAST(SUM(e.seconds) AS BIGINT) FROM time_entries e
        WHERE e.task_source_id = t.source_id AND e.task_id = t.external_id AND e.deleted_at IS NULL), 0) AS logged_seconds
FROM tasks t
LEFT JOIN clients c ON c.id = t.client_id
WHERE t.deleted_at IS NULL;

-- Every status move of a task: the stage it entered, when, and how long
-- the task stayed there (left_at and stage_seconds are empty for the
-- stage it is in now). Wall-clock time; the stage_limit clocks of
-- bi_sla_clocks count the same stays in business time.
CREATE VIEW bi_task_stages AS
SELECT s.source_id,
       s.task_id,
       COALESCE(t.title, '') AS task_title,
       s.client_id,
       COALESCE(c.name, '') AS client_name,
       s.external_id AS move_id,
       s.from_status,
       s.to_status AS status,
       s.to_source AS source_status,
       s.actor_person_id,
       s.actor_side,
       s.at AS entered_at,
       s.left_at,
       {{.Seconds "s.at" "s.left_at"}} AS stage_seconds,
       CASE WHEN s.left_at IS NULL THEN TRUE ELSE FALSE END AS current
FROM (SELECT x.*, LEAD(x.at) OVER (PARTITION BY x.source_id, x.task_id ORDER BY x.at, x.external_id) AS left_at
      FROM task_status_changes x WHERE x.deleted_at IS NULL) s
LEFT JOIN tasks t ON t.source_id = s.source_id AND t.external_id = s.task_id
LEFT JOIN clients c ON c.id = s.client_id;

-- Each client's billable hours per month against the budget, with
-- rollover counted as karkas report hours counts it: the monthly hours
-- plus what the month before left unused. The budget is the config's as
-- of the last sync, for every month.
CREATE VIEW bi_budget_months AS
SELECT b.client_id,
       b.client_name,
       b.month,
       b.monthly_hours,
       b.rollover,
       b.carried_over_hours,
       b.monthly_hours + b.carried_over_hours AS budget_hours,
       b.billable_seconds,
       CAST(b.billable_seconds AS {{.Real}}) / 3600 AS billable_hours,
       b.monthly_hours + b.carried_over_hours - CAST(b.billable_seconds AS {{.Real}}) / 3600 AS remaining_hours,
       CASE WHEN b.monthly_hours + b.carried_over_hours > 0
            THEN CAST(b.billable_seconds AS {{.Real}}) / 3600 / (b.monthly_hours + b.carried_over_hours) END AS used_share,
       b.non_billable_seconds,
       CAST(b.non_billable_seconds AS {{.Real}}) / 3600 AS non_billable_hours
FROM (SELECT u.client_id,
             c.name AS client_name,
             u.month,
             c.monthly_hours,
             c.rollover,
             CASE WHEN c.rollover AND c.monthly_hours - CAST(COALESCE(p.billable_seconds, 0) AS {{.Real}}) / 3600 > 0
                  THEN c.monthly_hours - CAST(COALESCE(p.billable_seconds, 0) AS {{.Real}}) / 3600 ELSE 0 END AS carried_over_hours,
             u.billable_seconds,
             u.non_billable_seconds
      FROM (SELECT client_id, substr(entry_date, 1, 7) AS month,
                   CAST(SUM(CASE WHEN billable THEN seconds ELSE 0 END) AS BIGINT) AS billable_seconds,
                   CAST(SUM(CASE WHEN billable THEN 0 ELSE seconds END) AS BIGINT) AS non_billable_seconds
            FROM time_entries WHERE deleted_at IS NULL AND client_id <> ''
            GROUP BY client_id, substr(entry_date, 1, 7)) u
      JOIN clients c ON c.id = u.client_id
      LEFT JOIN (SELECT client_id, substr(entry_date, 1, 7) AS month,
                        CAST(SUM(CASE WHEN billable THEN seconds ELSE 0 END) AS BIGINT) AS billable_seconds
                 FROM time_entries WHERE deleted_at IS NULL AND client_id <> ''
                 GROUP BY client_id, substr(entry_date, 1, 7)) p
          ON p.client_id = u.client_id AND p.month = {{.PrevMonth "u.month"}}) b;
