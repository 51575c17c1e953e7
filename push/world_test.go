package push

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
)

// epoch is a Tuesday, 10:00 in Berlin: business hours.
var epoch = time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)

// The people and the client every test world has.
const worldConfig = `agency: {name: Northwind Digital, domains: [northwind.agency], calendar: berlin}
calendars:
  berlin: {time_zone: Europe/Berlin, hours: {mon-fri: ["09:00-18:00"]}}
people:
  - {id: anna, name: Anna Petrova, side: agency, role: pm, emails: [anna@northwind.agency], trello: [5f1a00000000000000000001, annapetrova], github: [anna-northwind]}
  - {id: boris, name: Boris Ivanov, side: agency, role: lead, emails: [boris@northwind.agency], trello: [borisivanov], github: [boris-northwind]}
  - {id: chloe, name: Chloé Martin, side: agency, role: specialist, emails: [chloe@northwind.agency], trello: [chloemartin]}
  - {id: john, name: John Carter, side: client, role: contact, client: acme, emails: [john@acme.example], trello: [johncarter]}
clients:
  - {id: acme, name: Acme Foods, contacts: [john], pm: anna, lead: boris, calendar: berlin}
sources:
  - {id: trello, kind: trello}
  - {id: gh, kind: github}
  - {id: mail, kind: mail_files}
`

// world is a store, a config, the fakes a config's sinks point at, and a
// clock they all share.
type world struct {
	t     *testing.T
	st    *store.Store
	clock *vclock.Virtual
	cfg   *mapping.Loaded
	rules *evaluate.Rules
	sinks map[string]sinks.Sink

	trello *trellofake.Server
	card   trellofake.Card
	board  trellofake.Board

	github   *githubfake.Server
	ops      githubfake.Repo
	site     githubfake.Repo
	siteIss  githubfake.Issue
	mail     *mailtest.SMTPServer
	hook     *receiver
	folder   string
	tokenGH  string
	variable map[string]string
}

// newWorld parses routing (the YAML under routing:) with the world's
// fakes in ${VARS}; only the fakes routing names are started.
func newWorld(t *testing.T, dialect, routing string) *world {
	t.Helper()
	w := &world{t: t, clock: vclock.NewVirtual(epoch), variable: map[string]string{}}
	w.st = testdb.Open(t, dialect)
	w.st.Now = func() time.Time { return w.clock.Now().UTC() }
	if strings.Contains(routing, "TRELLO_URL") {
		tw := trellofake.NewWorld(w.clock)
		w.trello = trellofake.New(t, trellofake.Options{World: tw})
		w.board = tw.AddBoard("Acme Website")
		list := tw.AddList(w.board.ID, "Doing")
		tw.AddMember(w.board.ID, "annapetrova", "Anna Petrova")
		w.card = tw.CreateCard(tw.Me().ID, list.ID, "Fix the banner")
		w.variable["TRELLO_URL"], w.variable["TRELLO_KEY"], w.variable["TRELLO_TOKEN"] = w.trello.BaseURL(), w.trello.Key(), w.trello.Token()
	}
	if strings.Contains(routing, "GITHUB_URL") {
		gw := githubfake.NewWorld(w.clock)
		w.github = githubfake.New(t, githubfake.Options{World: gw})
		gw.AddUser("anna-northwind", "Anna Petrova")
		gw.AddUser("boris-northwind", "Boris Ivanov")
		gw.AddUser("john-acme", "John Carter")
		w.ops = gw.AddRepo("northwind", "ops", true)
		w.site = gw.AddRepo("acme", "site", true)
		w.siteIss = gw.OpenIssue(w.site.ID, "john-acme", "Checkout is slow", "It takes 10 s.")
		w.tokenGH = "ghp_pushtoken0001"
		gw.AddToken(w.tokenGH, "anna-northwind")
		w.variable["GITHUB_URL"], w.variable["GITHUB_TOKEN"] = w.github.URL(), w.tokenGH
	}
	if strings.Contains(routing, "SMTP_PORT") {
		w.mail = mailtest.Mailpit(t, mailtest.MailpitIgnoreDuplicateIDs())
		w.variable["SMTP_HOST"], w.variable["SMTP_PORT"] = w.mail.Host, strconv.Itoa(w.mail.Port)
	}
	if strings.Contains(routing, "HOOK_URL") {
		w.hook = newReceiver(t)
		w.variable["HOOK_URL"], w.variable["HOOK_SECRET"] = w.hook.srv.URL, w.hook.secret
	}
	w.folder = t.TempDir()
	w.variable["FOLDER"] = w.folder
	w.configure(routing)
	w.addTasks()
	return w
}

// configure loads the world's config with routing (the YAML under
// routing:) and opens its sinks: what an admin's edit of the config does
// to the next run.
func (w *world) configure(routing string) {
	w.t.Helper()
	path := filepath.Join(w.t.TempDir(), "karkas.yaml")
	text := worldConfig + "routing:\n" + routing
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		w.t.Fatal(err)
	}
	l, err := mapping.Load(path, mapping.LoadOptions{Sinks: sinks.ConfigKinds(), LookupEnv: func(k string) (string, bool) {
		v, ok := w.variable[k]
		return v, ok
	}})
	if err != nil {
		w.t.Fatalf("config: %v\n%s", err, text)
	}
	w.cfg = l
	if w.rules, err = evaluate.NewRules(l.Config); err != nil {
		w.t.Fatal(err)
	}
	if w.sinks, err = Open(l, connectors.Env{BaseDir: l.BaseDir}); err != nil {
		w.t.Fatal(err)
	}
}

