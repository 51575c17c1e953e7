-- The capacity report and rollover budgets sum a month of every client's
-- live time entries by person, client and billable. The only index by
-- date was per client, so those sums read every entry ever stored; this
-- one covers them (no table row is read).
CREATE INDEX time_entries_live_date ON time_entries (entry_date, client_id, person_id, person_ref, billable, seconds)
	WHERE deleted_at IS NULL;
