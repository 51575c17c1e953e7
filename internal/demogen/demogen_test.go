package demogen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
)

func generate(t *testing.T, seed uint64) (string, Stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := Generate(Options{Dir: dir, Scale: 1, Seed: seed})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, st
}

// readTree returns every file under dir by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	a, sa := generate(t, DefaultSeed)
	b, sb := generate(t, DefaultSeed)
	c, _ := generate(t, DefaultSeed+1)
	if sa != sb {
		t.Errorf("stats differ for the same seed:\n%+v\n%+v", sa, sb)
	}
	ta, tb, tc := readTree(t, a), readTree(t, b), readTree(t, c)
	if len(ta) != sa.Files {
		t.Errorf("wrote %d files, stats say %d", len(ta), sa.Files)
	}
	for name, data := range ta {
		if !bytes.Equal(data, tb[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if len(tb) != len(ta) {
		t.Errorf("same seed gave %d and %d files", len(ta), len(tb))
	}
	for _, name := range []string{"trello/acme.json", "trello/betta.json", "trello/cobalt.json", "time/everhour.csv", "mail/inbox.mbox", "mail/sent.mbox"} {
		if len(ta[name]) == 0 {
			t.Errorf("%s is missing or empty", name)
		}
		if bytes.Equal(ta[name], tc[name]) {
			t.Errorf("%s is the same for another seed", name)
		}
	}
}

func TestRegenerateRemovesStaleArchive(t *testing.T) {
	t.Parallel()
	dir, st := generate(t, DefaultSeed)
	stale := filepath.Join(dir, "mail", "archive", "1999-01-01-99999.eml")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	st2, err := Generate(Options{Dir: dir, Scale: 1, Seed: DefaultSeed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale archive file survived: %v", err)
	}
	if st != st2 {
		t.Errorf("regenerating changed the stats")
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := GenerateContext(ctx, Options{Dir: t.TempDir(), Scale: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if _, err := Generate(Options{}); err == nil {
		t.Error("no error without an output folder")
	}
}

// Decoded export, only the fields the tests look at.
type exportBoard struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Desc             string            `json:"desc"`
	Closed           bool              `json:"closed"`
	ShortLink        string            `json:"shortLink"`
	ShortURL         string            `json:"shortUrl"`
	URL              string            `json:"url"`
	DateLastActivity string            `json:"dateLastActivity"`
	LabelNames       map[string]string `json:"labelNames"`
	Prefs            map[string]any    `json:"prefs"`
	Actions          []struct {
		ID              string `json:"id"`
		IDMemberCreator string `json:"idMemberCreator"`
		Type            string `json:"type"`
		Date            string `json:"date"`
		Data            struct {
			Text           string `json:"text"`
			DateLastEdited string `json:"dateLastEdited"`
			Card           struct {
				ID        string          `json:"id"`
				Name      string          `json:"name"`
				IDShort   int             `json:"idShort"`
				ShortLink string          `json:"shortLink"`
				IDList    string          `json:"idList"`
				Closed    *bool           `json:"closed"`
				Due       json.RawMessage `json:"due"`
			} `json:"card"`
			Old *struct {
				IDList string          `json:"idList"`
				Closed *bool           `json:"closed"`
				Due    json.RawMessage `json:"due"`
			} `json:"old"`
			Board      struct{ ID, Name, ShortLink string } `json:"board"`
			List       *struct{ ID, Name string }           `json:"list"`
			ListBefore *struct{ ID, Name string }           `json:"listBefore"`
			ListAfter  *struct{ ID, Name string }           `json:"listAfter"`
		} `json:"data"`
		MemberCreator struct{ ID, Username, FullName, Initials string } `json:"memberCreator"`
	} `json:"actions"`
	Cards []struct {
		ID               string   `json:"id"`
		Name             string   `json:"name"`
		Desc             string   `json:"desc"`
		Closed           bool     `json:"closed"`
		IDList           string   `json:"idList"`
		IDBoard          string   `json:"idBoard"`
		IDLabels         []string `json:"idLabels"`
		Labels           []struct{ ID, IDBoard, Name, Color string }
		IDMembers        []string `json:"idMembers"`
		IDChecklists     []string `json:"idChecklists"`
		Due              *string  `json:"due"`
		DueComplete      bool     `json:"dueComplete"`
		ShortLink        string   `json:"shortLink"`
		ShortURL         string   `json:"shortUrl"`
		URL              string   `json:"url"`
		DateLastActivity string   `json:"dateLastActivity"`
		Pos              float64  `json:"pos"`
		IDShort          int      `json:"idShort"`
	} `json:"cards"`
	Labels []struct{ ID, IDBoard, Name, Color string } `json:"labels"`
	Lists  []struct {
		ID      string  `json:"id"`
		Name    string  `json:"name"`
		Closed  bool    `json:"closed"`
		Pos     float64 `json:"pos"`
		IDBoard string  `json:"idBoard"`
	} `json:"lists"`
	Members    []struct{ ID, Username, FullName, Initials string } `json:"members"`
	Checklists []struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		IDCard     string `json:"idCard"`
		IDBoard    string `json:"idBoard"`
		CheckItems []struct {
			ID, Name, State string
			Pos             float64
		}
	} `json:"checklists"`
	CustomFields []any `json:"customFields"`
}

func readBoard(t *testing.T, dir, key string) exportBoard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "trello", key+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var b exportBoard
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("decoding %s.json: %v", key, err)
	}
	return b
}

var (
	objectID  = regexp.MustCompile(`^[0-9a-f]{24}$`)
	shortLink = regexp.MustCompile(`^[A-Za-z0-9]{8}$`)
)

// idTime is the creation time an ObjectId carries.
func idTime(t *testing.T, id string) time.Time {
	t.Helper()
	secs, err := strconv.ParseInt(id[:8], 16, 64)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return time.Unix(secs, 0).UTC()
}

func parseTrello(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(trelloTime, s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return at
}

func TestBoardExports(t *testing.T) {
	t.Parallel()
	dir, st := generate(t, DefaultSeed)
	tests := []struct {
		key, id, shortLink, name string
		lists                    []string
		members                  []string
	}{
		{"acme", "64b0000000000000000a0001", "AcmeWb01", "Acme Foods — Website",
			[]string{"Backlog", "To Do", "Doing", "Review", "Waiting for client", "Done", "Old ideas"},
			[]string{"annapetrova", "borisivanov", "chloemartin", "dsokolov", "johncarter"}},
		{"betta", "64b0000000000000000a0002", "BettaMk2", "Бетта Строй — Маркетинг",
			[]string{"Бэклог", "К работе", "В работе", "На проверке", "Ждём клиента", "Готово", "Архив идей"},
			[]string{"annapetrova", "borisivanov", "chloemartin", "elenak", "olgasmirnova"}},
		{"cobalt", "64b0000000000000000a0003", "CobaltA3", "Cobalt Labs — App",
			[]string{"Backlog", "Sprint", "In Progress", "Code Review", "Blocked on Client", "Shipped", "Old ideas"},
			[]string{"borisivanov", "dsokolov", "mayachen"}},
	}
	allIDs := map[string]bool{}
	totalCards, totalActions := 0, 0
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			b := readBoard(t, dir, tt.key)
			if b.ID != tt.id || b.ShortLink != tt.shortLink || b.Name != tt.name {
				t.Errorf("board = %s %s %q, want %s %s %q", b.ID, b.ShortLink, b.Name, tt.id, tt.shortLink, tt.name)
			}
			if b.CustomFields == nil || b.Prefs == nil || b.LabelNames == nil {
				t.Error("customFields, prefs or labelNames missing")
			}
			var names []string
			listByID := map[string]string{}
			for i, l := range b.Lists {
				names = append(names, l.Name)
				listByID[l.ID] = l.Name
				if l.Closed != (i == lOldIdeas) || l.IDBoard != b.ID {
					t.Errorf("list %q: closed=%v idBoard=%s", l.Name, l.Closed, l.IDBoard)
				}
			}
			if !slices.Equal(names, tt.lists) {
				t.Errorf("lists = %q, want %q", names, tt.lists)
			}
			var users []string
			for _, m := range b.Members {
				users = append(users, m.Username)
			}
			if !slices.Equal(users, tt.members) {
				t.Errorf("members = %q, want %q", users, tt.members)
			}
			emptyLabel := false
			for _, l := range b.Labels {
				emptyLabel = emptyLabel || l.Name == ""
			}
			if !emptyLabel {
				t.Error("no label without a name")
			}

			cards := map[string]bool{}
			for _, c := range b.Cards {
				totalCards++
				if !objectID.MatchString(c.ID) || !shortLink.MatchString(c.ShortLink) || allIDs[c.ID] || allIDs[c.ShortLink] {
					t.Errorf("card %q: bad or repeated id %q / short link %q", c.Name, c.ID, c.ShortLink)
				}
				allIDs[c.ID], allIDs[c.ShortLink] = true, true
				cards[c.ID] = true
				if want := "https://trello.com/c/" + c.ShortLink + "/" + strconv.Itoa(c.IDShort) + "-"; !strings.HasPrefix(c.URL, want) {
					t.Errorf("card url %q, want prefix %q", c.URL, want)
				}
				if c.IDBoard != b.ID || listByID[c.IDList] == "" || len(c.IDLabels) != len(c.Labels) {
					t.Errorf("card %q: board %s, list %s, %d label ids for %d labels", c.Name, c.IDBoard, c.IDList, len(c.IDLabels), len(c.Labels))
				}
				if c.IDLabels == nil || c.IDMembers == nil || c.IDChecklists == nil {
					t.Errorf("card %q: null arrays", c.Name)
				}
				if c.Due != nil {
					parseTrello(t, *c.Due)
				}
			}
			for _, cl := range b.Checklists {
				if !cards[cl.IDCard] || cl.IDBoard != b.ID || len(cl.CheckItems) == 0 {
					t.Errorf("checklist %s: card %s, board %s, %d items", cl.ID, cl.IDCard, cl.IDBoard, len(cl.CheckItems))
				}
			}

			var prev time.Time
			created := map[string]time.Time{}
			for i, a := range b.Actions {
				totalActions++
				at := parseTrello(t, a.Date)
				if !objectID.MatchString(a.ID) || !idTime(t, a.ID).Equal(at.Truncate(time.Second)) {
					t.Errorf("action %s at %s: id does not carry the date", a.ID, a.Date)
				}
				if i > 0 && at.After(prev) {
					t.Fatalf("action %d (%s) is newer than the one before (%s): not newest first", i, a.Date, prev)
				}
				prev = at
				if at.Before(historyStart) || at.After(historyEnd) {
					t.Errorf("action %s at %s is outside the history", a.ID, a.Date)
				}
				if !cards[a.Data.Card.ID] || a.Data.Board.ID != b.ID || a.MemberCreator.ID != a.IDMemberCreator {
					t.Errorf("action %s: card %s board %s creator %s/%s", a.ID, a.Data.Card.ID, a.Data.Board.ID, a.IDMemberCreator, a.MemberCreator.ID)
				}
				switch {
				case a.Type == "createCard":
					created[a.Data.Card.ID] = at
					if a.Data.List == nil || !idTime(t, a.Data.Card.ID).Equal(at.Truncate(time.Second)) {
						t.Errorf("createCard %s: list %v, card id %s vs date %s", a.ID, a.Data.List, a.Data.Card.ID, a.Date)
					}
				case a.Type == "commentCard":
					if a.Data.Text == "" || a.Data.List == nil {
						t.Errorf("commentCard %s without text or list", a.ID)
					}
				case a.Type == "updateCard" && a.Data.ListAfter != nil:
					if a.Data.ListBefore == nil || a.Data.Old == nil || a.Data.Old.IDList != a.Data.ListBefore.ID || a.Data.Card.IDList != a.Data.ListAfter.ID {
						t.Errorf("move %s is inconsistent", a.ID)
					}
				case a.Type == "updateCard" && a.Data.Card.Closed != nil:
					if !*a.Data.Card.Closed || a.Data.Old == nil || a.Data.Old.Closed == nil || *a.Data.Old.Closed {
						t.Errorf("archive %s is inconsistent", a.ID)
					}
				case a.Type == "updateCard" && a.Data.Card.Due != nil:
					if a.Data.Old == nil || a.Data.Old.Due == nil {
						t.Errorf("due change %s without old.due", a.ID)
					}
				default:
					t.Errorf("unexpected action %s of type %s", a.ID, a.Type)
				}
			}
			// Every card has a createCard, except the two that predate
			// the history.
			if got := len(b.Cards) - len(created); got != 2 {
				t.Errorf("%d cards without createCard, want 2", got)
			}
			if last := parseTrello(t, b.DateLastActivity); len(b.Actions) > 0 && !last.Equal(parseTrello(t, b.Actions[0].Date)) {
				t.Errorf("dateLastActivity %s, newest action %s", b.DateLastActivity, b.Actions[0].Date)
			}
		})
	}
	if totalCards != st.Cards || totalActions != st.Actions {
		t.Errorf("files hold %d cards and %d actions, stats say %d and %d", totalCards, totalActions, st.Cards, st.Actions)
	}
}

