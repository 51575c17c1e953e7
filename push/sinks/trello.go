package sinks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/mapping"
)

// TrelloOptions configure a trello sink.
type TrelloOptions struct {
	Key           secret.Value `yaml:"key" required:"true" env:"TRELLO_KEY" doc:"Trello API key; write ${TRELLO_KEY} so it comes from the environment (or key_file)"`
	Token         secret.Value `yaml:"token" required:"true" env:"TRELLO_TOKEN" doc:"Trello user token of the member karkas comments as; write ${TRELLO_TOKEN} (or token_file)"`
	BaseURL       string       `yaml:"base_url" doc:"API root (default https://api.trello.com/1); for tests"`
	AtRiskLabel   string       `yaml:"at_risk_label" doc:"label of a card with a clock at risk (default SLA at risk)"`
	BreachedLabel string       `yaml:"breached_label" doc:"label of a card with a breached clock (default SLA breached)"`
	AtRiskColor   string       `yaml:"at_risk_color" doc:"color of the at-risk label when karkas creates it (default yellow)"`
	BreachedColor string       `yaml:"breached_color" doc:"color of the breached label when karkas creates it (default red)"`
}

// DefaultTrelloOptions returns the options a config's block is decoded
// into.
func DefaultTrelloOptions() *TrelloOptions {
	return &TrelloOptions{BaseURL: trello.DefaultBaseURL, AtRiskLabel: "SLA at risk", BreachedLabel: "SLA breached",
		AtRiskColor: "yellow", BreachedColor: "red"}
}

// Trello comments on the task's card, mentioning the people addressed,
// and keeps two labels on it showing the worst open state of the card's
// clocks: at risk, breached, or neither once every clock is met,
// resolved or waived.
type Trello struct {
	p *trello.Pusher
	o TrelloOptions
}

// NewTrello builds a trello sink.
func NewTrello(o TrelloOptions, env connectors.Env) (*Trello, error) {
	key, err := env.Secrets.Require(o.Key, "key", "TRELLO_KEY")
	if err != nil {
		return nil, err
	}
	token, err := env.Secrets.Require(o.Token, "token", "TRELLO_TOKEN")
	if err != nil {
		return nil, err
	}
	if o.AtRiskLabel == "" || o.BreachedLabel == "" || o.AtRiskLabel == o.BreachedLabel {
		return nil, errors.New("at_risk_label and breached_label must be two different names")
	}
	c, err := trello.NewClient(trello.ClientOptions{BaseURL: o.BaseURL, HTTPClient: env.HTTPClient, Key: key, Token: token, Logger: env.Logger})
	if err != nil {
		return nil, err
	}
	return &Trello{p: trello.NewPusher(c), o: o}, nil
}

// TrelloKind is the trello sink kind: a comment on the task's card and
// its labels, on cards of trello and trello_export sources only.
func TrelloKind() Kind {
	k := newKind("trello", "comment and label on the task's card", DefaultTrelloOptions, NewTrello)
	k.ClientReminders, k.Reports, k.HearsLeaving = true, true, true
	k.Bind = func(b Binding, t *Target) string {
		if !b.Task("trello", "trello_export") {
			return "not a Trello card"
		}
		t.Card = b.SubjectID
		return ""
	}
	k.BindReport = func(c mapping.Client, rs mapping.ReportSchedule, r *Report) {
		if len(c.Boards) > 0 {
			r.Board = c.Boards[0]
		}
		r.Card = rs.CardOrDefault()
	}
	k.Handle = func(p Person) string { return at(p.Trello) }
	return k
}

// Summarizes is false: a trello sink writes on one card at a time.
func (s *Trello) Summarizes() bool { return false }

// trelloUsername is what Trello usernames are made of.
var trelloUsername = regexp.MustCompile(`^[a-z0-9_]{1,100}$`)

// Deliver posts the comment once (its marker is looked for first), then
// sets the labels to the card's state. A clock leaving at risk or
// breached changes labels only; so does a delivery over the sink's rate
// cap. A reminder to the client comments and leaves the labels alone.
func (s *Trello) Deliver(ctx context.Context, d Delivery) (Result, error) {
	if d.Message.Kind == KindReport {
		return s.deliverReport(ctx, d)
	}
	it, err := d.one()
	if err != nil {
		return Result{}, err
	}
	if d.Target.Card == "" {
		return Result{}, Permanent(fmt.Errorf("delivery %s names no Trello card", d.ID))
	}
	var res Result
	if entering(it.To) && !d.Target.LabelsOnly {
		var mentions []string
		for _, p := range d.Target.People {
			if trelloUsername.MatchString(p.Trello) {
				mentions = append(mentions, p.Trello)
			}
		}
		a, existed, err := s.p.AddComment(ctx, trello.Comment{CardID: d.Target.Card, Text: d.Message.Markdown(d.Target, nil),
			Mentions: mentions, DeliveryID: d.ID})
		if err != nil {
			return Result{}, trelloError(err)
		}
		res = Result{Ref: "comment " + a.ID, Existed: existed}
	}
	if d.Target.ClientFacing {
		return res, nil
	}
	add, remove := "", []string{s.o.AtRiskLabel, s.o.BreachedLabel}
	color := ""
	switch d.CardState {
	case "breached":
		add, color, remove = s.o.BreachedLabel, s.o.BreachedColor, []string{s.o.AtRiskLabel}
	case "at_risk":
		add, color, remove = s.o.AtRiskLabel, s.o.AtRiskColor, []string{s.o.BreachedLabel}
	}
	if add != "" {
		if err := s.p.AddLabel(ctx, d.Target.Card, add, color); err != nil {
			return res, trelloError(err)
		}
	}
	for _, name := range remove {
		if err := s.p.RemoveLabel(ctx, d.Target.Card, name); err != nil {
			return res, trelloError(err)
		}
	}
	if res.Ref == "" {
		res.Ref = "labels " + d.CardState
		if d.CardState == "" {
			res.Ref = "labels cleared"
		}
	}
	return res, nil
}

// trelloError sorts a Trello failure as sortFailure does; a card that is
// gone is permanent too.
func trelloError(err error) error {
	var nf *trello.NotFoundError
	var ae *trello.APIError
	status := 0
	if errors.As(err, &ae) {
		status = ae.Status
	}
	return sortFailure(err, status, errors.As(err, &nf))
}

// sortFailure sorts a sink's failure by what the service answered
// (status, 0 for none): refused credentials, a target that is gone and
// other 4xx answers are permanent; a rate limit waits as told; the rest
// (5xx, a write of unknown fate, the network) is retried, and the retry
// looks for the delivery's marker before writing again.
func sortFailure(err error, status int, gone bool) error {
	var rl *connectors.RateLimitError
	switch {
	case errors.Is(err, connectors.ErrUnauthorized), gone:
		return Permanent(err)
	case errors.As(err, &rl):
		return Temporary(err, rl.RetryAfter)
	case status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
		return Permanent(err)
	}
	return Temporary(err, 0)
}
