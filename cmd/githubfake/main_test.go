package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"all flags", []string{"-addr", "127.0.0.1:9000", "-seed", "7", "-issues", "5", "-days", "3", "-activity", "30s"}, true},
		{"no days", []string{"-days", "0"}, false},
		{"negative issues", []string{"-issues", "-1"}, false},
		{"negative activity", []string{"-activity", "-1s"}, false},
		{"stray argument", []string{"now"}, false},
		{"unknown flag", []string{"-kind", "github"}, false},
		{"fault", []string{"-fault", "rate_limited:route=/api/v3/repos/*/*/issues:times=-1:retry_after=60"}, true},
		{"bad fault", []string{"-fault", "rate_limited:times=0"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(c.args, io.Discard)
			if c.ok && err != nil {
				t.Errorf("%v: %v", c.args, err)
			}
			if !c.ok && !errors.Is(err, errUsage) {
				t.Errorf("%v: %v, want a usage error", c.args, err)
			}
		})
	}
}

// The agency is the same for a seed and believable: English and Russian
// titles and comments, issues of both sides, a bot's and the agency's
// pull requests, CI comments, closed issues, issues still waiting for an
// answer; nothing happens after now, and ids grow with time.
func TestAgency(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 18, 10, 30, 0, 0, time.UTC)
	a := newAgency(5, 30, 20, now)
	b := newAgency(5, 30, 20, now)
	c := newAgency(6, 30, 20, now)
	if a.summary() != b.summary() || a.summary() == c.summary() {
		t.Errorf("the seed does not decide the agency: %q, %q, %q", a.summary(), b.summary(), c.summary())
	}
	var cyrillic, english, byClient, byAgency, botPRs, closed, ci int
	for _, rp := range a.repos {
		var last int64
		for _, is := range a.w.Issues(rp.ID) {
			if !is.CreatedAt.Before(now) || is.UpdatedAt.After(now) {
				t.Errorf("%s#%d happens after now: %v, %v", rp.Name, is.Number, is.CreatedAt, is.UpdatedAt)
			}
			if is.ID <= last {
				t.Errorf("%s#%d: ids do not grow with time", rp.Name, is.Number)
			}
			last = is.ID
			switch {
			case strings.ContainsFunc(is.Title, isCyrillic):
				cyrillic++
			default:
				english++
			}
			switch {
			case is.User == bot:
				botPRs++
			case a.side[strings.ToLower(is.User)] != "":
				byClient++
			default:
				byAgency++
			}
			if is.State == "closed" {
				closed++
			}
		}
		for _, cm := range a.w.Comments(rp.ID) {
			if cm.User == ciAccount {
				ci++
			}
			if cm.UpdatedAt.After(now) {
				t.Errorf("comment %d after now", cm.ID)
			}
		}
	}
	for what, n := range map[string]int{"Russian titles": cyrillic, "English titles": english, "client issues": byClient,
		"agency issues": byAgency, "bot pull requests": botPRs, "closed issues": closed, "CI comments": ci, "waiting issues": len(a.waiting())} {
		if n == 0 {
			t.Errorf("no %s in %s", what, a.summary())
		}
	}
}

func isCyrillic(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }

