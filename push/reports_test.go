package push

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
	"github.com/karkas/karkas/web"
)

const reportRouting = `  sinks:
    mail: {kind: email, options: {host: "${SMTP_HOST}", port: "${SMTP_PORT}", tls: none, from: reports@northwind.agency}}
    cards: {kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}"}}
  reports:
    - {report: hours, period: month, sinks: [mail, cards], to: [contacts, pm], clients: [all]}
`

// newReportWorld is a world whose client has the Trello board and whose
// calendar makes Monday 3 August 2026 a holiday: the first business day
// of August is Tuesday the 4th (Saturday 1st, Sunday 2nd, holiday 3rd).
func newReportWorld(t *testing.T, dialect string) *world {
	t.Helper()
	w := newWorld(t, dialect, reportRouting)
	cfg := w.cfg.Config
	cfg.Clients[0].Boards = []string{w.board.ID}
	cal := cfg.Calendars["berlin"]
	cal.Holidays = []string{"2026-08-03"}
	cfg.Calendars["berlin"] = cal
	var err error
	if w.rules, err = evaluate.NewRules(cfg); err != nil {
		t.Fatal(err)
	}
	return w
}

// reportRows are the world's report deliveries.
func (w *world) reportRows() []store.OutboxRow {
	var out []store.OutboxRow
	for _, r := range w.rows() {
		if r.Kind == KindReport {
			out = append(out, r)
		}
	}
	return out
}

// comments counts the comments on the world's board, and the cards named
// name.
func (w *world) boardState(name string) (comments, cards int) {
	for _, a := range w.trello.World().Actions(w.board.ID) {
		if a.Type == "commentCard" {
			comments++
		}
	}
	for _, c := range w.trello.World().Cards(w.board.ID) {
		if c.Name == name {
			cards++
		}
	}
	return comments, cards
}

func TestScheduledReportOnFirstBusinessDay(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newReportWorld(t, dialect)
			berlin, _ := time.LoadLocation("Europe/Berlin")
			wk := w.worker("one")

			// Across the weekend and the holiday, and just before the
			// first business hour: nothing is due.
			for _, at := range []time.Time{
				time.Date(2026, 8, 1, 0, 0, 0, 0, berlin),
				time.Date(2026, 8, 1, 9, 0, 0, 0, berlin),
				time.Date(2026, 8, 3, 12, 0, 0, 0, berlin),
				time.Date(2026, 8, 4, 8, 59, 0, 0, berlin),
			} {
				w.clock.AdvanceTo(at)
				w.run(wk)
				if rows := w.reportRows(); len(rows) != 0 {
					t.Fatalf("at %s: %d report deliveries queued, want none before Tue 4 Aug 09:00: %+v", at, len(rows), rows)
				}
			}

			w.clock.AdvanceTo(time.Date(2026, 8, 4, 9, 0, 0, 0, berlin))
			rep := w.run(wk)
			rows := w.reportRows()
			keys := map[string]string{}
			for _, r := range rows {
				keys[r.IdempotencyKey] = r.Status
			}
			want := map[string]string{"report:hours:acme:2026-07:mail": store.OutboxDelivered, "report:hours:acme:2026-07:cards": store.OutboxDelivered}
			if len(keys) != len(want) || keys["report:hours:acme:2026-07:mail"] != want["report:hours:acme:2026-07:mail"] ||
				keys["report:hours:acme:2026-07:cards"] != want["report:hours:acme:2026-07:cards"] {
				t.Fatalf("report deliveries %v (report %+v), want %v", keys, rep, want)
			}

			// The mail: to the contact and the PM, the report as HTML
			// with a text part.
			msgs := w.mail.Messages(t)
			if len(msgs) != 1 {
				t.Fatalf("%d mails, want 1", len(msgs))
			}
			m := w.mail.Message(t, msgs[0].ID)
			var to []string
			for _, a := range m.To {
				to = append(to, a.Address)
			}
			if got := strings.Join(to, ","); got != "john@acme.example,anna@northwind.agency" {
				t.Errorf("mail to %s", got)
			}
			if !strings.Contains(m.Subject, "Acme Foods") || !strings.Contains(m.Subject, "July 2026") {
				t.Errorf("subject %q", m.Subject)
			}
			if !strings.Contains(m.HTML, "<svg") || !strings.Contains(m.Text, "Acme Foods") {
				t.Errorf("the mail is not the report: html %d bytes, text %q", len(m.HTML), m.Text)
			}

			// The card: one pinned card with one comment.
			if comments, cards := w.boardState(mapping.DefaultReportCard); comments != 1 || cards != 1 {
				t.Errorf("board: %d comments, %d %q cards; want 1 and 1", comments, cards, mapping.DefaultReportCard)
			}

			// A second sync, later the same month, queues and sends
			// nothing.
			w.clock.Advance(26 * time.Hour)
			rep = w.run(wk)
			if n := len(w.reportRows()); n != 2 || rep.Delivered != 0 {
				t.Errorf("the second sync: %d report deliveries, report %+v", n, rep)
			}
			if len(w.mail.Messages(t)) != 1 {
				t.Errorf("a second mail")
			}

			// September's report goes on the same card.
			w.clock.AdvanceTo(time.Date(2026, 9, 1, 10, 0, 0, 0, berlin))
			w.run(wk)
			if comments, cards := w.boardState(mapping.DefaultReportCard); comments != 2 || cards != 1 {
				t.Errorf("after September: %d comments, %d cards; want 2 and 1", comments, cards)
			}
		})
	}
}

