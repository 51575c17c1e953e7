package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/store"
)

// hostile is what a client writes into the title of every Acme card of
// the demo: markup, a mention of the whole board, a javascript: link, a
// fake delivery marker and a line break that would start a mail header.
const hostile = "<script>alert(1)</script> @board [click](javascript:alert(1)) [karkas:x]: # \r\nBcc: eve@evil.example — "

// demoRouting sends the demo's SLA transitions to every kind of target:
// comments and labels on the cards (a fake Trello holding the demo's
// boards), mail to a real SMTP server (Mailpit), issues in an ops
// repository (a fake GitHub), signed webhooks and files.
const demoRouting = `routing:
  sinks:
    cards: {kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}"}}
    mail: {kind: email, options: {host: "${SMTP_HOST}", port: "${SMTP_PORT}", tls: none, from: sla@northwind.agency, from_name: Northwind SLA}}
    ops: {kind: github, options: {token: "${GITHUB_TOKEN}", base_url: "${GITHUB_URL}", repo: northwind/ops}}
    hook: {kind: webhook, options: {url: "${HOOK_URL}", secret: "${HOOK_SECRET}"}}
    archive: {kind: file, options: {dir: "${ARCHIVE_DIR}"}}
  defaults:
    - {policies: [response, stage_limit], sink: cards, to: [assignee]}
    - {policies: [stage_limit], states: [breached], sink: mail, to: [pm]}
    - {policies: [due_date, untracked_work], states: [breached], sink: ops, to: [lead]}
    - {states: [breached], sink: hook}
    - {sink: archive}
`

