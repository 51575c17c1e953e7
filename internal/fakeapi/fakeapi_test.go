package fakeapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)

// A request admitted at exactly now-Interval has left the window; one a
// nanosecond later has not, and the wait rounds up to whole seconds.
func TestWindowEdge(t *testing.T) {
	t.Parallel()
	w := NewWindow(2, 10*time.Second)
	for _, at := range []time.Time{t0, t0.Add(3 * time.Second)} {
		if ok, _ := w.Admit(at); !ok {
			t.Fatalf("request at %v refused", at)
		}
	}
	for _, c := range []struct {
		at   time.Duration
		ok   bool
		wait int
	}{
		{at: 4 * time.Second, wait: 6},
		{at: 10*time.Second - time.Nanosecond, wait: 1},
		{at: 9*time.Second + 100*time.Millisecond, wait: 1},
		{at: 10 * time.Second, ok: true}, // t0 leaves
		{at: 12 * time.Second, wait: 1},  // t0+3s leaves at 13s
		{at: 13 * time.Second, ok: true},
		{at: 13 * time.Second, wait: 7}, // t0+10s leaves at 20s
	} {
		ok, wait := w.Admit(t0.Add(c.at))
		if ok != c.ok || wait != c.wait {
			t.Errorf("at +%v: ok %v wait %d, want %v %d", c.at, ok, wait, c.ok, c.wait)
		}
	}
	if n := w.TooMany(); n != 5 {
		t.Errorf("TooMany %d, want 5", n)
	}
}

func TestWindowOff(t *testing.T) {
	t.Parallel()
	for _, max := range []int{0, -1} {
		w := NewWindow(max, time.Second)
		for range 100 {
			if ok, _ := w.Admit(t0); !ok {
				t.Fatalf("max %d refused a request", max)
			}
		}
	}
}

func req(method, path string) *http.Request {
	return httptest.NewRequest(method, path, nil)
}

// take runs n requests to path through fs and returns the kinds taken, 0
// for none.
func take(fs *Faults, path string, n int) []Kind {
	var out []Kind
	for range n {
		f, _ := fs.Take(req("GET", path))
		out = append(out, f.Kind)
	}
	return out
}

