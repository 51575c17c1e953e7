package sinks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/push/sinks"
)

// A planfix sink comments on the task once per delivery,
// ending with the marker a retry looks for; a clock leaving
// breached says nothing; a wrong token is a permanent failure.
func TestPlanFixSink(t *testing.T) {
	t.Parallel()
	fake := planfixfake.New(t, planfixfake.Sample(time.Now()), planfixfake.Options{Limit: -1})
	s, err := sinks.NewPlanFix(sinks.PlanFixOptions{Token: secret.Inline(fake.Token()), BaseURL: fake.BaseURL()}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	d := delivery(1)
	d.Target = sinks.Target{Task: "1", Language: "ru"}
	ctx := context.Background()
	fake.Arm(fakeapi.Fault{Kind: fakeapi.ServerError, Status: 502, Method: "POST", Route: "/rest/task/*/comments/"})
	res, err := s.Deliver(ctx, d)
	if err != nil || res.Existed {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	again, err := s.Deliver(ctx, d)
	if err != nil || !again.Existed || again.Ref != res.Ref {
		t.Errorf("the retried delivery: %+v %v, want %s found", again, err, res.Ref)
	}
	var marked []string
	for _, tk := range fake.World().Tasks {
		for _, c := range tk.Comments {
			if strings.Contains(c.Description, "[karkas:"+d.ID+"]") {
				marked = append(marked, c.Description)
			}
		}
	}
	if len(marked) != 1 || !strings.Contains(marked[0], "Карточка &amp; &lt;b&gt;") {
		t.Fatalf("comments with the marker: %q", marked)
	}
	leave := d
	leave.ID = "response-0123456789abcdef:met:chat"
	leave.Message.Items = append([]sinks.Item(nil), d.Message.Items...)
	leave.Message.Items[0].From, leave.Message.Items[0].To = "breached", "met"
	if res, err := s.Deliver(ctx, leave); err != nil || strings.HasPrefix(res.Ref, "comment") {
		t.Errorf("a clock leaving breached: %+v %v, want no comment", res, err)
	}
	bad, err := sinks.NewPlanFix(sinks.PlanFixOptions{Token: secret.Inline("ffffffffffffffffffffffffffffffff"), BaseURL: fake.BaseURL()}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Deliver(ctx, d)
	var se *sinks.Error
	if !errors.As(err, &se) || !se.Permanent || !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("a wrong token: %v, want a permanent ErrUnauthorized", err)
	}
}
