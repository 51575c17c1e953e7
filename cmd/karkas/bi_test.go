package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
)

// The BI views give the same rows on SQLite and PostgreSQL: the demo
// synced into both and evaluated at one instant, every view's rows,
// normalized (timestamps to UTC instants, booleans to 0/1, numbers to
// nine digits), are equal, row for row. Each view has rows, so that the
// comparison proves something, and each client's months in
// bi_budget_months are the budget karkas report hours gives.
func TestBIViewsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	ctx := context.Background()
	bin, config, data, l, rules := demoRules(t)
	at := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	views := map[string]map[string][]string{}
	urls := map[string]string{}
	for _, dialect := range testdb.Dialects {
		url := testdb.URL(t, dialect)
		if out, err := syncCmd(bin, config, data, url).CombinedOutput(); err != nil {
			t.Fatalf("%s sync: %v\n%s", dialect, err, out)
		}
		st := openStore(t, url)
		if _, err := rules.UseHistory(ctx, st, at, false); err != nil {
			t.Fatal(err)
		}
		if _, err := evaluate.Run(ctx, st, rules, at); err != nil {
			t.Fatal(err)
		}
		urls[dialect] = url
		views[dialect] = map[string][]string{}
		for _, v := range store.BIViews {
			views[dialect][v] = viewRows(t, st, v)
		}
	}
	for _, v := range store.BIViews {
		a, b := views[store.SQLite][v], views[store.Postgres][v]
		if len(a) == 0 {
			t.Errorf("%s has no rows on the demo: the comparison proves nothing", v)
		}
		if len(a) != len(b) {
			t.Errorf("%s: %d rows on SQLite, %d on PostgreSQL", v, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s differs (row %d of the sorted rows):\nsqlite:   %.600s\npostgres: %.600s", v, i, a[i], b[i])
				break
			}
		}
	}

	if url, ok := urls[store.Postgres]; ok {
		readOnlyRole(t, url)
	}

	// bi_budget_months is report hours' budget, month by month.
	st := openStore(t, urls[store.SQLite])
	var months []struct {
		Client      string  `db:"client_id"`
		Month       string  `db:"month"`
		Budget      float64 `db:"budget_hours"`
		Carried     float64 `db:"carried_over_hours"`
		Billable    int64   `db:"billable_seconds"`
		NonBillable int64   `db:"non_billable_seconds"`
	}
	if err := st.Select(ctx, &months, `SELECT client_id, month, budget_hours, carried_over_hours, billable_seconds,
		non_billable_seconds FROM bi_budget_months ORDER BY client_id, month`); err != nil {
		t.Fatal(err)
	}
	if len(months) < 2*len(l.Clients) {
		t.Fatalf("%d budget months for %d clients: the demo spans several months", len(months), len(l.Clients))
	}
	carried := false
	for _, m := range months {
		code, out, errOut := runCLI(t, map[string]string{"KARKAS_STORE": urls[store.SQLite], "KARKAS_DEMO_DATA": data},
			"report", "hours", "-c", config, "--client", m.Client, "--period", m.Month, "--format", "json",
			"--at", at.Format(time.RFC3339))
		if code != exitOK {
			t.Fatalf("report hours %s %s: exit %d\n%s", m.Client, m.Month, code, errOut)
		}
		var r struct {
			Totals struct {
				BillableSeconds    int64 `json:"billable_seconds"`
				NonBillableSeconds int64 `json:"non_billable_seconds"`
			} `json:"totals"`
			Budget struct {
				BudgetHours  float64 `json:"budget_hours"`
				CarriedHours float64 `json:"carried_over_hours"`
			} `json:"budget"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("report hours %s %s: %v", m.Client, m.Month, err)
		}
		if r.Totals.BillableSeconds != m.Billable || r.Totals.NonBillableSeconds != m.NonBillable ||
			math.Abs(r.Budget.BudgetHours-m.Budget) > 1e-6 || math.Abs(r.Budget.CarriedHours-m.Carried) > 1e-6 {
			t.Errorf("%s %s: bi_budget_months %+v, report hours %+v", m.Client, m.Month, m, r)
		}
		carried = carried || m.Carried > 0 && m.Carried < m.Budget/2
	}
	if !carried {
		t.Error("no month carries part of a budget over: the rollover is not tested")
	}
}

// viewRows is a view's rows, each normalized to one line, sorted.
func viewRows(t *testing.T, st *store.Store, view string) []string {
	t.Helper()
	rows, err := st.Query(context.Background(), "SELECT * FROM "+view)
	if err != nil {
		t.Fatalf("%s: %v", view, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", view, err)
		}
		var b strings.Builder
		for i, v := range vals {
			if cols[i] == "updated_at" {
				continue // when karkas wrote the row
			}
			fmt.Fprintf(&b, "%s=%s|", cols[i], normalized(v))
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", view, err)
	}
	slices.Sort(out)
	return out
}

var sqliteTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$`)

func normalized(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int64:
		return fmt.Sprint(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprintf("%.9g", x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return normalized(string(x))
	case string:
		if sqliteTime.MatchString(x) {
			if ts, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", x); err == nil {
				return ts.UTC().Format(time.RFC3339Nano)
			}
		}
		return x
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// The README documents every column of every BI view: a column added to
// a view without a line in the README fails here.
func TestBIViewsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	st := testdb.Open(t, store.SQLite)
	for _, v := range store.BIViews {
		i := strings.Index(string(readme), "#### `"+v+"`")
		if i < 0 {
			t.Errorf("the README has no section #### `%s`", v)
			continue
		}
		section := string(readme[i+1:])
		if j := strings.Index(section, "\n#"); j >= 0 {
			section = section[:j]
		}
		rows, err := st.Query(context.Background(), "SELECT * FROM "+v+" LIMIT 0")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		rows.Close()
		for _, c := range cols {
			if !strings.Contains(section, "| `"+c+"` |") {
				t.Errorf("the README's %s section does not document column %s", v, c)
			}
		}
	}
}

// readOnlyRole runs the README's read-only role recipe on the test's
// schema and checks that the role reads every view and no table, and
// cannot write.
func readOnlyRole(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sql\n(CREATE ROLE karkas_bi .*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("the README has no read-only role recipe (```sql CREATE ROLE karkas_bi …```)")
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var schema, database string
	if err := db.QueryRowContext(ctx, `SELECT current_schema(), current_database()`).Scan(&schema, &database); err != nil {
		t.Fatal(err)
	}
	role := "karkas_bi_" + strings.TrimPrefix(schema, "t_")
	recipe := strings.NewReplacer("karkas_bi", role, "SCHEMA public", "SCHEMA "+schema,
		"DATABASE karkas", "DATABASE "+database, "'…'", "'x'").Replace(string(m[1]))
	t.Cleanup(func() {
		db.ExecContext(ctx, "RESET ROLE")
		db.ExecContext(ctx, "DROP OWNED BY "+role)
		db.ExecContext(ctx, "DROP ROLE "+role)
	})
	for _, stmt := range strings.Split(recipe, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("the README's role recipe: %v\n%s", err, stmt)
		}
	}
	if _, err := db.ExecContext(ctx, "SET ROLE "+role); err != nil {
		t.Fatal(err)
	}
	for _, v := range store.BIViews {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+v).Scan(&n); err != nil || n == 0 {
			t.Errorf("the read-only role reads %d rows of %s: %v", n, v, err)
		}
	}
	for _, q := range []string{"SELECT raw FROM messages LIMIT 1", "SELECT * FROM river_job LIMIT 1",
		"DELETE FROM sla_clocks", "CREATE TABLE stolen (x TEXT)"} {
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Errorf("the read-only role could: %s", q)
		}
	}
}
