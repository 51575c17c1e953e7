package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/karkas/karkas/store"
)

// The demo's report instant: the demo's history ends on Friday 20 November
// 2026 at 18:00 Berlin.
const demoAt = "2026-11-20T18:00:00+01:00"

// htmlNumbers reads the data-k cells of a report page: key -> attributes
// (data-seconds, data-hours, data-count) and the cell's text.
func htmlNumbers(t *testing.T, page []byte) map[string]map[string]string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			if k, ok := attrs["data-k"]; ok && k != "chart" {
				if _, dup := out[k]; dup {
					t.Errorf("data-k %q twice", k)
				}
				attrs["text"] = text(n)
				out[k] = attrs
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// sqlSums runs a query of (key, seconds) rows into a map.
func sqlSums(t *testing.T, st *store.Store, q string, args ...any) map[string]int64 {
	t.Helper()
	rows, err := st.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func sqlInt(t *testing.T, st *store.Store, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := st.Get(context.Background(), &n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The issue's acceptance case: `karkas report hours --client X --format
// html` on the demo renders a report whose numbers match hand-written SQL
// over the store. The SQL below is written apart from the report package:
// it shares no code with it, only the definitions in the report's docs.
func TestReportOnDemo(t *testing.T) {
	t.Parallel()
	config, data := demoSetup(t, 1, 2000)
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "demo.db")
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": dbURL}
	if code, out, errOut := runCLI(t, env, "sync", "-c", config); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errOut)
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// October in each client's zone, as UTC bounds for the timestamp
	// columns (SQLite's julianday reads the stored offsets).
	cases := []struct {
		client, from, to string // from, to: UTC instants of the zone's 1 Oct and 1 Nov 00:00
		budget           func(sept float64) float64
	}{
		{"acme", "2026-09-30 22:00:00", "2026-10-31 23:00:00", func(float64) float64 { return 60 }},
		{"betta", "2026-09-30 21:00:00", "2026-10-31 21:00:00", func(sept float64) float64 { return 40 + max(0, 40-sept) }},
		{"cobalt", "2026-10-01 04:00:00", "2026-11-01 04:00:00", func(float64) float64 { return 80 }},
	}
	for _, tc := range cases {
		t.Run(tc.client, func(t *testing.T) {
			out := filepath.Join(dir, tc.client+".html")
			code, stdout, errOut := runCLI(t, env, "report", "hours", "-c", config, "--client", tc.client, "--period", "2026-10",
				"--format", "html", "--out", out, "--at", demoAt)
			if code != exitOK || stdout != "" || !strings.Contains(errOut, "wrote "+out) {
				t.Fatalf("report: %d\n%s%s", code, stdout, errOut)
			}
			page, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := htmlNumbers(t, page)
			seconds := func(k string) int64 {
				t.Helper()
				a, ok := got[k]
				if !ok {
					t.Errorf("the page has no %s", k)
					return -1
				}
				n, err := strconv.ParseInt(a["data-seconds"], 10, 64)
				if err != nil {
					t.Errorf("%s: data-seconds %q", k, a["data-seconds"])
				}
				// What the reader sees is the same number, in hours, in the
				// client's language (Бетта Строй's is Russian: a decimal comma).
				want := fmt.Sprintf("%.1f", float64(n)/3600)
				if tc.client == "betta" {
					want = strings.Replace(want, ".", ",", 1)
				}
				if !strings.Contains(a["text"], want) {
					t.Errorf("%s shows %q, want %s h", k, a["text"], want)
				}
				return n
			}
			count := func(k string) int64 {
				t.Helper()
				n, err := strconv.ParseInt(got[k]["data-count"], 10, 64)
				if err != nil {
					t.Errorf("%s: data-count %q", k, got[k]["data-count"])
				}
				return n
			}
			entries := `FROM time_entries e WHERE e.deleted_at IS NULL AND e.client_id = ? AND e.entry_date BETWEEN '2026-10-01' AND '2026-10-31'`
			total := sqlInt(t, st, `SELECT COALESCE(SUM(e.seconds), 0) `+entries, tc.client)
			billable := sqlInt(t, st, `SELECT COALESCE(SUM(e.seconds), 0) `+entries+` AND e.billable`, tc.client)
			if total == 0 || seconds("total") != total || seconds("billable") != billable || seconds("budget-used") != billable {
				t.Errorf("total %d, billable %d s: the page says %v, %v", total, billable, got["total"], got["billable"])
			}
			for cat, s := range sqlSums(t, st, `SELECT e.category, SUM(e.seconds) `+entries+` GROUP BY e.category`, tc.client) {
				if g := seconds("category:" + cat); g != s {
					t.Errorf("category %s: page %d s, SQL %d s", cat, g, s)
				}
			}
			people := sqlSums(t, st, `SELECT e.person_id, SUM(e.seconds) `+entries+` GROUP BY e.person_id`, tc.client)
			if len(people) < 2 {
				t.Errorf("only %d people logged time", len(people))
			}
			for p, s := range people {
				if g := seconds("person:" + p); g != s {
					t.Errorf("person %s: page %d s, SQL %d s", p, g, s)
				}
			}
			tasks := sqlSums(t, st, `SELECT COALESCE(t.source_id || '/' || t.external_id, '/'), SUM(e.seconds)
				FROM time_entries e LEFT JOIN tasks t ON t.source_id = e.task_source_id AND t.external_id = e.task_id AND t.deleted_at IS NULL
				WHERE e.deleted_at IS NULL AND e.client_id = ? AND e.entry_date BETWEEN '2026-10-01' AND '2026-10-31'
				GROUP BY 1`, tc.client)
			for k, s := range tasks {
				if g := seconds("task:" + k); g != s {
					t.Errorf("task %s: page %d s, SQL %d s", k, g, s)
				}
			}
			if n := strings.Count(string(page), `data-k="task:`); n != len(tasks) {
				t.Errorf("the page lists %d tasks, SQL %d", n, len(tasks))
			}
			oos := sqlInt(t, st, `SELECT COALESCE(SUM(e.seconds), 0)
				FROM time_entries e LEFT JOIN tasks t ON t.source_id = e.task_source_id AND t.external_id = e.task_id AND t.deleted_at IS NULL
				WHERE e.deleted_at IS NULL AND e.client_id = ? AND e.entry_date BETWEEN '2026-10-01' AND '2026-10-31'
				  AND (lower(COALESCE(t.labels, '')) LIKE '%"out of scope"%' OR e.tags LIKE '%"out-of-scope"%')`, tc.client)
			if oos == 0 || seconds("out-of-scope") != oos {
				t.Errorf("out of scope: SQL %d s, page %v", oos, got["out-of-scope"])
			}
			sept := float64(sqlInt(t, st, `SELECT COALESCE(SUM(seconds), 0) FROM time_entries WHERE deleted_at IS NULL AND client_id = ?
				AND billable AND entry_date BETWEEN '2026-09-01' AND '2026-09-30'`, tc.client)) / 3600
			if b, _ := strconv.ParseFloat(got["budget"]["data-hours"], 64); fmt.Sprintf("%.2f", b) != fmt.Sprintf("%.2f", tc.budget(sept)) {
				t.Errorf("budget %v h, want %.2f (September used %.2f h)", b, tc.budget(sept), sept)
			}

			inOct := `julianday(%s) >= julianday('` + tc.from + `') AND julianday(%s) < julianday('` + tc.to + `')`
			created := sqlInt(t, st, `SELECT COUNT(*) FROM tasks WHERE deleted_at IS NULL AND client_id = ? AND creator_side = 'client' AND `+
				fmt.Sprintf(inOct, "created_at", "created_at"), tc.client)
			if count("client-created") != created {
				t.Errorf("client-created: page %d, SQL %d", count("client-created"), created)
			}
			rework := sqlInt(t, st, `SELECT COUNT(DISTINCT c.task_id) FROM task_status_changes c
				JOIN tasks t ON t.source_id = c.source_id AND t.external_id = c.task_id AND t.deleted_at IS NULL
				WHERE c.deleted_at IS NULL AND c.client_id = ? AND c.from_status = 'review' AND c.to_status IN ('in_progress', 'todo', 'backlog')
				AND `+fmt.Sprintf(inOct, "c.at", "c.at"), tc.client)
			if count("rework") != rework {
				t.Errorf("rework: page %d, SQL %d", count("rework"), rework)
			}
			untracked := sqlInt(t, st, `SELECT COUNT(*) FROM tasks t WHERE t.deleted_at IS NULL AND t.client_id = ? AND t.status IN ('done', 'archived')
				AND EXISTS (SELECT 1 FROM task_status_changes c WHERE c.deleted_at IS NULL AND c.source_id = t.source_id AND c.task_id = t.external_id
				            AND c.to_status = 'done' AND `+fmt.Sprintf(inOct, "c.at", "c.at")+`)
				AND NOT EXISTS (SELECT 1 FROM time_entries e WHERE e.deleted_at IS NULL AND e.task_source_id = t.source_id AND e.task_id = t.external_id)`, tc.client)
			if count("done-untracked") != untracked {
				t.Errorf("done with no time: page %d, SQL %d", count("done-untracked"), untracked)
			}

			var replies []int64
			if err := st.Select(context.Background(), &replies, `SELECT business_seconds FROM sla_clocks WHERE client_id = ? AND policy = 'response'
				AND stopped_at IS NOT NULL AND `+fmt.Sprintf(inOct, "started_at", "started_at")+` ORDER BY business_seconds`, tc.client); err != nil {
				t.Fatal(err)
			}
			if len(replies) < 5 || count("sla-answered") != int64(len(replies)) {
				t.Fatalf("replies: page %d, SQL %d", count("sla-answered"), len(replies))
			}
			n := len(replies)
			median := replies[n/2]
			if n%2 == 0 {
				median = (replies[n/2-1] + replies[n/2]) / 2
			}
			p90 := replies[int(float64(n)*0.9+0.999999)-1]
			if g, _ := strconv.ParseInt(got["sla-median"]["data-seconds"], 10, 64); g != median {
				t.Errorf("median reply: page %d s, SQL %d s", g, median)
			}
			if g, _ := strconv.ParseInt(got["sla-p90"]["data-seconds"], 10, 64); g != p90 {
				t.Errorf("90th percentile: page %d s, SQL %d s", g, p90)
			}
			breaches := sqlInt(t, st, `SELECT COUNT(*) FROM sla_clocks WHERE client_id = ? AND policy NOT IN ('hour_budget', 'untracked_work')
				AND breached_at IS NOT NULL AND `+fmt.Sprintf(inOct, "breached_at", "breached_at"), tc.client)
			if breaches == 0 || count("sla-breaches") != breaches {
				t.Errorf("breaches: page %d, SQL %d", count("sla-breaches"), breaches)
			}
			// Every bar of the chart: its week's billable seconds.
			bars := regexp.MustCompile(`data-k="chart" data-first="([0-9-]+)" data-seconds="(\d+)"`).FindAllStringSubmatch(string(page), -1)
			var sum int64
			for _, b := range bars {
				s, _ := strconv.ParseInt(b[2], 10, 64)
				sum += s
			}
			if len(bars) != 5 || sum != billable {
				t.Errorf("%d bars summing to %d s, want 5 weeks of October summing to %d s", len(bars), sum, billable)
			}
		})
	}

	t.Run("csv and json agree with SQL", func(t *testing.T) {
		code, out, errOut := runCLI(t, env, "report", "hours", "-c", config, "--client", "betta", "--period", "2026-10", "--format", "csv", "--at", demoAt)
		// Бетта Строй's CSV has Russian headers; its numbers keep a point.
		if code != exitOK || !strings.HasPrefix(out, "\ufeffдата,") {
			t.Fatalf("csv: %d %.80q %s", code, out, errOut)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		n := sqlInt(t, st, `SELECT COUNT(*) FROM time_entries WHERE deleted_at IS NULL AND client_id = 'betta' AND entry_date BETWEEN '2026-10-01' AND '2026-10-31'`)
		var sum int64
		for _, r := range rows[1:] {
			s, _ := strconv.ParseInt(r[12], 10, 64)
			sum += s
		}
		total := sqlInt(t, st, `SELECT SUM(seconds) FROM time_entries WHERE deleted_at IS NULL AND client_id = 'betta' AND entry_date BETWEEN '2026-10-01' AND '2026-10-31'`)
		if int64(len(rows)-1) != n || sum != total || !strings.Contains(out, "Бетта Строй") {
			t.Errorf("csv: %d rows, %d s; SQL %d entries, %d s", len(rows)-1, sum, n, total)
		}
		code, out, errOut = runCLI(t, env, "report", "hours", "-c", config, "--client", "betta", "--period", "2026-10", "--format", "json", "--at", demoAt)
		var r struct {
			Version int `json:"version"`
			Totals  struct {
				Seconds int64 `json:"seconds"`
			} `json:"totals"`
			Budget struct {
				Rollover bool `json:"rollover"`
			} `json:"budget"`
		}
		if code != exitOK || json.Unmarshal([]byte(out), &r) != nil || r.Version != 1 || r.Totals.Seconds != total || !r.Budget.Rollover {
			t.Errorf("json: %d %+v %s", code, r, errOut)
		}
	})

	t.Run("capacity", func(t *testing.T) {
		code, out, errOut := runCLI(t, env, "report", "capacity", "-c", config, "--period", "2026-11", "--format", "json", "--at", demoAt)
		if code != exitOK {
			t.Fatalf("capacity: %d\n%s", code, errOut)
		}
		var r struct {
			Complete bool    `json:"complete"`
			Elapsed  float64 `json:"elapsed"`
			People   []struct {
				ID            string  `json:"id"`
				Seconds       int64   `json:"seconds"`
				CapacityHours float64 `json:"capacity_hours"`
			} `json:"people"`
			Totals struct {
				CapacityHours float64 `json:"capacity_hours"`
				Answer        string  `json:"answer"`
			} `json:"totals"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		// November 2026 in Berlin: 21 workdays of 8 hours, no German
		// public holiday; 15 of them gone by Friday the 20th at 18:00.
		if r.Complete || r.Elapsed != 15.0/21 || len(r.People) != 5 || r.Totals.CapacityHours != 5*168 || !strings.HasPrefix(r.Totals.Answer, "Yes") {
			t.Errorf("capacity: %+v", r)
		}
		want := sqlSums(t, st, `SELECT person_id, SUM(seconds) FROM time_entries WHERE deleted_at IS NULL AND entry_date BETWEEN '2026-11-01' AND '2026-11-20' GROUP BY person_id`)
		for _, p := range r.People {
			if p.CapacityHours != 168 || p.Seconds != want[p.ID] || p.Seconds == 0 {
				t.Errorf("%s: %d s of %v h; SQL %d s", p.ID, p.Seconds, p.CapacityHours, want[p.ID])
			}
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"report", "hours", "-c", config},
			{"report", "hours", "-c", config, "--client", "nobody"},
			{"report", "hours", "-c", config, "--client", "acme", "--period", "2026-13"},
			{"report", "hours", "-c", config, "--client", "acme", "--period", "2026-W54"},
			{"report", "hours", "-c", config, "--client", "acme", "--period", "2026-10-15..2026-10-01"},
			{"report", "hours", "-c", config, "--client", "acme", "--format", "pdf"},
			{"report", "capacity", "-c", config, "--at", "yesterday"},
		} {
			if code, _, errOut := runCLI(t, env, args...); code != exitUsage || !strings.Contains(errOut, "karkas: ") {
				t.Errorf("%v: exit %d, want %d\n%s", args[2:], code, exitUsage, errOut)
			}
		}
		code, _, errOut := runCLI(t, env, "report", "hours", "-c", config, "--client", "nobody")
		if code != exitUsage || !strings.Contains(errOut, "known: acme, betta, cobalt") {
			t.Errorf("an unknown client: %s", errOut)
		}
	})

	t.Run("chromium", func(t *testing.T) {
		testReportInChromium(t, env, config, dir)
	})
}

// testReportInChromium renders the HTML reports in a real headless
// Chromium: screenshots at a phone's width (390) and a desktop's (1280)
// are PNGs of the window's size that are not blank, and printing to PDF
// gives a multi-page PDF. KARKAS_SCREENSHOTS=DIR keeps the images for a
// person to look at. With CI=true a missing Chromium fails the test
// (scripts/chromium.sh installs it).
func testReportInChromium(t *testing.T, env map[string]string, config, dir string) {
	browser := chromiumPath(t)
	keep := os.Getenv("KARKAS_SCREENSHOTS")
	pages := map[string][]string{
		"hours-betta": {"report", "hours", "--client", "betta", "--period", "2026-10"},
		"capacity":    {"report", "capacity", "--period", "2026-11"},
	}
	names := make([]string, 0, len(pages))
	for name := range pages {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		file := filepath.Join(dir, name+".html")
		args := append(pages[name], "-c", config, "--format", "html", "--at", demoAt, "--out", file)
		if code, out, errOut := runCLI(t, env, args...); code != exitOK {
			t.Fatalf("%s: %d\n%s%s", name, code, out, errOut)
		}
		run := func(extra ...string) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, browser, append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
				"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--user-data-dir=" + t.TempDir()}, append(extra, "file://"+file)...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("chromium %v: %v\n%s", extra, err, out)
			}
		}
		for _, width := range []int{390, 1280} {
			png := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width))
			run(fmt.Sprintf("--window-size=%d,2000", width), "--hide-scrollbars", "--screenshot="+png)
			checkScreenshot(t, png, width, 2000)
			if keep != "" {
				copyFile(t, png, filepath.Join(keep, filepath.Base(png)))
			}
		}
		pdf := filepath.Join(dir, name+".pdf")
		run("--no-pdf-header-footer", "--print-to-pdf="+pdf)
		body, err := os.ReadFile(pdf)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`/Count (\d+)`).FindSubmatch(body)
		if !bytes.HasPrefix(body, []byte("%PDF-")) || m == nil || string(m[1]) == "0" {
			t.Errorf("%s: not a PDF with pages (%d bytes)", pdf, len(body))
		}
		if keep != "" {
			copyFile(t, pdf, filepath.Join(keep, filepath.Base(pdf)))
		}
	}
}

// chromiumPath is the Chromium to test in. With CI=true a missing one
// fails the test (scripts/chromium.sh installs it); otherwise it skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed and CI=true: the browser test must run (scripts/chromium.sh installs it)")
	}
	t.Skip("chromium not installed (scripts/chromium.sh installs it)")
	return ""
}

// checkScreenshot decodes a PNG and checks its size and that it shows
// something: a blank or failed page is one or two colours.
func checkScreenshot(t *testing.T, path string, width, height int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Errorf("%s: %dx%d, want %dx%d", path, b.Dx(), b.Dy(), width, height)
	}
	colours := map[uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>11)<<10|(g>>11)<<5|bl>>11]++
		}
	}
	// The page's background is the commonest colour; text, bars and
	// borders must cover a real share of it.
	most := 0
	for _, n := range colours {
		most = max(most, n)
	}
	total := (b.Dx() / 2) * (b.Dy() / 2)
	if len(colours) < 20 || float64(total-most)/float64(total) < 0.05 {
		t.Errorf("%s looks blank: %d colours, %.1f%% not background", path, len(colours), 100*float64(total-most)/float64(total))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
