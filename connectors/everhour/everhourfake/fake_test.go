package everhourfake

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/vclock"
)

func get(t *testing.T, s *Server, key, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.BaseURL()+path, nil)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// The sliding 20-per-10s limit answers 429 with Retry-After and a JSON
// error body, and admits again when the window has moved.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := vclock.NewVirtual(time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC))
	s := New(t, Options{World: NewWorld(clock)})
	for i := range 20 {
		if st, _, _ := get(t, s, s.APIKey(), "/team/users"); st != 200 {
			t.Fatalf("request %d: %d", i+1, st)
		}
		clock.Advance(100 * time.Millisecond)
	}
	st, h, body := get(t, s, s.APIKey(), "/team/users")
	var e errorBody
	if st != 429 || h.Get("Retry-After") != "8" || json.Unmarshal(body, &e) != nil || e.Code != 429 {
		t.Fatalf("21st request: %d, Retry-After %q, body %s", st, h.Get("Retry-After"), body)
	}
	clock.Advance(8 * time.Second) // the first request leaves the window at 10 s
	if st, _, _ := get(t, s, s.APIKey(), "/team/users"); st != 200 {
		t.Fatalf("after the window moved: %d", st)
	}
	if s.TooMany() != 1 || s.Total() != 22 {
		t.Errorf("counts: %d 429s of %d", s.TooMany(), s.Total())
	}
}

// Paging: limit/page over the fixed order, from/to inclusive; auth; the
// limit cap; unknown routes fail loudly; records carry an int user and a
// full task.
func TestRoutes(t *testing.T) {
	t.Parallel()
	w := NewWorld(vclock.NewVirtual(time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)))
	w.Generate(1, 3, 25, 1)
	s := New(t, Options{World: w, Limits: Limits{Max: -1}})
	var all []recordJSON
	for page := 1; ; page++ {
		st, _, body := get(t, s, s.APIKey(), "/team/time?from=2026-03-01&to=2026-03-31&limit=10&page="+strconv.Itoa(page))
		if st != 200 {
			t.Fatalf("page %d: %d %s", page, st, body)
		}
		var recs []recordJSON
		if err := json.Unmarshal(body, &recs); err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
		if len(recs) < 10 {
			break
		}
	}
	want := w.Entries()
	if len(all) != len(want) || len(want) != 25 {
		t.Fatalf("%d records paged, world has %d", len(all), len(want))
	}
	for i, r := range all {
		if r.ID != want[i].ID || r.User != want[i].User || r.Task == nil || r.Task.ID != want[i].TaskID || len(r.Task.Projects) != 1 {
			t.Fatalf("record %d: %+v, want %+v", i, r, want[i])
		}
	}
	day := want[0].Date
	_, _, body := get(t, s, s.APIKey(), "/team/time?from="+day+"&to="+day)
	var recs []recordJSON
	json.Unmarshal(body, &recs)
	for _, r := range recs {
		if r.Date != day {
			t.Errorf("from=to=%s gave a record of %s", day, r.Date)
		}
	}
	if len(recs) == 0 {
		t.Error("from=to: no records")
	}
	for _, c := range []struct {
		key, path string
		status    int
	}{
		{"", "/team/time", 401},
		{"wrong", "/team/users", 401},
		{s.APIKey(), "/team/time?limit=50001", 400},
		{s.APIKey(), "/team/time?from=2026-13-01", 400},
		{s.APIKey(), "/team/timers/nope", 500},
		{s.APIKey(), "/projects/ev:0", 404},
	} {
		if st, _, body := get(t, s, c.key, c.path); st != c.status {
			t.Errorf("%s: %d %s, want %d", c.path, st, body, c.status)
		}
	}
}

// A task's labels are a JSON array of strings, [] when it has none (never
// null), served with the task and inside every record on it; SetLabels
// shows in the next answer.
func TestTaskLabels(t *testing.T) {
	t.Parallel()
	w := NewWorld(vclock.NewVirtual(time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)))
	u := w.AddUser("Anna", "anna@northwind.agency")
	task := w.AddTask(w.AddProject("ev", "Site", 0).ID, "", "Header")
	w.AddEntry(u.ID, task.ID, "2026-03-02", 600, "")
	s := New(t, Options{World: w})
	if _, _, body := get(t, s, s.APIKey(), "/tasks/"+task.ID); !strings.Contains(string(body), `"labels":[]`) {
		t.Errorf("a task without labels: %s", body)
	}
	if !w.SetLabels(task.ID, "дизайн", "bug") || w.SetLabels("ev:0", "x") {
		t.Fatal("SetLabels: wrong answer for a known or an unknown task")
	}
	_, _, body := get(t, s, s.APIKey(), "/team/time")
	var recs []recordJSON
	if err := json.Unmarshal(body, &recs); err != nil || len(recs) != 1 || recs[0].Task == nil ||
		!slices.Equal(recs[0].Task.Labels, []string{"дизайн", "bug"}) {
		t.Errorf("record after SetLabels: %s (%v)", body, err)
	}
	if got, _ := w.Task(task.ID); !slices.Equal(got.Labels, []string{"дизайн", "bug"}) {
		t.Errorf("Task: labels %q", got.Labels)
	}
}
