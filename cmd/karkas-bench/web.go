package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
	"github.com/karkas/karkas/web"
)

// pageFigures are the server times of one web page over its runs.
type pageFigures struct {
	store, page string
	// first is the first request after a commit to the store (the hour
	// reports the web UI keeps are then made anew); p50 and max are of
	// the repeats.
	first, p50, max time.Duration
	bytes           int
}

// pageGoal is the goal for every page's server time.
const pageGoal = 100 * time.Millisecond

// pagesOn measures the web UI's pages on a synced store: each page is
// asked for through the handler karkas serve mounts (the server's time,
// without the network), signed in as an admin: once just after a commit to
// the store (an audit line), as the first view after a sync is, then runs
// times more. The client is the one with the most clocks, the period the
// last month with time entries. One unmeasured request first warms the
// process (templates, the database's pages).
func pagesOn(ctx context.Context, o serveOptions, storeURL, data, outbox string, runs int, log *slog.Logger) ([]pageFigures, error) {
	app, err := openApp(ctx, o.config, storeURL, data, outbox, log)
	if err != nil {
		return nil, err
	}
	st := app.Store
	defer st.Close()
	cals, err := evaluate.Calendars(app.Loaded.Config)
	if err != nil {
		return nil, err
	}
	ui, err := web.New(web.Options{Store: st, Config: app.Loaded.Config, Calendars: cals, Logger: log})
	if err != nil {
		return nil, err
	}
	h := ui.Handler()
	hash := web.HashPassword("karkas-bench password")
	if err := st.PutWebUser(ctx, store.WebUser{ID: "bench", Name: "Bench", Role: store.RoleAdmin}, nil, &hash); err != nil {
		return nil, err
	}
	cookie, err := signInBench(h, "bench", "karkas-bench password")
	if err != nil {
		return nil, err
	}
	var client, clock, month string
	if err := st.Get(ctx, &client, `SELECT client_id FROM sla_clocks WHERE client_id <> '' GROUP BY client_id ORDER BY COUNT(*) DESC, client_id LIMIT 1`); err != nil {
		return nil, fmt.Errorf("the busiest client: %w", err)
	}
	if err := st.Get(ctx, &clock, `SELECT id FROM sla_clocks WHERE client_id = ? AND state = 'breached' ORDER BY id LIMIT 1`, client); err != nil {
		return nil, fmt.Errorf("a breached clock of %s: %w", client, err)
	}
	if err := st.Get(ctx, &month, `SELECT MAX(substr(entry_date, 1, 7)) FROM time_entries WHERE client_id = ?`, client); err != nil {
		return nil, err
	}
	link, _, err := web.NewCabinetLink(ctx, st, app.Loaded.Config, client, 0, "bench", "", "http://bench")
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(link)
	pages := []string{
		"/",
		"/clients/" + client,
		"/clients/" + client + "?period=" + month,
		"/clients/" + client + "?period=" + month + "&state=open",
		"/clients/" + client + "/report?period=" + month,
		"/clocks/" + clock,
		"/capacity",
		"/capacity?period=" + month,
		"/deliveries",
		"/deliveries?status=failed",
		u.Path,
		u.Path + "/reports/" + month,
	}
	warm := httptest.NewRequest(http.MethodGet, "/", nil)
	warm.AddCookie(cookie)
	h.ServeHTTP(httptest.NewRecorder(), warm)
	var out []pageFigures
	for _, p := range pages {
		f := pageFigures{store: st.Dialect, page: p}
		var times []time.Duration
		// A commit: what the pages keep of the store is stale now.
		if err := st.Audit(ctx, store.AuditEntry{At: time.Now(), Actor: "bench", Action: "bench_commit"}); err != nil {
			return nil, err
		}
		for i := range runs + 1 {
			req := httptest.NewRequest(http.MethodGet, p, nil)
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			d := time.Since(start)
			if rec.Code != http.StatusOK {
				return nil, fmt.Errorf("GET %s: %d %.300s", p, rec.Code, rec.Body.String())
			}
			if i == 0 {
				f.first = d
			} else {
				times = append(times, d)
			}
			f.bytes = rec.Body.Len()
		}
		slices.Sort(times)
		f.p50, f.max = times[len(times)/2], times[len(times)-1]
		out = append(out, f)
	}
	return out, nil
}

var benchCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInBench signs in through the form, as a browser does, and returns
// the session cookie.
func signInBench(h http.Handler, name, password string) (*http.Cookie, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	m := benchCSRF.FindStringSubmatch(rec.Body.String())
	if m == nil {
		return nil, fmt.Errorf("no form on /login: %d", rec.Code)
	}
	form := url.Values{"csrf": {m[1]}, "name": {name}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/login", nil)
	req.Body = io.NopCloser(strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "karkas_session" && c.Value != "" {
			return c, nil
		}
	}
	return nil, fmt.Errorf("signing in: %d %.300s", rec.Code, rec.Body.String())
}

func printPages(fs []pageFigures) {
	fmt.Printf("\nweb UI pages (server time on the 100x dataset, the busiest client; goal <= %s each):\n", ms(pageGoal))
	tw := table()
	fmt.Fprintln(tw, "store\tpage\tfirst view\tp50\tmax\tsize\tgoal (first view, repeats)")
	verdict := func(d time.Duration) string {
		if d > pageGoal {
			return "MISSED"
		}
		return "met"
	}
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d KiB\t%s, %s\n", f.store, pagePath(f.page), ms(f.first), ms(f.p50), ms(f.max), f.bytes/1024,
			verdict(f.first), verdict(f.max))
	}
	tw.Flush()
}

// pagePath shortens a cabinet link's token for the table.
func pagePath(p string) string {
	return regexp.MustCompile(`^/cabinet/[^/]+`).ReplaceAllString(p, "/cabinet/TOKEN")
}