func within(t *testing.T, what string, got, lo, hi int) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %d, want %d..%d", what, got, lo, hi)
	}
}

func hasCyrillic(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cyrillic, r) {
			return true
		}
	}
	return false
}

// TestRealism checks the shares the SLA engine and the reports need.
func TestRealism(t *testing.T) {
	t.Parallel()
	dir, st := generate(t, DefaultSeed)
	within(t, "cards", st.Cards, 140, 170)
	within(t, "archived cards", st.ArchivedCards, 4, 18)
	within(t, "comments", st.Comments, 150, 600)
	within(t, "time entries", st.TimeEntries, 1300, 1700)
	within(t, "emails", st.Emails, 250, 350)

	var cards, sentBack, noDesc, byClient, withDue, overdueOpen, stuck, edited, cyrillicComments int
	clients := map[string]bool{"5f1a00000000000000000006": true, "5f1a00000000000000000007": true, "5f1a00000000000000000008": true}
	end := historyEnd.UTC()
	for _, key := range []string{"acme", "betta", "cobalt"} {
		b := readBoard(t, dir, key)
		lists := map[string]int{}
		for i, l := range b.Lists {
			lists[l.ID] = i
		}
		back := map[string]bool{}
		entered := map[string]time.Time{}
		for i := len(b.Actions) - 1; i >= 0; i-- { // oldest first
			a := b.Actions[i]
			at := parseTrello(t, a.Date)
			switch {
			case a.Type == "createCard":
				if clients[a.IDMemberCreator] {
					byClient++
				}
			case a.Type == "commentCard":
				if a.Data.DateLastEdited != "" {
					edited++
				}
				if key == "betta" && hasCyrillic(a.Data.Text) {
					cyrillicComments++
				}
			case a.Data.ListAfter != nil:
				from, to := lists[a.Data.ListBefore.ID], lists[a.Data.ListAfter.ID]
				if from == lReview && to == lDoing {
					back[a.Data.Card.ID] = true
				}
				if from == lReview || from == lWaiting {
					if at.Sub(entered[a.Data.Card.ID]) > 5*24*time.Hour {
						stuck++
					}
				}
				entered[a.Data.Card.ID] = at
			}
		}
		sentBack += len(back)
		for _, c := range b.Cards {
			if lists[c.IDList] == lOldIdeas {
				continue
			}
			cards++
			if c.Desc == "" {
				noDesc++
			}
			if c.Due != nil {
				withDue++
				if parseTrello(t, *c.Due).Before(end) && lists[c.IDList] != lDone {
					overdueOpen++
				}
			}
		}
	}
	within(t, "cards sent back from review, %", sentBack*100/cards, 10, 22)
	within(t, "cards without description, %", noDesc*100/cards, 5, 16)
	within(t, "cards created by the client, %", byClient*100/cards, 9, 22)
	within(t, "cards with a due date, %", withDue*100/cards, 50, 70)
	within(t, "overdue open cards", overdueOpen, 3, 40)
	within(t, "waits of over 5 days in review or on the client", stuck, 3, 60)
	within(t, "edited comments", edited, 1, 40)
	within(t, "Cyrillic comments on Betta's board", cyrillicComments, 20, 400)

	// Hours per board and month, from the CSV.
	rows := readCSV(t, dir)
	hours := map[string]int{}
	for _, r := range rows[1:] {
		hours[r[4]+" "+r[0][:7]] += minutesOf(t, r[9])
	}
	for _, m := range []string{"2026-09", "2026-10"} {
		within(t, "Acme hours in "+m, hours["Acme Foods — Website "+m]/60, 55, 65)
	}
	over := false
	for _, m := range []string{"2026-09", "2026-10"} {
		over = over || hours["Бетта Строй — Маркетинг "+m] > 40*60
	}
	if !over {
		t.Error("Betta never goes over its 40 h budget")
	}
	for _, m := range []string{"2026-08", "2026-09", "2026-10", "2026-11"} {
		if h := hours["Cobalt Labs — App "+m]; h >= 80*60 {
			t.Errorf("Cobalt logged %d min in %s, should stay under its 80 h", h, m)
		}
	}
}