// addTasks stores the tasks notices are about: the Trello card (assigned
// to chloe) and the client's GitHub issue.
func (w *world) addTasks() {
	w.t.Helper()
	now := w.clock.Now().UTC()
	cardID, siteRepo, siteIssue := "card-1", "acme/site", 1
	if w.trello != nil {
		cardID = w.card.ID
	}
	if w.github != nil {
		siteRepo, siteIssue = w.site.FullName(), w.siteIss.Number
	}
	exec := func(q string, args ...any) {
		if _, err := w.st.Exec(context.Background(), w.st.Rebind(q), args...); err != nil {
			w.t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO containers (source_id, external_id, kind, name, client_id, raw, hash, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		"gh", "77", "repo", siteRepo, "acme", "{}", "h", now)
	exec(`INSERT INTO tasks (source_id, external_id, container_id, client_id, title, assignee_ids, created_at, url, raw, hash, synced_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, "trello", cardID, "b", "acme", "Fix the banner", `["chloe"]`, now,
		"https://trello.com/c/abc", "{}", "h", now)
	exec(`INSERT INTO tasks (source_id, external_id, container_id, client_id, title, assignee_ids, created_at, url, raw, hash, synced_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, "gh", fmt.Sprintf("77#%d", siteIssue), "77", "acme", "Checkout is slow", `[]`, now,
		"https://github.com/acme/site/issues/1", "{}", "h", now)
}

// cardClock is a clock of policy on the world's card.
func (w *world) cardClock(policy, state string) sla.Clock {
	cardID := "card-1"
	if w.trello != nil {
		cardID = w.card.ID
	}
	return w.clockOn(policy, state, sla.Subject{Kind: "task", Source: "trello", ExternalID: cardID, Title: "Fix the banner",
		URL: "https://trello.com/c/abc"})
}

func (w *world) clockOn(policy, state string, subj sla.Subject) sla.Clock {
	start := epoch.Add(-6 * time.Hour)
	c := sla.Clock{ID: sla.ClockID(policy, subj.Source, subj.ExternalID), Policy: policy, ClientID: "acme", State: state,
		Subject: subj, StartedAt: start, DueAt: start.Add(3 * time.Hour), BusinessElapsed: 4 * time.Hour}
	if state == sla.Breached || state == sla.Resolved {
		c.BreachedAt = c.DueAt
	}
	if state == sla.Met || state == sla.Resolved {
		c.StoppedAt = epoch.Add(-time.Hour)
	}
	return c
}

// queue stores clocks as an evaluation does, with the notifications they
// cause.
func (w *world) queue(clocks ...sla.Clock) store.ClockChanges {
	w.t.Helper()
	rows := make([]store.ClockRow, 0, len(clocks))
	byID := map[string]sla.Clock{}
	for _, c := range clocks {
		detail, _ := json.Marshal(map[string]string{"title": c.Subject.Title, "url": c.Subject.URL})
		opt := func(t time.Time) *time.Time {
			if t.IsZero() {
				return nil
			}
			return &t
		}
		rows = append(rows, store.ClockRow{ID: c.ID, Policy: c.Policy, ClientID: c.ClientID, SubjectKind: c.Subject.Kind,
			SubjectSourceID: c.Subject.Source, SubjectExternalID: c.Subject.ExternalID, State: c.State, StartedAt: c.StartedAt,
			WarnAt: opt(c.WarnAt), DueAt: opt(c.DueAt), BreachedAt: opt(c.BreachedAt), StoppedAt: opt(c.StoppedAt),
			BusinessSeconds: int64(c.BusinessElapsed / time.Second), Detail: string(detail)})
		byID[c.ID] = c
	}
	ch, err := w.st.SaveClocks(context.Background(), rows, func(old *store.ClockRow, c store.ClockRow) *store.Notification {
		from := ""
		if old != nil {
			from = old.State
		}
		if !entering(c.State) && !entering(from) {
			return nil
		}
		return &store.Notification{Kind: "sla_transition", Sink: store.OutboxRoute, Payload: notice(byID[c.ID], from)}
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return ch
}

// worker is a worker of the world named owner.
func (w *world) worker(owner string) *Worker {
	return &Worker{Store: w.st, Planner: &Planner{Config: w.cfg.Config, Calendars: w.rules, Sinks: w.sinks}, Sinks: w.sinks,
		Now: w.clock.Now, Owner: owner}
}

// run runs a worker and fails the test on an error.
func (w *world) run(wk *Worker) Report {
	w.t.Helper()
	rep, err := wk.Run(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// rows lists the outbox's deliveries (route rows aside), oldest first.
func (w *world) rows() []store.OutboxRow {
	w.t.Helper()
	rows, err := w.st.Deliveries(context.Background(), store.DeliveryFilter{})
	if err != nil {
		w.t.Fatal(err)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

// receiver is a webhook endpoint that checks the Standard Webhooks
// signature and dedupes on webhook-id, as receivers are asked to.
type receiver struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	// requests are every request's webhook-id and body, in order.
	requests []hookRequest
	// kept are the bodies kept, by webhook-id: the receiver's effect.
	kept   map[string][]byte
	status int
}

type hookRequest struct {
	ID   string
	Body []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("the receiver's shared secret!")), kept: map[string][]byte{}, status: 200}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	r.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
		n, _ := strconv.ParseInt(ts, 10, 64)
		if sig := req.Header.Get("webhook-signature"); sig != sinks.Sign(key, id, n, body) {
			http.Error(rw, "bad signature", http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests = append(r.requests, hookRequest{ID: id, Body: body})
		if r.status != 200 {
			http.Error(rw, "refused", r.status)
			return
		}
		if _, seen := r.kept[id]; !seen {
			r.kept[id] = body
		}
		rw.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) counts() (requests, kept int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests), len(r.kept)
}
