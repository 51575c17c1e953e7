package planfix_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
	"github.com/karkas/karkas/internal/fakeapi"
)

func marked(t *testing.T, f *planfixfake.Server, task, marker string) []string {
	t.Helper()
	var out []string
	for _, tk := range f.World().Tasks {
		if string(tk.ID) != task {
			continue
		}
		for _, c := range tk.Comments {
			if strings.Contains(c.Description, marker) {
				out = append(out, c.Description)
			}
		}
	}
	return out
}

// A comment is posted once per delivery: a retry after a crash finds it
// by its marker, and a post whose answer was lost (the server did it) or
// that met a gateway error (it did not) ends with exactly one comment.
func TestAddComment(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault *fakeapi.Fault
	}{
		{"no fault", nil},
		{"gateway error before PlanFix saw it", &fakeapi.Fault{Kind: fakeapi.ServerError, Status: 502, Method: "POST", Route: "/rest/task/*/comments/"}},
		{"no answer", &fakeapi.Fault{Kind: fakeapi.Hang, Method: "POST", Route: "/rest/task/*/comments/"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, planfixfake.Sample(epoch), planfixfake.DefaultToken)
			c, err := planfix.NewClient(planfix.ClientConfig{BaseURL: r.fake.BaseURL(), Token: planfixfake.DefaultToken, Clock: r.clock, Timeout: 200e6})
			if err != nil {
				t.Fatal(err)
			}
			p := planfix.NewPusher(c)
			if tt.fault != nil {
				r.fake.Arm(*tt.fault)
			}
			text := "Игорь, форма снова работает.\n\nПроверьте, пожалуйста: <script> не пройдёт."
			id, existed, err := p.AddComment(context.Background(), "1", text, "d-42")
			if err != nil {
				t.Fatal(err)
			}
			again, existed2, err := p.AddComment(context.Background(), "1", text, "d-42")
			if err != nil || !existed2 || again != id {
				t.Errorf("second AddComment: %s existed=%v err=%v, want %s found", again, existed2, err, id)
			}
			_ = existed
			got := marked(t, r.fake, "1", planfix.Marker("d-42"))
			if len(got) != 1 {
				t.Fatalf("%d comments carry the marker, want 1: %q", len(got), got)
			}
			if want := "<p>Игорь, форма снова работает.</p><p>Проверьте, пожалуйста: &lt;script&gt; не пройдёт.</p><p>[karkas:d-42]</p>"; got[0] != want {
				t.Errorf("comment %q, want %q", got[0], want)
			}
		})
	}
}

// A canary token never shows in an error or a log line of the client's,
// from a server that refuses it, hangs up or is not there: it travels in
// the Authorization header only. (A server echoing the header back is
// redacted by the process's secret set: cmd/karkas's
// TestEchoedSecretsStayHidden runs a planfix source against one.)
func TestCanaryToken(t *testing.T) {
	t.Parallel()
	const token = "tokenCANARY0f1e2d3c4b5a69788796a5b4"
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"result":"fail","code":1,"error":"Access denied, unknown token"}`, http.StatusUnauthorized)
	}))
	defer refuse.Close()
	hangup := fakeapi.HangUp()
	defer hangup.Close()
	deadURL := fakeapi.DeadURL() + "/rest"
	for _, base := range []string{refuse.URL + "/rest", hangup.URL + "/rest", deadURL} {
		var logs strings.Builder
		c, err := planfix.NewClient(planfix.ClientConfig{BaseURL: base, Token: token, Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Attempts: 2, BackoffBase: time.Millisecond, Limit: 100, Interval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		o := planfix.DefaultOptions()
		o.Account = "northwind"
		src, err := planfix.Open(o, connectors.Env{}, c)
		if err != nil {
			t.Fatal(err)
		}
		var errs []error
		errs = append(errs, src.Check(context.Background()))
		_, _, err = planfix.NewPusher(c).AddComment(context.Background(), "1", "x", "d-1")
		errs = append(errs, err)
		for _, err := range errs {
			if err == nil {
				t.Errorf("%s: no error", base)
			} else if strings.Contains(err.Error(), token) {
				t.Errorf("%s: error holds the token: %v", base, err)
			}
		}
		if strings.Contains(logs.String(), token) {
			t.Errorf("%s: the log holds the token", base)
		}
	}
}
