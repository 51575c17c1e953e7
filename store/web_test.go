package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// TestWebStore is what the web UI keeps and reads, on both databases.
func TestWebStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			for name, run := range map[string]func(*testing.T, *store.Store){
				"accounts":          testWebUsers,
				"sessions":          testWebSessions,
				"sign-in failures":  testLoginFailures,
				"waive and audit":   testWaiveAudit,
				"cabinet links":     testCabinetLinks,
				"keys":              testWebKeys,
				"open tasks":        testOpenTasks,
				"clock filters":     testClockFilters,
				"report periods":    testReportPeriods,
				"evaluation marked": testLastEvaluation,
			} {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					run(t, testdb.Open(t, dialect))
				})
			}
		})
	}
}

func testWebUsers(t *testing.T, st *store.Store) {
	ctx := context.Background()
	h1 := "$argon2id$one"
	if err := st.PutWebUser(ctx, store.WebUser{ID: "anna", Name: "Анна", Email: "Anna@Northwind.Agency", Role: store.RolePM, PersonID: "anna"},
		[]string{"acme", "betta"}, &h1); err != nil {
		t.Fatal(err)
	}
	u, ok, err := st.WebUser(ctx, "anna")
	if err != nil || !ok || u.Name != "Анна" || u.PasswordHash != h1 || !slices.Equal(u.Clients(), []string{"acme", "betta"}) || u.CreatedAt.IsZero() {
		t.Fatalf("WebUser: %+v %v %v", u, ok, err)
	}
	if u2, ok, _ := st.WebUserByEmail(ctx, "anna@northwind.AGENCY"); !ok || u2.ID != "anna" {
		t.Errorf("WebUserByEmail ignores case: %v %+v", ok, u2)
	}
	if _, ok, _ := st.WebUser(ctx, "nobody"); ok {
		t.Error("an account that does not exist is found")
	}
	session := store.WebSession{TokenHash: "t1", UserID: "anna", CSRF: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), SeenAt: t0}
	if err := st.CreateWebSession(ctx, session); err != nil {
		t.Fatal(err)
	}
	// A change without a password keeps the hash and the sessions.
	if err := st.PutWebUser(ctx, store.WebUser{ID: "anna", Name: "Anna", Role: store.RoleLead, AllClients: true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	u, _, _ = st.WebUser(ctx, "anna")
	if u.PasswordHash != h1 || u.Role != store.RoleLead || !u.AllClients || len(u.Clients()) != 0 {
		t.Errorf("after a change without a password: %+v", u)
	}
	if _, _, ok, _ := st.WebSessionOf(ctx, "t1", t0); !ok {
		t.Error("a change without a password ended the session")
	}
	h2 := "$argon2id$two"
	if err := st.PutWebUser(ctx, u, nil, &h2); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := st.WebSessionOf(ctx, "t1", t0); ok {
		t.Error("a new password left a session open")
	}
	st.PutWebUser(ctx, store.WebUser{ID: "boris", Role: store.RoleViewer}, nil, &h1)
	st.CreateWebSession(ctx, store.WebSession{TokenHash: "t2", UserID: "boris", CSRF: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), SeenAt: t0})
	users, err := st.WebUsers(ctx)
	if err != nil || len(users) != 2 || users[0].ID != "anna" || users[1].ID != "boris" {
		t.Fatalf("WebUsers: %v %v", users, err)
	}
	if found, err := st.RemoveWebUser(ctx, "boris"); !found || err != nil {
		t.Fatalf("RemoveWebUser: %v %v", found, err)
	}
	if found, _ := st.RemoveWebUser(ctx, "boris"); found {
		t.Error("removing a removed account found it")
	}
	if n := count(t, st, `SELECT COUNT(*) FROM web_sessions WHERE user_id = 'boris'`); n != 0 {
		t.Errorf("a removed account keeps %d sessions", n)
	}
}

