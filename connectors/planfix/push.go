package planfix

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/karkas/karkas/connectors"
)

// markerRef is what a delivery id may be.
var markerRef = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// Marker is the tag a comment of delivery id ends with, as its own small
// paragraph: "[karkas:<id>]". PlanFix's comments are HTML, and whether it
// keeps an HTML comment or a data- attribute is [unverified], so the tag
// is plain text, found again in the comment's text.
func Marker(deliveryID string) string { return "[karkas:" + deliveryID + "]" }

// Pusher writes to PlanFix: a comment on a task, once per delivery.
type Pusher struct {
	c        *Client
	attempts int
}

// NewPusher returns a pusher on c.
func NewPusher(c *Client) *Pusher { return &Pusher{c: c, attempts: 3} }

// AddComment posts text (plain; each line a line of the comment) on task,
// ended by the delivery's Marker, unless a comment of the task already
// carries it: then it returns that comment's id and existed. A post whose
// fate is unknown (no answer, a 5xx) is followed by a look for the marker
// before it is posted again, so a retry never posts twice.
func (p *Pusher) AddComment(ctx context.Context, task, text, deliveryID string) (id string, existed bool, err error) {
	if task == "" || strings.TrimSpace(text) == "" {
		return "", false, errors.New("commenting: task and text are required")
	}
	if !markerRef.MatchString(deliveryID) {
		return "", false, fmt.Errorf("commenting on task %s: delivery id %q must be 1-100 letters, digits or ._:-", task, deliveryID)
	}
	marker := Marker(deliveryID)
	body := commentHTML(text, marker)
	for attempt := 1; ; attempt++ {
		cs, err := p.c.Comments(ctx, task)
		if err != nil {
			return "", false, fmt.Errorf("looking for an earlier comment on task %s: %w", task, err)
		}
		for _, c := range cs {
			if !c.IsDeleted && strings.Contains(htmlText(c.Description), marker) {
				return idString(c.ID), true, nil
			}
		}
		id, err := p.c.AddComment(ctx, task, body)
		if err == nil {
			return id, false, nil
		}
		if errors.Is(err, connectors.ErrUnauthorized) || attempt >= p.attempts || ctx.Err() != nil {
			return "", false, fmt.Errorf("commenting on task %s: %w", task, err)
		}
		if _, ok := errors.AsType[*connectors.RateLimitError](err); ok {
			return "", false, fmt.Errorf("commenting on task %s: %w", task, err)
		}
	}
}

// commentHTML is text as PlanFix's HTML (it drops bare newlines), the
// marker its last paragraph.
func commentHTML(text, marker string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(para, "\n")
		for i := range lines {
			lines[i] = html.EscapeString(lines[i])
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>") + "</p>")
	}
	b.WriteString("<p>" + html.EscapeString(marker) + "</p>")
	return b.String()
}
