package sinks

import (
	"context"
	"fmt"
	netmail "net/mail"
	"unicode/utf8"

	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/connectors/trello"
)

// Report is a scheduled report a delivery carries. Planning stores what
// to make (Name, Client, Period, Board, Card); the worker makes the report
// from the store just before delivering and fills in the rest, so the
// stored row stays small and a report delivered late says what is known
// then. A file sink writes the Markdown (format md) or the whole Report
// as JSON.
type Report struct {
	// Name is the report: hours.
	Name string `json:"name"`
	// Client is the client's id; Period the period's label (2026-10).
	Client string `json:"client"`
	Period string `json:"period"`
	// Board is the client's Trello board (id, short link or name) and
	// Card the name of the card the report is posted on, for a trello
	// sink.
	Board string `json:"board,omitempty"`
	Card  string `json:"card,omitempty"`
	// CabinetLink is how long the cabinet link the report carries opens
	// (routing.reports' cabinet_link), for an email sink; empty: none.
	CabinetLink string `json:"cabinet_link,omitempty"`

	// Made by the worker just before delivering: empty in the stored
	// payload; a file sink's JSON carries them.
	Subject  string `json:"subject,omitempty"`
	Markdown string `json:"markdown,omitempty"`
	HTML     string `json:"html,omitempty"`
}

// title is the report's subject, or before it is made, what it will be.
func (r *Report) title() string {
	if r.Subject != "" {
		return Plain(r.Subject)
	}
	return Plain(fmt.Sprintf("%s report of %s for %s", r.Name, r.Client, r.Period))
}

// maxComment is the longest comment Trello takes (16384 characters),
// less room for the marker and the line saying the rest was cut.
const maxComment = 16384 - 400

// made reports whether the worker made the report.
func (r *Report) made(id string) error {
	if r == nil {
		return Permanent(fmt.Errorf("delivery %s is a report but names none", id))
	}
	if r.Markdown == "" {
		return Permanent(fmt.Errorf("delivery %s: report %s of %s for %s was not made before delivery", id, r.Name, r.Client, r.Period))
	}
	return nil
}

// deliverReport mails the report to the people addressed: the HTML
// report as the body, its Markdown as the text alternative.
func (s *Email) deliverReport(ctx context.Context, d Delivery) (Result, error) {
	r := d.Message.Report
	if err := r.made(d.ID); err != nil {
		return Result{}, err
	}
	var to []netmail.Address
	for _, p := range d.Target.People {
		if p.Email != "" {
			to = append(to, netmail.Address{Name: Plain(p.Name), Address: p.Email})
		}
	}
	if len(to) == 0 {
		return Result{Skipped: "nobody to write to: no email address among the people addressed"}, nil
	}
	headers := map[string]string{"X-Karkas-Delivery": d.ID, "X-Karkas-Client": r.Client, "X-Karkas-Report": r.Name + " " + r.Period}
	return s.send(ctx, email.Mail{DeliveryID: d.ID, To: to, Subject: Plain(r.Subject), Text: r.Markdown, HTML: r.HTML,
		Date: d.Due, Headers: headers})
}

// deliverReport posts the report as a comment on the client's report
// card, found by its marker or made once. The comment carries the
// delivery's marker, so a retry finds it instead of posting again.
func (s *Trello) deliverReport(ctx context.Context, d Delivery) (Result, error) {
	r := d.Message.Report
	if err := r.made(d.ID); err != nil {
		return Result{}, err
	}
	if r.Board == "" {
		return Result{}, Permanent(fmt.Errorf("delivery %s: client %s has no Trello board (clients[].boards) to post the report on", d.ID, r.Client))
	}
	card, _, err := s.p.PinnedCard(ctx, trello.PinnedCard{Board: r.Board, Name: Plain(r.Card), Key: "card." + r.Name + "-report",
		Desc: "karkas posts the " + r.Name + " report here, one comment per period."})
	if err != nil {
		return Result{}, trelloError(err)
	}
	a, existed, err := s.p.AddComment(ctx, trello.Comment{CardID: card.ID, Text: cut(r.Markdown, maxComment), DeliveryID: d.ID})
	if err != nil {
		return Result{}, trelloError(err)
	}
	return Result{Ref: "comment " + a.ID + " on card " + card.ID, Existed: existed}, nil
}

// cut shortens a Markdown report to at most n characters, at a line
// break, saying so.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)[:n]
	for i := len(rs) - 1; i > n/2; i-- {
		if rs[i] == '\n' {
			rs = rs[:i]
			break
		}
	}
	return string(rs) + "\n\n_The report is longer than a comment can be: the rest is in the mailed report._"
}