func testWebSessions(t *testing.T, st *store.Store) {
	ctx := context.Background()
	st.PutWebUser(ctx, store.WebUser{ID: "anna", Role: store.RoleAdmin}, nil, nil)
	old := store.WebSession{TokenHash: "old", UserID: "anna", CSRF: "c0", CreatedAt: t0.Add(-48 * time.Hour), ExpiresAt: t0.Add(-time.Hour), SeenAt: t0.Add(-2 * time.Hour)}
	live := store.WebSession{TokenHash: "live", UserID: "anna", CSRF: "c1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), SeenAt: t0,
		IP: "192.0.2.1", UserAgent: "Firefox"}
	for _, s := range []store.WebSession{old, live} {
		if err := st.CreateWebSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// Creating one drops those expired by its instant.
	if n := count(t, st, `SELECT COUNT(*) FROM web_sessions WHERE token_hash = 'old'`); n != 0 {
		t.Error("an expired session was not dropped")
	}
	ws, u, ok, err := st.WebSessionOf(ctx, "live", t0.Add(30*time.Minute))
	if err != nil || !ok || u.ID != "anna" || ws.CSRF != "c1" || ws.IP != "192.0.2.1" || !ws.CreatedAt.Equal(t0) {
		t.Fatalf("WebSessionOf: %+v %+v %v %v", ws, u, ok, err)
	}
	if _, _, ok, _ := st.WebSessionOf(ctx, "live", t0.Add(2*time.Hour)); ok {
		t.Error("a session past its expiry is live")
	}
	if err := st.TouchWebSession(ctx, "live", t0.Add(50*time.Minute), t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := st.WebSessionOf(ctx, "live", t0.Add(2*time.Hour)); !ok {
		t.Error("touching a session did not move its expiry")
	}
	if err := st.EndWebSession(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := st.WebSessionOf(ctx, "live", t0); ok {
		t.Error("an ended session is live")
	}
}

func testLoginFailures(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for i := range 3 {
		if err := st.AddLoginFailures(ctx, t0.Add(time.Duration(i)*time.Minute), "user:anna", "ip:192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	st.AddLoginFailures(ctx, t0.Add(-time.Hour), "user:anna")
	if n, err := st.LoginFailures(ctx, "user:anna", t0); err != nil || n != 3 {
		t.Errorf("failures since t0: %d %v, want 3", n, err)
	}
	if n, _ := st.LoginFailures(ctx, "user:anna", t0.Add(-2*time.Hour)); n != 4 {
		t.Errorf("failures in two hours: %d, want 4", n)
	}
	if err := st.ClearLoginFailures(ctx, "user:anna"); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.LoginFailures(ctx, "user:anna", t0.Add(-2*time.Hour)); n != 0 {
		t.Errorf("after clearing: %d", n)
	}
	if n, _ := st.LoginFailures(ctx, "ip:192.0.2.1", t0); n != 3 {
		t.Errorf("clearing an account cleared the address: %d", n)
	}
	// A day later the old failures are forgotten when one is added.
	st.AddLoginFailures(ctx, t0.Add(25*time.Hour), "ip:192.0.2.9")
	if n := count(t, st, `SELECT COUNT(*) FROM web_login_failures WHERE key = 'ip:192.0.2.1'`); n != 0 {
		t.Errorf("%d failures older than a day kept", n)
	}
}

func clockRow(id, client, policy, state string, started time.Time) store.ClockRow {
	due := started.Add(6 * time.Hour)
	c := store.ClockRow{ID: id, Policy: policy, ClientID: client, SubjectKind: "task", SubjectSourceID: "trello",
		SubjectExternalID: "card-" + id, State: state, StartedAt: started, DueAt: &due, Detail: `{"title":"Card ` + id + `"}`}
	if state == "breached" || state == "resolved" {
		c.BreachedAt = &due
	}
	if state == "met" || state == "resolved" {
		stop := started.Add(time.Hour)
		c.StoppedAt = &stop
	}
	return c
}

func testWaiveAudit(t *testing.T, st *store.Store) {
	ctx := context.Background()
	if _, err := st.SaveClocks(ctx, []store.ClockRow{clockRow("c1", "acme", "response", "breached", t0)}, nil); err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return t0.Add(time.Hour) }
	if err := st.Waive(ctx, "c1", "agreed on the call", "anna"); err != nil {
		t.Fatal(err)
	}
	if err := st.Waive(ctx, "nope", "x", "anna"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("waiving an unknown clock: %v", err)
	}
	// An evaluation that changes the clock keeps the waiver and who made it.
	c := clockRow("c1", "acme", "response", "resolved", t0)
	if _, err := st.SaveClocks(ctx, []store.ClockRow{c}, nil); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Clock(ctx, "c1")
	if err != nil || !ok || got.State != "resolved" || !got.Waived || got.WaiverReason != "agreed on the call" || got.WaivedBy != "anna" ||
		got.WaivedAt == nil || !got.WaivedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("the clock after waiving and a new evaluation: %+v %v %v", got, ok, err)
	}
	st.Audit(ctx, store.AuditEntry{At: t0, Actor: "boris", Action: "retry", Subject: "delivery:7", IP: "192.0.2.1"})
	log, err := st.AuditLog(ctx, "clock:c1", 10)
	if err != nil || len(log) != 1 || log[0].Actor != "anna" || log[0].Action != "waive" || !log[0].At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("the clock's audit log: %+v %v", log, err)
	}
	all, _ := st.AuditLog(ctx, "", 10)
	if len(all) != 2 || all[0].Subject != "delivery:7" {
		t.Errorf("the audit log, newest first: %+v", all)
	}
}

func testCabinetLinks(t *testing.T, st *store.Store) {
	ctx := context.Background()
	st.Now = func() time.Time { return t0 }
	for i, client := range []string{"acme", "acme", "betta"} {
		l := store.CabinetLink{ID: fmt.Sprint("link", i), ClientID: client, CreatedAt: t0.Add(time.Duration(i) * time.Minute), CreatedBy: "cli:anna",
			ExpiresAt: t0.Add(90 * 24 * time.Hour), Note: "for John"}
		if err := st.AddCabinetLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	links, err := st.CabinetLinks(ctx, "acme")
	if err != nil || len(links) != 2 || links[0].ID != "link1" {
		t.Fatalf("acme's links, newest first: %+v %v", links, err)
	}
	if all, _ := st.CabinetLinks(ctx, ""); len(all) != 3 {
		t.Errorf("every link: %d", len(all))
	}
	if found, err := st.RevokeCabinetLink(ctx, "link0", "cli:anna", t0.Add(time.Hour)); !found || err != nil {
		t.Fatalf("revoke: %v %v", found, err)
	}
	if found, _ := st.RevokeCabinetLink(ctx, "link0", "cli:anna", t0.Add(2*time.Hour)); found {
		t.Error("revoking a revoked link found it")
	}
	st.TouchCabinetLink(ctx, "link1", t0.Add(3*time.Hour))
	l, ok, err := st.CabinetLinkOf(ctx, "link0")
	if err != nil || !ok || l.RevokedAt == nil || !l.RevokedAt.Equal(t0.Add(time.Hour)) || !l.ExpiresAt.Equal(t0.Add(90*24*time.Hour)) {
		t.Errorf("the revoked link: %+v %v %v", l, ok, err)
	}
	if l, _, _ := st.CabinetLinkOf(ctx, "link1"); l.LastUsedAt == nil || l.RevokedAt != nil {
		t.Errorf("the opened link: %+v", l)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM audit_log WHERE action IN ('cabinet_link', 'cabinet_revoke')`); n != 4 {
		t.Errorf("%d audit rows for 3 links and 1 revocation", n)
	}
}

func testWebKeys(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	keys := make([]string, 4)
	for i := range keys {
		wg.Go(func() {
			k, err := st.WebKey(ctx, "cabinet", func() (string, error) { return fmt.Sprint("key", i), nil })
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] || k == "" {
			t.Fatalf("processes asking at once got different keys: %v", keys)
		}
	}
	if err := st.RotateWebKey(ctx, "cabinet", "fresh", "cli:anna"); err != nil {
		t.Fatal(err)
	}
	if k, _ := st.WebKey(ctx, "cabinet", func() (string, error) { return "not this", nil }); k != "fresh" {
		t.Errorf("after rotating: %q", k)
	}
}

func testOpenTasks(t *testing.T, st *store.Store) {
	ctx := context.Background()
	done := task("2", "Done one")
	done.Status = "done"
	done.Hash = store.Hash(done)
	closed := task("3", "Archived")
	closed.Closed = true
	closed.Hash = store.Hash(closed)
	other := task("4", "Other client")
	other.ClientID = "betta"
	other.Hash = store.Hash(other)
	moved := t0.Add(26*time.Hour + 123*time.Millisecond)
	mv := store.StatusChangeRow{SourceID: "trello", ExternalID: "m1", TaskID: "1", ClientID: "acme", FromStatus: "todo", ToStatus: "in_progress",
		At: moved, Raw: "{}"}
	mv.Hash = store.Hash(mv)
	early := mv
	early.ExternalID, early.At = "m0", t0.Add(time.Hour)
	early.Hash = store.Hash(early)
	write(t, st, &store.Batch{Tasks: []store.TaskRow{task("1", "Logo"), done, closed, other, task("5", "Never moved")},
		StatusChanges: []store.StatusChangeRow{early, mv}}, "")
	tasks, err := st.OpenTasks(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].ExternalID != "1" || tasks[1].ExternalID != "5" {
		t.Fatalf("open tasks of acme: %+v", tasks)
	}
	if e := tasks[0].EnteredAt; e == nil || !e.Equal(moved) {
		t.Errorf("entered the stage at %v, want %v (the last move)", e, moved)
	}
	if tasks[1].EnteredAt != nil {
		t.Errorf("a task never moved entered its stage at %v", tasks[1].EnteredAt)
	}
}

func testClockFilters(t *testing.T, st *store.Store) {
	ctx := context.Background()
	rows := []store.ClockRow{
		clockRow("a1", "acme", "response", "breached", t0),
		clockRow("a2", "acme", "stage_limit", "at_risk", t0.Add(time.Hour)),
		clockRow("a3", "acme", "response", "met", t0.Add(-40*24*time.Hour)),
		clockRow("a4", "acme", "response", "withdrawn", t0),
		clockRow("b1", "betta", "response", "breached", t0.Add(-time.Hour)),
	}
	if _, err := st.SaveClocks(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	ids := func(f store.ClockFilter) []string {
		t.Helper()
		got, err := st.Clocks(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range got {
			out = append(out, c.ID)
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    store.ClockFilter
		want []string
	}{
		"all, soonest due first": {store.ClockFilter{}, []string{"a3", "b1", "a1", "a2"}},
		"breached and at risk":   {store.ClockFilter{States: []string{"breached", "at_risk"}}, []string{"b1", "a1", "a2"}},
		"one client":             {store.ClockFilter{Clients: []string{"acme"}}, []string{"a3", "a1", "a2"}},
		"no client":              {store.ClockFilter{Clients: []string{}}, nil},
		"a policy":               {store.ClockFilter{Policies: []string{"response"}, Clients: []string{"acme"}}, []string{"a3", "a1"}},
		"started in a month":     {store.ClockFilter{From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour)}, []string{"b1", "a1", "a2"}},
		"newest first, limited":  {store.ClockFilter{Newest: true, Limit: 2}, []string{"a2", "a1"}},
		"limited, due first":     {store.ClockFilter{Limit: 1}, []string{"a3"}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// The hour report reads only what its period can name: the moves in it
// that it counts (out of review, to done), the tasks created or so moved
// in it, the reply clocks started in it and the clocks breached in it.
func testReportPeriods(t *testing.T, st *store.Store) {
	ctx := context.Background()
	from, to := t0, t0.Add(7*24*time.Hour)
	before := task("1", "Before")
	before.CreatedAt = t0.Add(-30 * 24 * time.Hour)
	before.Hash = store.Hash(before)
	movedIn := task("2", "Old, moved in the week")
	movedIn.CreatedAt = t0.Add(-30 * 24 * time.Hour)
	movedIn.Hash = store.Hash(movedIn)
	created := task("3", "Created in the week")
	created.CreatedAt = t0.Add(time.Hour)
	created.Hash = store.Hash(created)
	quiet := task("4", "Moved in the week, but to nothing a report counts")
	quiet.CreatedAt = t0.Add(-30 * 24 * time.Hour)
	quiet.Hash = store.Hash(quiet)
	move := func(id, task string, at time.Time, statuses ...string) store.StatusChangeRow {
		m := store.StatusChangeRow{SourceID: "trello", ExternalID: id, TaskID: task, ClientID: "acme", FromStatus: "in_progress", ToStatus: "done", At: at, Raw: "{}"}
		if len(statuses) == 2 {
			m.FromStatus, m.ToStatus = statuses[0], statuses[1]
		}
		m.Hash = store.Hash(m)
		return m
	}
	write(t, st, &store.Batch{Tasks: []store.TaskRow{before, movedIn, created, quiet},
		StatusChanges: []store.StatusChangeRow{move("m1", "1", t0.Add(-time.Hour)), move("m2", "2", t0.Add(2*time.Hour)), move("m3", "1", to),
			move("m4", "4", t0.Add(3*time.Hour), "todo", "in_progress"), move("m5", "3", t0.Add(4*time.Hour), "review", "in_progress")}}, "")
	tasks, err := st.ReportTasks(ctx, "acme", from, to)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tasks {
		got = append(got, r.ExternalID)
	}
	if !slices.Equal(got, []string{"2", "3"}) {
		t.Errorf("the week's tasks: %v, want 2 (moved in it) and 3 (created in it)", got)
	}
	moves, err := st.ReportMoves(ctx, "acme", from, to)
	if err != nil || len(moves) != 2 || moves[0].TaskID != "2" || moves[1].TaskID != "3" {
		t.Errorf("the week's moves: %+v %v, want m2 (to done) and m5 (out of review)", moves, err)
	}
	breachedIn := clockRow("k2", "acme", "response", "breached", t0.Add(-3*time.Hour))
	in := t0.Add(time.Hour)
	breachedIn.BreachedAt = &in
	st.SaveClocks(ctx, []store.ClockRow{clockRow("k1", "acme", "response", "met", t0.Add(-24*time.Hour)), breachedIn,
		clockRow("k3", "acme", "response", "met", t0.Add(time.Hour)), clockRow("k4", "acme", "response", "met", to),
		clockRow("k5", "acme", "stage_limit", "met", t0.Add(time.Hour))}, nil)
	clocks, err := st.ReportClocks(ctx, "acme", from, to)
	got = nil
	for _, c := range clocks {
		got = append(got, c.ID)
	}
	if err != nil || !slices.Equal(got, []string{"k2", "k3"}) {
		t.Errorf("the week's clocks: %v %v, want k2 (breached in it) and k3 (a reply clock started in it; not k5, a stage clock that did not breach)", got, err)
	}
}

func testLastEvaluation(t *testing.T, st *store.Store) {
	ctx := context.Background()
	if at, err := st.LastEvaluation(ctx); err != nil || !at.IsZero() {
		t.Fatalf("before any evaluation: %v %v", at, err)
	}
	st.Now = func() time.Time { return t0 }
	if _, err := st.SaveEvaluationOf(ctx, &store.Scope{Clients: []string{"acme"}}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if at, _ := st.LastEvaluation(ctx); !at.IsZero() {
		t.Errorf("a scoped evaluation marked a full one: %v", at)
	}
	if _, err := st.SaveEvaluation(ctx, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if at, _ := st.LastEvaluation(ctx); !at.Equal(t0) {
		t.Errorf("after a full evaluation: %v, want %v", at, t0)
	}
}

// An account binds to one OIDC identity; a new address or an unbind
// releases it.
func TestOIDCBinding(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			u := store.WebUser{ID: "anna", Name: "Anna", Email: "anna@northwind.agency", Role: store.RoleAdmin}
			if err := st.PutWebUser(ctx, u, nil, nil); err != nil {
				t.Fatal(err)
			}
			subject := func() string {
				got, _, err := st.WebUser(ctx, "anna")
				if err != nil {
					t.Fatal(err)
				}
				return got.OIDCSubject
			}
			if ok, err := st.BindOIDC(ctx, "anna", "https://accounts.google.com 1001"); !ok || err != nil {
				t.Fatalf("the first bind: %v %v", ok, err)
			}
			if ok, err := st.BindOIDC(ctx, "anna", "https://accounts.google.com 2002"); ok || err != nil {
				t.Errorf("a second identity bound the account: %v %v", ok, err)
			}
			// Another name, the same address (in another case): still bound.
			u.Name, u.Email = "Anna P.", "Anna@Northwind.Agency"
			if err := st.PutWebUser(ctx, u, nil, nil); err != nil {
				t.Fatal(err)
			}
			if got := subject(); got != "https://accounts.google.com 1001" {
				t.Errorf("after a change of name: bound to %q", got)
			}
			// A new address: unbound.
			u.Email = "anna@elsewhere.example"
			if err := st.PutWebUser(ctx, u, nil, nil); err != nil {
				t.Fatal(err)
			}
			if got := subject(); got != "" {
				t.Errorf("after a new address: still bound to %q", got)
			}
			st.BindOIDC(ctx, "anna", "x 1")
			if err := st.UnbindOIDC(ctx, "anna"); err != nil || subject() != "" {
				t.Errorf("UnbindOIDC: %v, bound to %q", err, subject())
			}
		})
	}
}