func TestFaultsSkipTimes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		armed []Fault
		path  string
		want  []Kind
	}{
		{name: "once by default", armed: []Fault{{Kind: NotFound}}, path: "/a",
			want: []Kind{NotFound, 0, 0}},
		{name: "skip then times", armed: []Fault{{Kind: ServerError, Skip: 2, Times: 2}}, path: "/a",
			want: []Kind{0, 0, ServerError, ServerError, 0, 0}},
		{name: "until disarmed", armed: []Fault{{Kind: Hang, Times: -1}}, path: "/a",
			want: []Kind{Hang, Hang, Hang, Hang, Hang}},
		{name: "skipped request goes to the next fault", armed: []Fault{{Kind: NotFound, Skip: 1}, {Kind: Unauthorized}}, path: "/a",
			want: []Kind{Unauthorized, NotFound, 0}},
		{name: "in the order armed", armed: []Fault{{Kind: NotFound, Times: 2}, {Kind: Unauthorized}}, path: "/a",
			want: []Kind{NotFound, NotFound, Unauthorized, 0}},
		{name: "path prefix", armed: []Fault{{Kind: NotFound, Path: "/v2/time", Times: -1}}, path: "/v2/users",
			want: []Kind{0, 0}},
		{name: "route pattern", armed: []Fault{{Kind: NotFound, Route: "/1/boards/*", Times: -1}}, path: "/1/boards/x/cards",
			want: []Kind{0}},
		{name: "route pattern matches", armed: []Fault{{Kind: NotFound, Route: "/1/boards/*/cards", Times: 2}}, path: "/1/boards/x/cards",
			want: []Kind{NotFound, NotFound, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var fs Faults
			for _, f := range c.armed {
				fs.Arm(f)
			}
			got := take(&fs, c.path, len(c.want))
			for i := range c.want {
				if got[i] != c.want[i] {
					t.Fatalf("kinds taken %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestFaultsMethodAndDisarm(t *testing.T) {
	t.Parallel()
	var fs Faults
	fs.Arm(Fault{Kind: RateLimited, Method: "POST", Times: -1, RetryAfter: 7})
	if _, ok := fs.Take(req("GET", "/x")); ok {
		t.Error("a POST fault took a GET")
	}
	f, ok := fs.Take(req("POST", "/x"))
	if !ok || f.Kind != RateLimited || f.RetryAfter != 7 || f.Times != -1 {
		t.Errorf("took %+v %v", f, ok)
	}
	fs.Disarm()
	if _, ok := fs.Take(req("POST", "/x")); ok {
		t.Error("a fault survived Disarm")
	}
}

// recorder answers every kind the kit knows with a marker body.
var recorder = Answers{
	ServerError:  func(w http.ResponseWriter, status int) { w.WriteHeader(status); io.WriteString(w, "5xx") },
	Truncated:    func(w http.ResponseWriter) { io.WriteString(w, `{"cut`) },
	Unauthorized: func(w http.ResponseWriter) { w.WriteHeader(401) },
	NotFound:     func(w http.ResponseWriter) { w.WriteHeader(404) },
	RateLimited: func(w http.ResponseWriter, wait int) {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		w.WriteHeader(429)
	},
	RetryAfter: 3,
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		answers   Answers
		fault     Fault
		answered  bool
		status    int
		body, hdr string
	}{
		{name: "500 by default", answers: recorder, fault: Fault{Kind: ServerError}, answered: true, status: 500, body: "5xx"},
		{name: "502", answers: recorder, fault: Fault{Kind: ServerError, Status: 502}, answered: true, status: 502, body: "5xx"},
		{name: "explicit body", answers: recorder, fault: Fault{Kind: ServerError, Status: 503, Body: "<html>down</html>"}, answered: true, status: 503, body: "<html>down</html>"},
		{name: "truncated", answers: recorder, fault: Fault{Kind: Truncated}, answered: true, status: 200, body: `{"cut`},
		{name: "401", answers: recorder, fault: Fault{Kind: Unauthorized}, answered: true, status: 401},
		{name: "404", answers: recorder, fault: Fault{Kind: NotFound}, answered: true, status: 404},
		{name: "429 default wait", answers: recorder, fault: Fault{Kind: RateLimited}, answered: true, status: 429, hdr: "3"},
		{name: "429 own wait", answers: recorder, fault: Fault{Kind: RateLimited, RetryAfter: 9}, answered: true, status: 429, hdr: "9"},
		{name: "custom left to the fake", answers: recorder, fault: Fault{Kind: Custom}},
		{name: "nil function left to the fake", answers: Answers{}, fault: Fault{Kind: Truncated}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			answered := c.answers.Answer(w, req("GET", "/"), c.fault, nil)
			if answered != c.answered {
				t.Fatalf("answered %v, want %v", answered, c.answered)
			}
			if !answered {
				return
			}
			if w.Code != c.status || w.Body.String() != c.body || w.Header().Get("Retry-After") != c.hdr {
				t.Errorf("got %d %q Retry-After %q, want %d %q %q", w.Code, w.Body, w.Header().Get("Retry-After"), c.status, c.body, c.hdr)
			}
		})
	}
}

// A hang ends when the client gives up, or when the host closes.
func TestHold(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	r := req("GET", "/").WithContext(ctx)
	held := make(chan struct{})
	go func() { Hold(r, nil); close(held) }()
	cancel()
	<-held

	var h *Host
	entered := make(chan struct{})
	h = Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		Hold(r, h.Done())
	}))
	errc := make(chan error, 1)
	go func() {
		resp, err := h.Client().Get(h.URL())
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	h.Close() // returns only once the held handler has
	h.Close()
	<-errc
}

// The log records each request as it arrives and its status as the status
// line is written; Reset forgets a request in flight.
func TestLog(t *testing.T) {
	t.Parallel()
	var l Log
	w := l.Begin(httptest.NewRecorder(), Arrival(req("GET", "/a?x=1"), t0))
	if got := l.Requests(); len(got) != 1 || got[0].Status != 0 || got[0].Query != "x=1" || !got[0].At.Equal(t0) {
		t.Fatalf("before the answer: %+v", got)
	}
	io.WriteString(w, "hi")
	w.WriteHeader(500) // too late: the status went out with the body
	w2 := l.Begin(httptest.NewRecorder(), Request{Method: "POST", Path: "/b", Body: "{}", Route: "POST /b"})
	w2.WriteHeader(429)
	if got := l.Requests(); got[0].Status != 200 || got[1].Status != 429 || got[1].Body != "{}" {
		t.Errorf("statuses: %+v", got)
	}
	if l.Count("/a", 0) != 1 || l.Count("", 429) != 1 || l.Count("/b", 200) != 0 || l.Len() != 2 {
		t.Errorf("counts: /a %d, 429 %d", l.Count("/a", 0), l.Count("", 429))
	}
	if n := l.CountFunc(func(r Request) bool { return r.Route == "POST /b" }); n != 1 {
		t.Errorf("route count %d", n)
	}
	inflight := l.Begin(httptest.NewRecorder(), Request{Path: "/c"})
	l.Reset()
	l.Begin(httptest.NewRecorder(), Request{Path: "/d"})
	inflight.WriteHeader(503)
	if got := l.Requests(); len(got) != 1 || got[0].Path != "/d" || got[0].Status != 0 {
		t.Errorf("after Reset: %+v", got)
	}
}

// CutBody's client reads half the body and an unexpected EOF.
func TestCutBody(t *testing.T) {
	t.Parallel()
	var l Log
	h := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		CutBody(l.Begin(w, Arrival(r, t0)), http.StatusOK, []byte(`{"items":[1,2,3,4,5,6,7,8]}`))
	}))
	t.Cleanup(h.Close)
	resp, err := h.Client().Get(h.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != `{"items":[1,2` {
		t.Errorf("read %q, %v", b, err)
	}
	if got := l.Requests(); got[0].Status != 200 {
		t.Errorf("logged %+v", got)
	}
}