func readCSV(t *testing.T, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "time", "everhour.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = len(everhourHeader)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parsing CSV: %v", err)
	}
	return rows
}

var hmm = regexp.MustCompile(`^(\d+):([0-5]\d)$`)

func minutesOf(t *testing.T, s string) int {
	t.Helper()
	m := hmm.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("time %q is not H:MM", s)
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	return h*60 + mm
}

func TestTimeCSV(t *testing.T) {
	t.Parallel()
	dir, st := generate(t, DefaultSeed)
	raw, err := os.ReadFile(filepath.Join(dir, "time", "everhour.csv"))
	if err != nil {
		t.Fatal(err)
	}
	const header = "Date,Member,Email,Client,Project,Task,Task ID,Tags,Comment,Time,Billable\r\n"
	if !bytes.HasPrefix(raw, []byte(header)) {
		t.Fatalf("header is %q", raw[:min(len(raw), 120)])
	}
	rows := readCSV(t, dir)
	if len(rows)-1 != st.TimeEntries {
		t.Errorf("%d rows, stats say %d", len(rows)-1, st.TimeEntries)
	}
	ids := map[string]bool{}
	for _, key := range []string{"acme", "betta", "cobalt"} {
		for _, c := range readBoard(t, dir, key).Cards {
			ids["tr:"+c.ID], ids["tr:"+c.ShortLink] = true, true
		}
	}
	emails := map[string]string{}
	for _, p := range people {
		emails[p.name] = p.email
	}
	tags := map[string]bool{"communication": true, "meeting": true, "out-of-scope": true, "rework": true}
	var byID, byLink, noTask, linked, tagged int
	prevKey := ""
	for i, r := range rows[1:] {
		date, member, email, client, project, taskID := r[0], r[1], r[2], r[3], r[4], r[6]
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			t.Fatalf("row %d: date %q", i+2, date)
		}
		if key := date + "\x00" + member; key < prevKey {
			t.Fatalf("row %d (%s %s) is out of order", i+2, date, member)
		} else {
			prevKey = key
		}
		if emails[member] != email {
			t.Errorf("row %d: %s has email %q", i+2, member, email)
		}
		minutesOf(t, r[9])
		if r[10] != "yes" && r[10] != "no" {
			t.Errorf("row %d: billable %q", i+2, r[10])
		}
		if r[7] != "" {
			tagged++
			for _, tag := range strings.Split(r[7], ", ") {
				if !tags[tag] {
					t.Errorf("row %d: unknown tag %q", i+2, tag)
				}
			}
		}
		if project == internalProject {
			if client != "" || r[10] != "no" || taskID != "" {
				t.Errorf("row %d: internal time with client %q, billable %q, task %q", i+2, client, r[10], taskID)
			}
			continue
		}
		linked++
		switch {
		case taskID == "":
			noTask++
		case !ids[taskID]:
			t.Errorf("row %d: task id %q is no card", i+2, taskID)
		case len(taskID) == len("tr:")+24:
			byID++
		default:
			byLink++
		}
	}
	within(t, "card-id task ids, %", byID*100/linked, 50, 70)
	within(t, "short-link task ids, %", byLink*100/linked, 20, 40)
	within(t, "rows without a card, %", noTask*100/linked, 4, 18)
	if tagged*2 > len(rows) {
		t.Errorf("%d of %d rows have tags, most should have none", tagged, len(rows)-1)
	}
}