// The path a new user takes: the printed config (with the printed token in
// the environment) loads with the source's options checked, validate
// --online's check finds nothing wrong, a pull reads every issue and
// comment of every client's repository, and after a round of activity the
// next pull finds the new issue, the answer and the moves.
func TestConfigPulls(t *testing.T) {
	t.Parallel()
	a := newAgency(3, 12, 10, time.Now())
	srv := githubfake.New(t, githubfake.Options{World: a.w})
	var out strings.Builder
	intro(&out, a, srv.URL(), options{activity: time.Second})
	if !strings.Contains(out.String(), "export GITHUB_TOKEN="+token+"\n") {
		t.Errorf("no export line in\n%s", out.String())
	}
	yaml := configYAML(a, srv.URL())
	if !strings.Contains(out.String(), yaml) {
		t.Errorf("the intro does not hold the config:\n%s", out.String())
	}
	l, err := mapping.Parse(filepath.Join(t.TempDir(), "karkas.yaml"), []byte(yaml), mapping.LoadOptions{
		LookupEnv: func(k string) (string, bool) { return token, k == "GITHUB_TOKEN" },
		SourceOptions: func(kind string) (any, bool) {
			if kind != github.KindName {
				return nil, false
			}
			return github.Kind().NewOptions(), true
		},
	})
	if err != nil {
		t.Fatalf("the printed config: %v\n%s", err, yaml)
	}
	if len(l.Warnings) > 0 {
		t.Errorf("the printed config has warnings: %v", l.Warnings)
	}
	src, err := github.Kind().Open(l.SourceOptions["github"], connectors.Env{BaseDir: l.BaseDir, Mapped: l.Mapped()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ps, err := src.(*github.Source).CheckDetails(ctx); err != nil || len(ps) > 0 {
		t.Errorf("validate --online's check of the printed config: %v %+v", err, ps)
	}

	var cursor string
	var messages int
	tasks := map[string]bool{}
	emit := func(_ context.Context, b *record.Batch) error {
		for _, tk := range b.Tasks {
			tasks[tk.ExternalID] = true
		}
		messages += len(b.Messages)
		if b.Cursor != "" {
			cursor = b.Cursor
		}
		return nil
	}
	if err := src.Pull(ctx, cursor, emit); err != nil {
		t.Fatal(err)
	}
	wantTasks, wantMessages := 0, 0
	for _, rp := range a.repos {
		wantTasks += len(a.w.Issues(rp.ID))
		wantMessages += len(a.w.Issues(rp.ID)) + len(a.w.Comments(rp.ID))
	}
	if len(tasks) != wantTasks || messages != wantMessages {
		t.Errorf("the pull read %d tasks, %d messages; GitHub has %d, %d", len(tasks), messages, wantTasks, wantMessages)
	}

	did := a.act(rand.New(rand.NewPCG(1, 2)), 1)
	if !strings.Contains(did, "opened by") || !strings.Contains(did, "answered by") {
		t.Fatalf("a round of activity: %s", did)
	}
	messages = 0
	clear(tasks)
	if err := src.Pull(ctx, cursor, emit); err != nil {
		t.Fatal(err)
	}
	// The new issue's opening text and the answer at least; the moved and
	// closed issues come back as tasks.
	if messages < 2 || len(tasks) < strings.Count(did, "#") {
		t.Errorf("after %q the pull read %d tasks, %d messages", did, len(tasks), messages)
	}
}

var activityLine = regexp.MustCompile(`^\d\d:\d\d:\d\d activity \d+: \S+#\d+ opened by `)

// run serves the fake at the base_url it prints, with the token it
// prints, keeps changing it with -activity, and stops when its context
// ends.
func TestRun(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-issues", "4", "-days", "3", "-activity", "1ms"}, pw)
		pw.Close()
	}()
	var base, tok string
	rounds := 0
	sc := bufio.NewScanner(pr)
	for rounds < 2 && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "base_url: "); ok {
			base = v
		}
		if v, ok := strings.CutPrefix(line, "export GITHUB_TOKEN="); ok {
			tok = v
		}
		if activityLine.MatchString(line) {
			rounds++
		}
	}
	if base == "" || tok == "" || rounds < 2 {
		t.Fatalf("base_url %q, token %q, %d rounds of activity printed", base, tok, rounds)
	}
	if _, _, err := net.SplitHostPort(strings.TrimPrefix(base, "http://")); err != nil {
		t.Errorf("base_url %q: %v", base, err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v3/repos/northwind/acme-site/issues", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"number"`) {
		t.Errorf("GET %s/api/v3/repos/northwind/acme-site/issues: %d %s", base, resp.StatusCode, body)
	}
	cancel()
	go io.Copy(io.Discard, pr) // activity may print once more before it sees the end
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