// deliveredBySink reads a store's deliveries by sink; every one must be
// delivered.
func deliveredBySink(t *testing.T, dbURL string) map[string][]store.OutboxRow {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Deliveries(ctx, store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	bySink := map[string][]store.OutboxRow{}
	for _, r := range rows {
		if r.Status != store.OutboxDelivered {
			t.Errorf("delivery %d (%s) is %s, leased by %q: %s", r.ID, r.Sink, r.Status, r.LeaseOwner, r.LastError)
		}
		bySink[r.Sink] = append(bySink[r.Sink], r)
	}
	return bySink
}

// demoTargets are the fakes demoRouting's sinks point at: the demo's
// boards on a fake Trello, a real SMTP server (Mailpit), an ops repository
// on a fake GitHub, a webhook receiver and a folder.
type demoTargets struct {
	cards   *demoTrello
	mail    *mailtest.SMTPServer
	gw      *githubfake.World
	ops     githubfake.Repo
	gh      *githubfake.Server
	hook    *hookReceiver
	archive string
}

// newDemoTargets starts the targets and gives the demo config at config
// demoRouting.
func newDemoTargets(t *testing.T, config, data string) *demoTargets {
	t.Helper()
	d := &demoTargets{cards: newDemoTrello(t, data), mail: mailtest.Mailpit(t), gw: githubfake.NewWorld(nil),
		hook: newHookReceiver(t), archive: filepath.Join(t.TempDir(), "archive")}
	d.gw.AddUser("karkas-bot", "Karkas")
	d.ops = d.gw.AddRepo("northwind", "ops", true)
	d.gw.AddToken("ghp_demodeliver0001", "karkas-bot")
	d.gh = githubfake.New(t, githubfake.Options{World: d.gw, Limits: githubfake.Limits{PerHour: -1, PointsPerMinute: -1, CreatesPerMinute: -1}})
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(text), "\nrouting:\n")
	if i < 0 {
		t.Fatal("the demo config no longer has a routing: block to replace")
	}
	if err := os.WriteFile(config, []byte(string(text[:i+1])+demoRouting), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// env is what a sync of the demo data into dbURL needs to reach the
// targets.
func (d *demoTargets) env(data, dbURL string) map[string]string {
	return map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": dbURL,
		"TRELLO_URL": d.cards.url, "TRELLO_KEY": d.cards.fake.Key(), "TRELLO_TOKEN": d.cards.fake.Token(),
		"SMTP_HOST": d.mail.Host, "SMTP_PORT": strconv.Itoa(d.mail.Port),
		"GITHUB_URL": d.gh.URL(), "GITHUB_TOKEN": "ghp_demodeliver0001",
		"HOOK_URL": d.hook.srv.URL, "HOOK_SECRET": d.hook.secret, "ARCHIVE_DIR": d.archive}
}

// Issue 9's promise on the demo: karkas sync delivers to fakes of Trello
// and GitHub, a real SMTP server, a webhook receiver and a folder; a
// second sync delivers nothing new; and what clients wrote arrives
// escaped everywhere.
func TestDemoDeliverEverywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	config, data := demoSetup(t, 1, 2000)
	demoCards := makeHostile(t, filepath.Join(data, "trello", "acme.json"))

	d := newDemoTargets(t, config, data)
	cards, mail, gw, ops, hook, archive := d.cards, d.mail, d.gw, d.ops, d.hook, d.archive
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	env := d.env(data, dbURL)

	code, out, errOut := runCLI(t, env, "sync", "-c", config)
	if code != exitOK {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`deliveries: [1-9]\d* sent, 0 skipped, 0 to retry, 0 failed`).MatchString(out) {
		t.Fatalf("the first sync did not deliver everything:\n%s", out)
	}

	bySink := deliveredBySink(t, dbURL)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, s := range []string{"cards", "mail", "ops", "hook", "archive"} {
		t.Logf("%s: %d deliveries", s, len(bySink[s]))
		if len(bySink[s]) == 0 {
			t.Errorf("no delivery through %s", s)
		}
	}
	markdownBad := []string{"<script>", "@board", "](javascript:", "[karkas:x]", "\nBcc:"}
	// escaped checks text that must carry the hostile title, escaped.
	escaped := func(where, text string, bad ...string) {
		t.Helper()
		if !strings.Contains(text, "alert") {
			t.Errorf("%s: the card's title did not arrive:\n%s", where, text)
		}
		for _, b := range bad {
			if strings.Contains(text, b) {
				t.Errorf("%s holds %q:\n%s", where, b, text)
			}
		}
	}
	aboutAcmeCard := func(r store.OutboxRow) bool {
		var m sinks.Message
		if err := json.Unmarshal([]byte(r.Payload), &m); err != nil {
			t.Fatalf("delivery %d: %v", r.ID, err)
		}
		return len(m.Items) == 1 && demoCards[m.Items[0].Subject.ExternalID]
	}

	// Trello: each delivery's comment, with its marker, on the card the
	// store knows; the card's labels show its worst open clock.
	tc, err := trello.NewClient(trello.ClientOptions{BaseURL: cards.url, Key: cards.fake.Key(), Token: cards.fake.Token()})
	if err != nil {
		t.Fatal(err)
	}
	hostileComments, labelled := 0, 0
	checked := map[string]bool{}
	for _, r := range bySink["cards"] {
		var target sinks.Target
		if err := json.Unmarshal([]byte(r.Target), &target); err != nil || target.Card == "" {
			t.Fatalf("cards delivery %d names no card: %v %s", r.ID, err, r.Target)
		}
		if _, ok := cards.toFake[target.Card]; !ok {
			t.Fatalf("cards delivery %d is about %s, not a card of the demo", r.ID, target.Card)
		}
		acts, err := tc.CardActions(ctx, target.Card, "commentCard")
		if err != nil {
			t.Fatal(err)
		}
		var comment string
		for _, a := range acts {
			if strings.Contains(a.Data.Text, trello.Marker(r.IdempotencyKey)) {
				if comment != "" {
					t.Errorf("card %s holds two comments of delivery %s", target.Card, r.IdempotencyKey)
				}
				comment = a.Data.Text
			}
		}
		if comment == "" && !target.LabelsOnly {
			t.Errorf("card %s has no comment of delivery %s (%s)", target.Card, r.IdempotencyKey, r.ExternalRef)
		}
		if demoCards[target.Card] && comment != "" {
			hostileComments++
			escaped("trello comment", comment, markdownBad...)
		}
		if checked[target.Card] {
			continue
		}
		checked[target.Card] = true
		state, err := st.TaskClockState(ctx, "trello", target.Card)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"breached": {"SLA breached"}, "at_risk": {"SLA at risk"}}[state]
		got := cards.labels(t, target.Card)
		if !slices.Equal(got, want) {
			t.Errorf("card %s (clocks %q) has labels %q, want %q", target.Card, state, got, want)
		}
		labelled += len(got)
	}
	if labelled == 0 {
		t.Error("no card got an SLA label")
	}
	if hostileComments == 0 {
		t.Error("no comment on an Acme card: the escaping of titles went unchecked on Trello")
	}

	// Mail: one message per delivery, found by its Message-ID, from the
	// sink's address to the client's PM, with the delivery's headers.
	msgs := mail.Messages(t)
	if len(msgs) != len(bySink["mail"]) {
		t.Errorf("mailpit holds %d messages, %d mail deliveries", len(msgs), len(bySink["mail"]))
	}
	byMsgID := map[string]mailtest.MessageSummary{}
	for _, m := range msgs {
		byMsgID[m.MessageID] = m
	}
	pm := map[string]string{"acme": "anna@northwind.agency", "betta": "anna@northwind.agency", "cobalt": "boris@northwind.agency", "delta": "anna@northwind.agency"}
	hostileMails := 0
	for _, r := range bySink["mail"] {
		id, err := email.DeliveryMessageID(r.IdempotencyKey, "sla@northwind.agency")
		if err != nil {
			t.Fatal(err)
		}
		s, ok := byMsgID[id]
		if !ok {
			t.Errorf("no mail with Message-ID %s (delivery %d)", id, r.ID)
			continue
		}
		m := mail.Message(t, s.ID)
		if m.From == nil || m.From.Address != "sla@northwind.agency" || m.From.Name != "Northwind SLA" ||
			len(m.To) != 1 || m.To[0].Address != pm[r.ClientID] || len(m.Cc)+len(m.Bcc)+len(m.Headers["Bcc"]) != 0 {
			t.Errorf("mail of delivery %d: from %+v to %+v cc %+v bcc %+v %v", r.ID, m.From, m.To, m.Cc, m.Bcc, m.Headers["Bcc"])
		}
		if h := m.Headers["X-Karkas-Delivery"]; len(h) != 1 || h[0] != r.IdempotencyKey {
			t.Errorf("mail of delivery %d: X-Karkas-Delivery %q", r.ID, h)
		}
		if h := m.Headers["X-Karkas-Client"]; len(h) != 1 || h[0] != r.ClientID {
			t.Errorf("mail of delivery %d: X-Karkas-Client %q, want %s", r.ID, h, r.ClientID)
		}
		if strings.ContainsAny(m.Subject, "\r\n") || m.Subject == "" {
			t.Errorf("mail of delivery %d: subject %q", r.ID, m.Subject)
		}
		if aboutAcmeCard(r) {
			hostileMails++
			escaped("mail html", m.HTML, "<script>", `href="javascript:`, "href=javascript:")
			escaped("mail subject", m.Subject, "\n")
			if !strings.Contains(m.HTML, "&lt;script&gt;") {
				t.Errorf("mail html does not show the escaped title:\n%s", m.HTML)
			}
		}
	}
	if hostileMails == 0 {
		t.Error("no mail about an Acme card: the escaping of titles went unchecked in mail")
	}

	// GitHub: an issue in the ops repository per delivery, carrying its
	// marker.
	issues := gw.Issues(ops.ID)
	if len(issues) != len(bySink["ops"]) {
		t.Errorf("%d issues in northwind/ops, %d ops deliveries", len(issues), len(bySink["ops"]))
	}
	hostileIssues := 0
	for _, r := range bySink["ops"] {
		var found *githubfake.Issue
		for i := range issues {
			if issues[i].Body != nil && strings.Contains(*issues[i].Body, github.Marker(r.IdempotencyKey)) {
				found = &issues[i]
			}
		}
		if found == nil {
			t.Errorf("no issue of delivery %d (%s)", r.ID, r.ExternalRef)
			continue
		}
		if !slices.Contains(found.Labels, "sla") || found.User != "karkas-bot" {
			t.Errorf("issue #%d: labels %q, by %s", found.Number, found.Labels, found.User)
		}
		if aboutAcmeCard(r) {
			hostileIssues++
			escaped("github issue body", *found.Body, markdownBad...)
			escaped("github issue title", found.Title, "@board", "\n")
		}
	}
	if hostileIssues == 0 {
		t.Error("no issue about an Acme card: the escaping of titles went unchecked on GitHub")
	}

	// Webhooks: every request signed (the receiver refuses others), one
	// per delivery, its webhook-id the delivery's.
	reqs, ids := hook.counts()
	if reqs != len(bySink["hook"]) || ids != reqs {
		t.Errorf("%d webhook requests with %d ids, %d hook deliveries", reqs, ids, len(bySink["hook"]))
	}
	for _, r := range bySink["hook"] {
		body, ok := hook.body(r.IdempotencyKey)
		if !ok {
			t.Errorf("no webhook with id %s", r.IdempotencyKey)
			continue
		}
		var ev struct {
			Type string
			Data sinks.Message
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type == "" || len(ev.Data.Items) == 0 {
			t.Errorf("webhook %s: %v\n%s", r.IdempotencyKey, err, body)
		}
		if bytes.Contains(body, []byte("<script>")) {
			t.Errorf("webhook %s carries raw markup:\n%s", r.IdempotencyKey, body)
		}
	}

	// Files: one JSON file per delivery.
	files, _ := filepath.Glob(filepath.Join(archive, "*.json"))
	if len(files) != len(bySink["archive"]) {
		t.Errorf("%d files, %d archive deliveries", len(files), len(bySink["archive"]))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		var ev struct{ Type string }
		if err != nil || json.Unmarshal(b, &ev) != nil || ev.Type == "" {
			t.Errorf("%s is not a delivery's JSON: %v\n%s", f, err, b)
		}
	}

	// A second sync delivers nothing new: the same counts at every target
	// and no new row in the outbox.
	counts := func() string {
		r, n := hook.counts()
		f, _ := filepath.Glob(filepath.Join(archive, "*"))
		return fmt.Sprintf("comments %d, labels %v, mails %d, issues %d, issue comments %d, webhooks %d/%d, files %d",
			cards.comments(), cards.allLabels(t), len(mail.Messages(t)), len(gw.Issues(ops.ID)), len(gw.Comments(ops.ID)), r, n, len(f))
	}
	_, list, _ := runCLI(t, env, "deliveries", "list", "-c", config, "--limit", "0")
	before := counts()
	code, out, errOut = runCLI(t, env, "sync", "-c", config)
	if code != exitOK || !strings.Contains(out, "deliveries: 0 sent") {
		t.Fatalf("second sync: exit %d\n%s\n%s", code, out, errOut)
	}
	if after := counts(); after != before {
		t.Errorf("the second sync changed the targets:\n before %s\n after  %s", before, after)
	}
	if _, again, _ := runCLI(t, env, "deliveries", "list", "-c", config, "--limit", "0"); again != list {
		t.Errorf("deliveries list changed after the second sync:\n%s\nwas:\n%s", again, list)
	}
	rows := 0
	for _, rs := range bySink {
		rows += len(rs)
	}
	if n := strings.Count(list, "\n") - 1; n != rows {
		t.Errorf("deliveries list shows %d rows, the store %d", n, rows)
	}
}

