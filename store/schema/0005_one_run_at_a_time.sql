-- karkas schema, version 5: one run of a source, and one evaluation, at a
-- time. The locks themselves are PostgreSQL advisory locks and, on SQLite,
-- file locks (store/lock.go); run_locks says who holds one, for the run it
-- turns away.
--
-- A transition is numbered within its clock (seq, from 1), and the clock
-- keeps the number of its last (version): two evaluations that saw the
-- clock at one version cannot both record a transition from it. Transitions
-- two evaluations at once stored twice before this version are removed
-- first, keeping the first of each.

CREATE TABLE run_locks (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL
);
DELETE FROM sla_transitions WHERE id NOT IN (
    SELECT MIN(id) FROM sla_transitions GROUP BY clock_id, from_state, to_state, at);
ALTER TABLE sla_transitions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE sla_transitions SET seq = (SELECT COUNT(*) FROM sla_transitions t
    WHERE t.clock_id = sla_transitions.clock_id AND t.id <= sla_transitions.id);
ALTER TABLE sla_clocks ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE sla_clocks SET version = (SELECT COUNT(*) FROM sla_transitions t WHERE t.clock_id = sla_clocks.id);
CREATE UNIQUE INDEX sla_transitions_seq ON sla_transitions (clock_id, seq);
