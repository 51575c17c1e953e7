package sinks

import (
	"context"
	"errors"
	"fmt"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/secret"
)

// PlanFixOptions configure a planfix sink.
type PlanFixOptions struct {
	Account string       `yaml:"account" doc:"the account's name, as in https://NAME.planfix.com"`
	Token   secret.Value `yaml:"token" required:"true" env:"PLANFIX_TOKEN" doc:"REST API token of the employee karkas comments as (scope comment_add); write ${PLANFIX_TOKEN} (or token_file)"`
	BaseURL string       `yaml:"base_url" doc:"API root instead of the account's (https://NAME.planfix.com/rest); for tests"`
}

// DefaultPlanFixOptions returns the options a config's block is decoded
// into.
func DefaultPlanFixOptions() *PlanFixOptions { return &PlanFixOptions{} }

// PlanFix comments on the task in PlanFix, once per delivery: the
// comment ends with the delivery's marker, looked for before every post.
type PlanFix struct {
	p *planfix.Pusher
}

// NewPlanFix builds a planfix sink.
func NewPlanFix(o PlanFixOptions, env connectors.Env) (*PlanFix, error) {
	token, err := env.Secrets.Require(o.Token, "token", "PLANFIX_TOKEN")
	if err != nil {
		return nil, err
	}
	base := o.BaseURL
	if base == "" {
		if o.Account == "" {
			return nil, errors.New("account: name the PlanFix account (NAME in https://NAME.planfix.com)")
		}
		base = "https://" + o.Account + ".planfix.com/rest"
	}
	c, err := planfix.NewClient(planfix.ClientConfig{BaseURL: base, Token: token, HTTPClient: env.HTTPClient, Log: env.Logger})
	if err != nil {
		return nil, err
	}
	return &PlanFix{p: planfix.NewPusher(c)}, nil
}

// PlanFixKind is the planfix sink kind: a comment on the task, on tasks
// of planfix and planfix_export sources only.
func PlanFixKind() Kind {
	k := newKind("planfix", "comment on the PlanFix task", DefaultPlanFixOptions, NewPlanFix)
	k.ClientReminders = true
	k.Bind = func(b Binding, t *Target) string {
		if !b.Task("planfix", "planfix_export") {
			return "not a PlanFix task"
		}
		t.Task = b.SubjectID
		return ""
	}
	return k
}

// Summarizes is false: a planfix sink writes on one task at a time.
func (s *PlanFix) Summarizes() bool { return false }

// Deliver posts the notice on the delivery's task once. A clock leaving
// at risk or breached says nothing on the task.
func (s *PlanFix) Deliver(ctx context.Context, d Delivery) (Result, error) {
	if d.Message.Kind == KindReport {
		return Result{}, Permanent(errors.New("a planfix sink comments on tasks; reports go to a trello, email or file sink"))
	}
	it, err := d.one()
	if err != nil {
		return Result{}, err
	}
	if d.Target.Task == "" {
		return Result{}, Permanent(fmt.Errorf("delivery %s names no PlanFix task", d.ID))
	}
	if !entering(it.To) {
		return Result{Ref: "nothing to say"}, nil
	}
	id, existed, err := s.p.AddComment(ctx, d.Target.Task, d.Message.Text(d.Target), d.ID)
	if err != nil {
		return Result{}, planfixError(err)
	}
	return Result{Ref: "comment " + id, Existed: existed}, nil
}

// planfixError sorts a PlanFix failure as sortFailure does.
func planfixError(err error) error {
	var ae *timetrack.APIError
	status := 0
	if errors.As(err, &ae) {
		status = ae.Status
	}
	return sortFailure(err, status, false)
}