// makeHostile puts the hostile prefix in the title of every card of a
// Trello export (in its cards and in its actions) and returns the cards'
// ids.
func makeHostile(t *testing.T, path string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var export struct {
		Cards []struct{ ID, Name string }
	}
	if err := json.Unmarshal(raw, &export); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range export.Cards {
		ids[c.ID] = true
		from, _ := json.Marshal(c.Name)
		to, _ := json.Marshal(hostile + c.Name)
		raw = bytes.ReplaceAll(raw, append([]byte(`"name":`), from...), append([]byte(`"name":`), to...))
	}
	if !bytes.Contains(raw, []byte(`\u003cscript\u003e`)) {
		t.Fatalf("%s: no card title was changed", path)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return ids
}

// demoTrello is the fake Trello holding the demo's boards and cards,
// behind a proxy that shows the cards under their ids in the demo's
// exports: trellofake makes its own ids and cannot load an export.
type demoTrello struct {
	fake           *trellofake.Server
	url            string
	toFake, toDemo map[string]string
	boards         []string // fake board ids
}

func newDemoTrello(t *testing.T, data string) *demoTrello {
	t.Helper()
	d := &demoTrello{fake: trellofake.New(t, trellofake.Options{Limits: trellofake.Limits{Off: true}}),
		toFake: map[string]string{}, toDemo: map[string]string{}}
	w := d.fake.World()
	files, _ := filepath.Glob(filepath.Join(data, "trello", "*.json"))
	if len(files) == 0 {
		t.Fatal("the demo has no Trello exports")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var export struct {
			Name  string
			Lists []struct{ ID, Name string }
			Cards []struct{ ID, Name, IDList string }
		}
		if err := json.Unmarshal(raw, &export); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b := w.AddBoard(export.Name)
		d.boards = append(d.boards, b.ID)
		lists := map[string]string{}
		for _, l := range export.Lists {
			lists[l.ID] = w.AddList(b.ID, l.Name).ID
		}
		for _, c := range export.Cards {
			fc := w.CreateCard(w.Me().ID, lists[c.IDList], c.Name)
			d.toFake[c.ID], d.toDemo[fc.ID] = fc.ID, c.ID
		}
	}
	var pairs []string
	for f, demo := range d.toDemo {
		pairs = append(pairs, f, demo)
	}
	back := strings.NewReplacer(pairs...)
	target, _ := url.Parse(d.fake.BaseURL())
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: target.Scheme, Host: target.Host})
			parts := strings.Split(r.In.URL.Path, "/")
			for i, p := range parts {
				if id, ok := d.toFake[p]; ok {
					parts[i] = id
				}
			}
			r.Out.URL.Path, r.Out.URL.RawPath = strings.Join(parts, "/"), ""
			r.Out.Header.Del("Accept-Encoding") // bodies are rewritten below
		},
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			body = []byte(back.Replace(string(body)))
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	d.url = srv.URL + target.Path
	return d
}