// mboxMessages splits an mboxrd file at its "From " lines and undoes the
// ">From " quoting.
func mboxMessages(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var cur *bytes.Buffer
	quoted := regexp.MustCompile(`^>+From `)
	for line := range bytes.Lines(data) {
		if bytes.HasPrefix(line, []byte("From ")) {
			if cur != nil {
				out = append(out, cur.Bytes())
			}
			cur = &bytes.Buffer{}
			continue
		}
		if cur == nil {
			t.Fatalf("%s does not start with a From line", path)
		}
		if quoted.Match(line) {
			line = line[1:]
		}
		cur.Write(line)
	}
	if cur != nil {
		out = append(out, cur.Bytes())
	}
	return out
}

type parsedMail struct {
	where   string
	header  mail.Header
	subject string
	texts   []string // decoded text parts
	attach  int
	charset string // of the top-level entity
	media   string
}

func parseMail(raw []byte) (*parsedMail, error) {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	p := &parsedMail{header: mr.Header}
	p.media, _, _ = mr.Header.ContentType()
	_, params, _ := mime.ParseMediaType(mr.Header.Get("Content-Type"))
	p.charset = strings.ToLower(params["charset"])
	if p.subject, err = mr.Header.Subject(); err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			return nil, err
		}
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			if ct, _, _ := h.ContentType(); strings.HasPrefix(ct, "text/") {
				p.texts = append(p.texts, string(body))
			}
		case *mail.AttachmentHeader:
			if _, err := h.Filename(); err != nil {
				return nil, err
			}
			p.attach++
		}
	}
	return p, nil
}