// A worker killed between Trello's answer and the record: the repeat
// finds the card by its marker and the comment by the delivery's, and
// neither is made twice.
func TestScheduledReportKilled(t *testing.T) {
	t.Parallel()
	w := newReportWorld(t, testdb.Dialects[0])
	berlin, _ := time.LoadLocation("Europe/Berlin")
	w.clock.AdvanceTo(time.Date(2026, 8, 4, 10, 0, 0, 0, berlin))
	first := w.worker("first")
	killed := map[string]bool{}
	first.afterSink = func(row store.OutboxRow, res sinks.Result, err error) error {
		if err != nil {
			t.Errorf("%s failed: %v", row.IdempotencyKey, err)
		}
		if killed[row.IdempotencyKey] {
			return nil
		}
		killed[row.IdempotencyKey] = true
		return errKilled
	}
	// Each run is killed after one sink's answer; the lease of the
	// killed delivery keeps the next run to the other one.
	for range 2 {
		if _, err := first.Run(context.Background()); !errors.Is(err, errKilled) {
			t.Fatalf("the killed run returned %v", err)
		}
	}
	if len(killed) != 2 {
		t.Fatalf("killed after %d deliveries, want both", len(killed))
	}
	if comments, cards := w.boardState(mapping.DefaultReportCard); comments != 1 || cards != 1 {
		t.Fatalf("after the kills: %d comments, %d cards; want 1 and 1", comments, cards)
	}
	w.clock.Advance(DefaultLease + time.Second)
	rep := w.run(w.worker("second"))
	if rep.Delivered != 2 || rep.Existed != 1 {
		t.Errorf("the run after the kills: %+v, want 2 delivered, the card's found", rep)
	}
	if comments, cards := w.boardState(mapping.DefaultReportCard); comments != 1 || cards != 1 {
		t.Errorf("after the repeat: %d comments, %d cards; want 1 and 1", comments, cards)
	}
	if n := len(w.mail.Messages(t)); n != 1 {
		t.Errorf("%d mails, want 1 (one Message-ID)", n)
	}
	for _, r := range w.reportRows() {
		if r.Status != store.OutboxDelivered {
			t.Errorf("%s: %s %s", r.IdempotencyKey, r.Status, r.LastError)
		}
	}
}

// A report schedule with cabinet_link: the mail carries a link to the
// client's cabinet under serve.public_url, in both parts; the link opens
// Acme's cabinet in the web UI; the same delivery made again (a retry)
// carries the same link, not a second one.
func TestScheduledReportCarriesCabinetLink(t *testing.T) {
	t.Parallel()
	routing := strings.Replace(reportRouting, "clients: [all]}", "clients: [all], cabinet_link: 30d}", 1) +
		"serve:\n  public_url: https://karkas.example\n"
	w := newWorld(t, store.SQLite, routing)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	wk := w.worker("one")
	wk.CabinetLink = web.ReportLinker(w.st, w.cfg.Config)
	if wk.CabinetLink == nil {
		t.Fatal("no linker with serve.public_url set")
	}
	w.clock.AdvanceTo(time.Date(2026, 8, 4, 10, 0, 0, 0, berlin))
	w.run(wk)
	msgs := w.mail.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d mails, want 1", len(msgs))
	}
	m := w.mail.Message(t, msgs[0].ID)
	link := regexp.MustCompile(`https://karkas\.example/cabinet/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
	inText, inHTML := link.FindString(m.Text), link.FindString(m.HTML)
	if inText == "" || inText != inHTML {
		t.Fatalf("the mail's cabinet link: text %q, html %q\n%s", inText, inHTML, m.Text)
	}
	until := w.clock.Now().Add(30 * 24 * time.Hour).In(berlin).Format("2 January 2006")
	if !strings.Contains(m.Text, "opens until "+until) || !strings.Contains(m.HTML, "opens until "+until) {
		t.Errorf("the mail does not say the link opens until %s:\n%s", until, m.Text)
	}
	links, err := w.st.CabinetLinks(context.Background(), "acme")
	if err != nil || len(links) != 1 || !strings.HasPrefix(links[0].Note, "report report:hours:acme:2026-07:") {
		t.Fatalf("cabinet links: %+v %v", links, err)
	}

	// The link opens Acme's cabinet.
	ui, err := web.New(web.Options{Store: w.st, Config: w.cfg.Config, Calendars: mustCalendars(t, w.cfg.Config), Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(inText)
	rec := httptest.NewRecorder()
	ui.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.Path, nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Acme") {
		t.Fatalf("the mailed link: %d\n%.500s", rec.Code, rec.Body.String())
	}

	// The delivery made again carries the same link.
	again := sinks.Delivery{ID: links[0].Note[len("report "):], Message: sinks.Message{Kind: sinks.KindReport,
		Report: &sinks.Report{Name: mapping.ReportHours, Client: "acme", Period: "2026-07", CabinetLink: "30d"}}}
	if err := wk.makeReport(context.Background(), &again); err != nil {
		t.Fatal(err)
	}
	if got := link.FindString(again.Message.Report.Markdown); got != inText {
		t.Errorf("the delivery made again carries %q, want the first link %q", got, inText)
	}
	if links, _ := w.st.CabinetLinks(context.Background(), "acme"); len(links) != 1 {
		t.Errorf("%d cabinet links after the delivery was made again, want 1", len(links))
	}
}

func mustCalendars(t *testing.T, cfg *mapping.Config) map[string]*sla.Calendar {
	t.Helper()
	cals, err := evaluate.Calendars(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cals
}