// labels are the names of a card's labels, sorted.
func (d *demoTrello) labels(t *testing.T, demoCard string) []string {
	t.Helper()
	var card struct{ Labels []struct{ Name string } }
	q := url.Values{"fields": {"labels"}, "key": {d.fake.Key()}, "token": {d.fake.Token()}}
	resp, err := http.Get(d.fake.BaseURL() + "/cards/" + d.toFake[demoCard] + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reading card %s from the fake: %s", demoCard, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&card); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range card.Labels {
		out = append(out, l.Name)
	}
	slices.Sort(out)
	return out
}

// allLabels are the labels of every card that has one, by card.
func (d *demoTrello) allLabels(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for demo := range d.toFake {
		if l := d.labels(t, demo); len(l) > 0 {
			out[demo] = l
		}
	}
	return out
}

// comments counts the comments on every board.
func (d *demoTrello) comments() int {
	n := 0
	for _, b := range d.boards {
		for _, a := range d.fake.World().Actions(b) {
			if a.Type == "commentCard" {
				n++
			}
		}
	}
	return n
}

// hookReceiver is a webhook endpoint that accepts only requests signed
// the Standard Webhooks way with its secret.
type hookReceiver struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	reqs   int
	bodies map[string][]byte // by webhook-id
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	key := []byte("the demo receiver's shared key!!")
	h := &hookReceiver{secret: "whsec_" + base64.StdEncoding.EncodeToString(key), bodies: map[string][]byte{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		if err != nil || id == "" || r.Header.Get("webhook-signature") != sinks.Sign(key, id, ts, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.reqs++
		h.bodies[id] = body
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// counts are the signed requests received and their distinct ids.
func (h *hookReceiver) counts() (requests, ids int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reqs, len(h.bodies)
}

func (h *hookReceiver) body(id string) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.bodies[id]
	return b, ok
}
