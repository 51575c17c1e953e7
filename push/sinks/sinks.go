// Package sinks performs karkas's deliveries: a comment and a label on a
// Trello card, a mail, a GitHub issue or comment, a signed webhook (generic
// JSON, Slack, Telegram), a file in a folder. Each sink takes a Delivery
// (what to say, to whom, where) and does it at most once however often it
// is called with the same delivery id, as far as its target allows:
//
//   - trello and github look for the hidden marker of the delivery id
//     before they write (connectors/trello, connectors/github);
//   - email sends a message whose Message-ID derives from the delivery id,
//     so a resend is the same message, which mailboxes keep once
//     (connectors/email);
//   - webhook sends the delivery id as webhook-id (Standard Webhooks) on
//     every try: the receiver dedupes on it; Slack and Telegram do not;
//   - file writes under a temporary name and renames to a name made of the
//     delivery id; a name that exists is a delivery done.
//
// It also holds the message model every sink renders (Message, Item) and
// the renderers, each escaping what clients control for its format:
// Markdown neutralised (no mentions, no links, no markers), HTML escaped,
// Slack's &<> escaped, Telegram's HTML escaped, mail headers without line
// breaks.
//
// Each kind of sink is declared once, in its own file (TrelloKind, ...),
// and listed in Kinds (registry.go): the config's checks, the JSON Schema,
// routing and the CLI derive from those declarations.
//
// The package imports the connectors whose pushers it drives, the config's
// types (mapping) and the message catalogs (internal/locale), nothing else
// of karkas; the push package (routing, the outbox worker) uses it.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message kinds.
const (
	KindNotice  = "notice"  // one transition
	KindDigest  = "digest"  // held notices sent together at a set time
	KindSummary = "summary" // a backlog over a sink's rate cap, in one
	KindReport  = "report"  // a scheduled report (Message.Report)
)

// Message is what a delivery says: one transition, or several folded
// into a digest or a summary. It is stored as the delivery's payload.
type Message struct {
	Kind   string `json:"kind"`
	Agency string `json:"agency"`
	Items  []Item `json:"items"`
	// Note says why several notices come together.
	Note string `json:"note,omitempty"`
	// Report is what a report delivery delivers (KindReport).
	Report *Report `json:"report,omitempty"`
}

// Item is one SLA transition as people read it.
type Item struct {
	ClockID    string  `json:"clock_id"`
	Policy     string  `json:"policy"`
	From       string  `json:"from"`
	To         string  `json:"to"`
	Client     string  `json:"client"`
	ClientName string  `json:"client_name"`
	Subject    Subject `json:"subject"`
	// Times are UTC; Zone is the client calendar's zone they are shown in.
	StartedAt       time.Time  `json:"started_at"`
	DueAt           *time.Time `json:"due_at,omitempty"`
	BreachedAt      *time.Time `json:"breached_at,omitempty"`
	BusinessSeconds int64      `json:"business_seconds"`
	Zone            string     `json:"zone,omitempty"`
}