// Log, Faults and Window used by many requests at once (run with -race):
// every request is logged with its status, a fault taken Times times is
// taken exactly that often, and the window admits exactly Max.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	const n, faulted, max = 200, 30, 50
	var (
		l  Log
		fs Faults
	)
	win := NewWindow(max, time.Minute)
	fs.Arm(Fault{Kind: NotFound, Times: faulted})
	fs.Arm(Fault{Kind: Unauthorized, Path: "/never"})
	answers := Answers{NotFound: func(w http.ResponseWriter) { w.WriteHeader(404) }}
	h := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = l.Begin(w, Arrival(r, t0))
		if f, ok := fs.Take(r); ok && answers.Answer(w, r, f, nil) {
			return
		}
		if ok, _ := win.Admit(t0); !ok {
			w.WriteHeader(429)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(h.Close)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := h.Client().Get(h.URL() + "/x")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if l.Len() != n || l.Count("/x", 404) != faulted || l.Count("", 204) != max || l.Count("", 429) != n-faulted-max {
		t.Errorf("log: %d requests, %d 404, %d 204, %d 429", l.Len(), l.Count("", 404), l.Count("", 204), l.Count("", 429))
	}
	if win.TooMany() != n-faulted-max {
		t.Errorf("window refused %d", win.TooMany())
	}
}

// A hook may call back into its holder: Call holds no lock while it runs.
func TestHook(t *testing.T) {
	t.Parallel()
	var h Hook[int]
	h.Call(1) // none set
	var got []int
	h.Set(func(n int) {
		got = append(got, n)
		h.Set(nil) // once only
	})
	h.Call(2)
	h.Call(3)
	if len(got) != 1 || got[0] != 2 {
		t.Errorf("hook saw %v, want [2]", got)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	var rs Routes[int]
	rs.Add("GET", "/1/boards/{id}/cards", 1)
	rs.Add("GET", "/1/boards/{id}/cards/{filter}", 2)
	rs.Add("GET", "/1/boards/{id}/cards/open", 3)
	rs.Add("POST", "/1/boards/{id}/cards", 4)
	rs.Add("GET", "/1/{kind}/{id}/cards/open", 5)
	for _, c := range []struct {
		method, path string
		want         int // 0: no route
		params       string
	}{
		{"GET", "/1/boards/b1/cards", 1, "b1"},
		{"GET", "/1/boards/b1/cards/", 1, "b1"},
		{"GET", "/1/boards/b1/cards/closed", 2, "b1 closed"},
		{"GET", "/1/boards/b1/cards/open", 3, "b1"},
		{"POST", "/1/boards/b1/cards", 4, "b1"},
		{"PUT", "/1/boards/b1/cards", 0, ""},
		{"GET", "/1/boards/b1", 0, ""},
		{"GET", "/2/boards/b1/cards", 0, ""},
	} {
		rt, params := rs.Match(c.method, c.path)
		got := 0
		if rt != nil {
			got = rt.Handler
		}
		if got != c.want || strings.Join(params, " ") != c.params {
			t.Errorf("%s %s: route %d %q, want %d %q", c.method, c.path, got, params, c.want, c.params)
		}
	}
	if rt, _ := rs.Match("GET", "/1/boards/x/cards/open"); rt.Name != "GET /1/boards/{id}/cards/open" {
		t.Errorf("name %q", rt.Name)
	}
}
