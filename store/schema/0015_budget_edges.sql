-- A client's budget rules beyond rollover (mapping.Budget): a cap on what
-- carries over, an overrun taken from the next month, and the month the
-- budget starts. bi_budget_months counts by them as sla.BudgetRule does:
-- nothing carries into the budget's start, or, without one, into the
-- client's first month with time logged; no budget before the start.
ALTER TABLE clients ADD COLUMN rollover_max {{.Real}} NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN carry_overrun {{.Bool}} NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN budget_start TEXT NOT NULL DEFAULT '';

DROP VIEW bi_budget_months;
CREATE VIEW bi_budget_months AS
SELECT z.client_id,
       z.client_name,
       z.month,
       z.monthly_hours,
       z.rollover,
       z.carried_over_hours,
       z.monthly_hours + z.carried_over_hours AS budget_hours,
       z.billable_seconds,
       CAST(z.billable_seconds AS {{.Real}}) / 3600 AS billable_hours,
       z.monthly_hours + z.carried_over_hours - CAST(z.billable_seconds AS {{.Real}}) / 3600 AS remaining_hours,
       CASE WHEN z.monthly_hours + z.carried_over_hours > 0
            THEN CAST(z.billable_seconds AS {{.Real}}) / 3600 / (z.monthly_hours + z.carried_over_hours) END AS used_share,
       z.non_billable_seconds,
       CAST(z.non_billable_seconds AS {{.Real}}) / 3600 AS non_billable_hours
FROM (SELECT y.client_id, y.client_name, y.month, y.rollover, y.billable_seconds, y.non_billable_seconds,
             CASE WHEN y.in_budget THEN y.monthly ELSE 0 END AS monthly_hours,
             -- the carry, capped either way, and never below no budget
             CASE WHEN NOT y.in_budget OR y.monthly <= 0 THEN 0
                  WHEN y.rollover_max > 0 AND y.carry > y.rollover_max THEN y.rollover_max
                  WHEN y.rollover_max > 0 AND y.carry < -y.rollover_max
                       THEN CASE WHEN y.monthly - y.rollover_max < 0 THEN -y.monthly ELSE -y.rollover_max END
                  WHEN y.monthly + y.carry < 0 THEN -y.monthly
                  ELSE y.carry END AS carried_over_hours
      FROM (SELECT x.*,
                   CASE WHEN NOT x.counted THEN 0
                        WHEN x.raw_carry < 0 AND NOT x.carry_overrun THEN 0
                        ELSE x.raw_carry END AS carry
            FROM (SELECT u.client_id,
                         c.name AS client_name,
                         u.month,
                         c.monthly_hours AS monthly,
                         c.rollover,
                         c.rollover_max,
                         c.carry_overrun,
                         (c.budget_start = '' OR u.month >= c.budget_start) AS in_budget,
                         (c.rollover AND {{.PrevMonth "u.month"}} >= CASE WHEN c.budget_start <> '' THEN c.budget_start ELSE f.first_month END) AS counted,
                         c.monthly_hours - CAST(COALESCE(p.billable_seconds, 0) AS {{.Real}}) / 3600 AS raw_carry,
                         u.billable_seconds,
                         u.non_billable_seconds
                  FROM (SELECT client_id, substr(entry_date, 1, 7) AS month,
                               CAST(SUM(CASE WHEN billable THEN seconds ELSE 0 END) AS BIGINT) AS billable_seconds,
                               CAST(SUM(CASE WHEN billable THEN 0 ELSE seconds END) AS BIGINT) AS non_billable_seconds
                        FROM time_entries WHERE deleted_at IS NULL AND client_id <> ''
                        GROUP BY client_id, substr(entry_date, 1, 7)) u
                  JOIN clients c ON c.id = u.client_id
                  JOIN (SELECT client_id, MIN(substr(entry_date, 1, 7)) AS first_month
                        FROM time_entries WHERE deleted_at IS NULL AND client_id <> ''
                        GROUP BY client_id) f ON f.client_id = u.client_id
                  LEFT JOIN (SELECT client_id, substr(entry_date, 1, 7) AS month,
                                    CAST(SUM(CASE WHEN billable THEN seconds ELSE 0 END) AS BIGINT) AS billable_seconds
                             FROM time_entries WHERE deleted_at IS NULL AND client_id <> ''
                             GROUP BY client_id, substr(entry_date, 1, 7)) p
                      ON p.client_id = u.client_id AND p.month = {{.PrevMonth "u.month"}}) x) y) z;