func TestMail(t *testing.T) {
	t.Parallel()
	dir, st := generate(t, DefaultSeed)
	var all []*parsedMail
	var broken []string
	add := func(where string, raw []byte) {
		p, err := parseMail(raw)
		if err != nil {
			broken = append(broken, where+": "+err.Error())
			return
		}
		p.where = where
		all = append(all, p)
	}
	inbox := mboxMessages(t, filepath.Join(dir, "mail", "inbox.mbox"))
	sent := mboxMessages(t, filepath.Join(dir, "mail", "sent.mbox"))
	if len(inbox) != st.InboxMessages || len(sent) != st.SentMessages {
		t.Errorf("mboxes hold %d and %d messages, stats say %d and %d", len(inbox), len(sent), st.InboxMessages, st.SentMessages)
	}
	for i, raw := range inbox {
		add("inbox#"+strconv.Itoa(i+1), raw)
	}
	for i, raw := range sent {
		add("sent#"+strconv.Itoa(i+1), raw)
	}
	emls, err := filepath.Glob(filepath.Join(dir, "mail", "archive", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(emls) != st.ArchiveFiles || len(emls) == 0 {
		t.Errorf("%d .eml files, stats say %d", len(emls), st.ArchiveFiles)
	}
	for _, path := range emls {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		add("archive/"+filepath.Base(path), raw)
	}
	if len(broken) != 1 || !strings.HasPrefix(broken[0], "archive/") || !strings.Contains(broken[0], "malformed") {
		t.Errorf("want exactly the one malformed archive message to fail, got %q", broken)
	}

	ids := map[string]bool{}
	for _, p := range all {
		id, err := p.header.MessageID()
		if err != nil || id == "" {
			t.Errorf("%s: message id %q: %v", p.where, id, err)
		}
		ids[id] = true
	}
	if len(ids)+len(broken) != st.Emails {
		t.Errorf("%d distinct message ids (+%d broken), stats say %d emails", len(ids), len(broken), st.Emails)
	}
	links := map[string]string{} // short link -> board domain
	for _, key := range []string{"acme", "betta", "cobalt"} {
		for _, c := range readBoard(t, dir, key).Cards {
			links[c.ShortLink] = key
		}
	}
	domains := map[string]string{"acmefoods.com": "acme", "bettastroy.ru": "betta", "cobaltlabs.io": "cobalt"}
	cardLink := regexp.MustCompile(`https://trello\.com/c/([A-Za-z0-9]{8})`)

	var legacy, bettaMail, htmlOnly, alternative, attachments, linked, vacation, exchangeOOF, newsletter, bounce, replies, orphans int
	for _, p := range all {
		from, _ := p.header.AddressList("From")
		to, _ := p.header.AddressList("To")
		client := ""
		for _, a := range append(from, to...) {
			if d := domains[a.Address[strings.IndexByte(a.Address, '@')+1:]]; d != "" {
				client = d
			}
		}
		if client == "betta" {
			bettaMail++
		}
		if p.charset == "windows-1251" || p.charset == "koi8-r" {
			legacy++
			if client != "betta" {
				t.Errorf("%s: %s mail outside Betta", p.where, p.charset)
			}
			if !hasCyrillic(p.subject) || len(p.texts) == 0 || !hasCyrillic(p.texts[0]) {
				t.Errorf("%s: %s message does not decode to Cyrillic: %q", p.where, p.charset, p.subject)
			}
		}
		switch p.media {
		case "text/html":
			htmlOnly++
		case "multipart/alternative":
			alternative++
		}
		attachments += p.attach
		hasLink := false
		for _, text := range p.texts {
			for _, m := range cardLink.FindAllStringSubmatch(text, -1) {
				hasLink = true
				if links[m[1]] != client {
					t.Errorf("%s: mail of %q links card %s of %q", p.where, client, m[1], links[m[1]])
				}
			}
		}
		if hasLink {
			linked++
		}
		if p.header.Get("Auto-Submitted") == "auto-replied" && from[0].Address == "john.carter@acmefoods.com" {
			vacation++
		}
		if strings.HasPrefix(p.subject, "Automatic reply: ") && p.header.Get("Auto-Submitted") == "" {
			exchangeOOF++
		}
		if p.header.Get("List-Unsubscribe") != "" && p.header.Get("Precedence") == "bulk" {
			newsletter++
		}
		if p.header.Get("Return-Path") == "<>" && strings.HasPrefix(p.header.Get("From"), "MAILER-DAEMON@") {
			bounce++
		}
		if parent := p.header.Get("In-Reply-To"); parent != "" {
			replies++
			if !ids[strings.Trim(parent, "<>")] {
				orphans++
			}
		}
	}
	if legacy == 0 || legacy*100/bettaMail < 8 || legacy*100/bettaMail > 25 {
		t.Errorf("%d of %d Betta messages in windows-1251/KOI8-R, want about 15%%", legacy, bettaMail)
	}
	within(t, "HTML-only messages", htmlOnly, 5, 100)
	within(t, "multipart/alternative messages", alternative, 50, 300)
	within(t, "attachments", attachments, 2, 40)
	within(t, "messages linking a card", linked, 10, 150)
	within(t, "replies", replies, 100, 300)
	within(t, "replies to unknown messages", orphans, 0, 0)
	for name, n := range map[string]int{"vacation auto-reply": vacation, "Exchange auto-reply": exchangeOOF, "bounce": bounce} {
		if n != 1 {
			t.Errorf("%d %s messages, want 1", n, name)
		}
	}
	within(t, "newsletters", newsletter, 10, 14)
	// Agency replies cc'd to a colleague are in both mailboxes.
	inInbox := map[string]bool{}
	for _, raw := range inbox {
		if p, err := parseMail(raw); err == nil {
			id, _ := p.header.MessageID()
			inInbox[id] = true
		}
	}
	both := 0
	for _, raw := range sent {
		if p, err := parseMail(raw); err == nil {
			id, _ := p.header.MessageID()
			if inInbox[id] {
				both++
			}
		}
	}
	within(t, "messages in both mailboxes", both, 5, 100)
}

// TestMailReplyTimes checks that client mail is mostly answered within a
// few hours, sometimes late and sometimes never, by reading the plans.
func TestMailReplyTimes(t *testing.T) {
	t.Parallel()
	g := &mailGen{seed: DefaultSeed, r: newRnd(DefaultSeed, "mail", 0), ids: map[string]bool{}, cards: make([][]*card, len(boards))}
	g.planThreads(1)
	answered := map[*mailMsg]time.Time{}
	for _, m := range g.msgs {
		if m.parent != nil && people[m.from].agency && !people[m.parent.from].agency {
			answered[m.parent] = m.at
		}
	}
	var fast, late, never, total int
	for _, m := range g.msgs {
		if people[m.from].agency || m.at.After(historyEnd.AddDate(0, 0, -7)) {
			continue
		}
		total++
		at, ok := answered[m]
		switch {
		case !ok:
			never++
		case at.Sub(m.at) <= 28*time.Hour: // 4 business hours may span a night
			fast++
		default:
			late++
		}
	}
	if fast*2 < total || late == 0 || never == 0 {
		t.Errorf("of %d client mails: %d answered fast, %d late, %d never", total, fast, late, never)
	}
}

// TestBusinessTime pins the calendar arithmetic the history is built on.
func TestBusinessTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		from time.Time
		add  time.Duration
		want time.Time
	}{
		{"same day", time.Date(2026, 9, 14, 10, 0, 0, 0, berlin), 2 * time.Hour, time.Date(2026, 9, 14, 12, 0, 0, 0, berlin)},
		{"over the evening", time.Date(2026, 9, 14, 17, 0, 0, 0, berlin), 2 * time.Hour, time.Date(2026, 9, 15, 10, 0, 0, 0, berlin)},
		{"over the weekend", time.Date(2026, 9, 18, 17, 30, 0, 0, berlin), time.Hour, time.Date(2026, 9, 21, 9, 30, 0, 0, berlin)},
		{"from a Sunday", time.Date(2026, 9, 20, 12, 0, 0, 0, berlin), 0, time.Date(2026, 9, 21, 9, 0, 0, 0, berlin)},
		{"over the DST change", time.Date(2026, 10, 23, 17, 0, 0, 0, berlin), 2 * time.Hour, time.Date(2026, 10, 26, 10, 0, 0, 0, berlin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := bizAdd(tt.from, berlin, tt.add); !got.Equal(tt.want) {
				t.Errorf("bizAdd = %s, want %s", got, tt.want)
			}
		})
	}
	if n := len(workdays()); n != 65 {
		t.Errorf("%d workdays in the history, want 65", n)
	}
}