// Subject is what a clock is about.
type Subject struct {
	Kind       string `json:"kind"` // task, thread, client
	Source     string `json:"source,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Title      string `json:"title"`
	URL        string `json:"url,omitempty"`
}

// Person is someone a delivery addresses, with their handle in each tool.
type Person struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Side   string `json:"side"`
	Email  string `json:"email,omitempty"`
	Trello string `json:"trello,omitempty"`
	GitHub string `json:"github,omitempty"`
}

// Issue is a GitHub issue or pull request.
type Issue struct {
	Repo   string `json:"repo"` // owner/name
	Number int    `json:"number"`
}

// Target is whom and where a delivery addresses.
type Target struct {
	People []Person `json:"people,omitempty"`
	// ClientFacing marks a reminder to the client's people: written as
	// one, and sent only in the client's business hours.
	ClientFacing bool `json:"client_facing,omitempty"`
	// Card is the Trello card of the task.
	Card string `json:"card,omitempty"`
	// Task is the PlanFix task a planfix sink comments on.
	Task string `json:"task,omitempty"`
	// Issue is the GitHub issue of the task, commented on instead of
	// opening one in the sink's repository.
	Issue *Issue `json:"issue,omitempty"`
	// LabelsOnly tells a trello sink over its rate cap to set the labels
	// and post no comment.
	LabelsOnly bool `json:"labels_only,omitempty"`
	// Digest are the times of day the delivery waits for, when held.
	Digest []string `json:"digest,omitempty"`
	// Due is when a delayed delivery was planned to go (an escalation,
	// a reminder waiting for business hours).
	Due *time.Time `json:"due,omitempty"`
	// Language is the language the delivery is written in (en, ru, bg,
	// de; "" is English): the client's for a reminder to the client and
	// for a comment on the client's card or issue, the agency's for the
	// rest.
	Language string `json:"language,omitempty"`
}

// OnClientsTask reports whether the delivery writes on the client's own
// task (a card, a PlanFix task, a GitHub issue), which the client reads.
func (t Target) OnClientsTask() bool { return t.Card != "" || t.Task != "" || t.Issue != nil }

// Delivery is one outbound action.
type Delivery struct {
	// ID is the delivery's idempotency key: the marker, the Message-ID,
	// the webhook-id, the file name. 1-100 letters, digits and ._:-.
	ID string
	// Created is when the delivery was queued: the mail's Date, the
	// start of a marker search.
	Created time.Time
	// Due is when the delivery was planned to go (its Created, or
	// Target.Due for a delayed one): the mail's Date, the same on every
	// try, so that a resend is the same message.
	Due     time.Time
	Message Message
	Target  Target
	// CardState is the worst open SLA state of the card's clocks
	// (breached, at_risk or ""), which the trello sink's labels show; the
	// worker reads it from the store just before delivering.
	CardState string
	// FollowUp is the reference of an earlier delivery of the same clock
	// through the same sink (a GitHub issue, owner/name#N), when any.
	FollowUp string
}

// Result says what a sink did.
type Result struct {
	// Ref is the target's reference of the effect: a comment id, an
	// issue, a Message-ID, a file.
	Ref string
	// Existed says an earlier try had done it: the marker was found, the
	// file was there.
	Existed bool
	// Skipped, when set, says why there was nothing to do.
	Skipped string
}

// Sink performs deliveries. Calling Deliver twice with one Delivery.ID
// has one effect, as far as the target allows (see the package doc).
type Sink interface {
	Deliver(ctx context.Context, d Delivery) (Result, error)
}

// Summarizer is a sink that can say several notices in one delivery
// (digests, summaries over a rate cap). A trello sink writes on one card
// per delivery and cannot.
type Summarizer interface {
	Summarizes() bool
}

// Error is a failed delivery the worker knows how to schedule.
type Error struct {
	Err error
	// Permanent failures are not retried: a refused token, a card that
	// is gone, a 4xx answer, an invalid address.
	Permanent bool
	// RetryAfter, when set, is how long the target asked to wait.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &Error{Err: err, Permanent: true} }

// Temporary marks err as worth retrying, after wait when it is set.
func Temporary(err error, wait time.Duration) error { return &Error{Err: err, RetryAfter: wait} }

// IsPermanent reports whether err says retrying will not help.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// RetryAfter returns the wait err asks for, 0 when none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// one returns a notice's single item.
func (d Delivery) one() (Item, error) {
	if len(d.Message.Items) == 0 {
		return Item{}, Permanent(fmt.Errorf("delivery %s says nothing: no items", d.ID))
	}
	return d.Message.Items[0], nil
}

// entering reports whether a transition into state is news (at risk,
// breached) rather than a clock leaving those states.
func entering(state string) bool { return state == "at_risk" || state == "breached" }