func TestSlug(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"english", "Homepage: redesign hero section", "homepage-redesign-hero-section"},
		{"russian", "Пост ВКонтакте: сделать сторис", "post-vkontakte-sdelat-storis"},
		{"emoji and quotes", "🔥 Hotfix: Лендинг «Дома из бруса»", "hotfix-lending-doma-iz-brusa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := slug(tt.in); got != tt.want {
				t.Errorf("slug(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// The mbox writer must quote every line that a reader would take for a
// message separator.
func TestMboxQuoting(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.mbox")
	mb, err := newMbox(path)
	if err != nil {
		t.Fatal(err)
	}
	mb.add("a@b.c", time.Date(2026, 9, 4, 8, 5, 3, 0, time.UTC), []byte("Subject: x\r\n\r\nFrom here\r\n>From there\r\nFromage\r\n"))
	if err := mb.close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "From a@b.c Fri Sep  4 08:05:03 2026\nSubject: x\n\n>From here\n>>From there\nFromage\n\n"
	if string(got) != want {
		t.Errorf("mbox =\n%q\nwant\n%q", got, want)
	}
	sc := bufio.NewScanner(bytes.NewReader(got))
	seps := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "From ") {
			seps++
		}
	}
	if seps != 1 {
		t.Errorf("%d separator lines, want 1", seps)
	}
}
