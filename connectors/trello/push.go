package trello

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// The push side: the few writes the outbox worker makes on cards. Each is
// idempotent: a comment carries a marker naming its delivery, so that a
// retry after a crash or an ambiguous failure finds the comment it already
// posted; labels are looked up by name before they are created, added or
// removed.
//
// A write is never retried blindly. When the client says a write may have
// reached Trello (*WriteError with MayHaveReached: a timeout after the
// request was sent, a dropped connection, a 5xx), the pusher looks for its
// effect before trying again.

// Pusher writes comments and labels to cards.
type Pusher struct {
	c *Client
	// attempts bounds the tries of one write (3).
	attempts int
}

// NewPusher returns a pusher writing through c (and so within its budget).
func NewPusher(c *Client) *Pusher { return &Pusher{c: c, attempts: 3} }

// markerRef matches what Marker writes.
var markerRef = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// Marker is the hidden tag a comment of delivery id carries: a Markdown
// link reference definition on the comment's last line,
//
//	[karkas:<id>]: #
//
// Markdown renderers that follow CommonMark show nothing for a reference
// definition nobody uses, so readers of the card do not see it; a renderer
// that does not support them shows the line as text, which is ugly but
// harmless. Either way it is plain ASCII in the comment's source text,
// which is what Trello stores and returns in data.text, so it survives
// where zero-width characters might be normalised away and the search for
// it is a substring match. [unverified: that Trello's comment renderer
// hides reference definitions.]
func Marker(deliveryID string) string { return "[karkas:" + deliveryID + "]: #" }

// Comment is a comment to post.
type Comment struct {
	CardID string
	Text   string
	// Mentions are usernames written as @username before the text, which
	// is how Trello notifies members.
	Mentions []string
	// DeliveryID names the delivery; its Marker ends the comment.
	DeliveryID string
}

// body is the comment's full text.
func (c Comment) body() string {
	var b strings.Builder
	for _, m := range c.Mentions {
		b.WriteString("@" + strings.TrimPrefix(m, "@") + " ")
	}
	b.WriteString(strings.TrimRight(c.Text, "\n"))
	b.WriteString("\n\n" + Marker(c.DeliveryID))
	return b.String()
}

// AddComment posts c unless a comment of the card already carries its
// marker, and returns the comment's action; existed says it was found
// rather than posted. It costs one read (the card's comments) and at most
// one write per attempt.
func (p *Pusher) AddComment(ctx context.Context, c Comment) (a Action, existed bool, err error) {
	if c.CardID == "" || strings.TrimSpace(c.Text) == "" {
		return Action{}, false, errors.New("commenting: card id and text are required")
	}
	if !markerRef.MatchString(c.DeliveryID) {
		return Action{}, false, fmt.Errorf("commenting on card %s: delivery id %q must be 1-100 letters, digits or ._:-", c.CardID, c.DeliveryID)
	}
	marker := Marker(c.DeliveryID)
	for attempt := 1; ; attempt++ {
		if found, ok, err := p.findComment(ctx, c.CardID, marker); err != nil {
			return Action{}, false, err
		} else if ok {
			return found, true, nil
		}
		a, err := p.c.AddComment(ctx, c.CardID, c.body())
		if err == nil {
			return a, false, nil
		}
		var we *WriteError
		if !errors.As(err, &we) || attempt >= p.attempts || ctx.Err() != nil {
			return Action{}, false, err
		}
		// Unknown fate: the next round searches before it posts.
	}
}

// findComment looks for marker among the card's comments.
func (p *Pusher) findComment(ctx context.Context, cardID, marker string) (Action, bool, error) {
	acts, err := p.c.CardActions(ctx, cardID, "commentCard")
	if err != nil {
		return Action{}, false, fmt.Errorf("looking for an earlier comment on card %s: %w", cardID, err)
	}
	for _, a := range acts {
		if strings.Contains(a.Data.Text, marker) {
			return a, true, nil
		}
	}
	return Action{}, false, nil
}

// cardLabels reads a card's board and labels.
func (p *Pusher) cardLabels(ctx context.Context, cardID string) (boardID string, labels []Label, err error) {
	var c Card
	if err := p.c.get(ctx, &c, url.Values{"fields": {"idBoard,idLabels,labels"}}, "cards", cardID); err != nil {
		return "", nil, fmt.Errorf("reading card %s: %w", cardID, err)
	}
	return c.IDBoard, c.Labels, nil
}

func labelNamed(labels []Label, name string) (Label, bool) {
	for _, l := range labels {
		if l.Name == name {
			return l, true
		}
	}
	return Label{}, false
}

// AddLabel puts the board label called name on the card, creating it on
// the card's board (with color, which may be empty) when the board has
// none by that name. A card that has the label already is left as is.
func (p *Pusher) AddLabel(ctx context.Context, cardID, name, color string) error {
	if name == "" {
		return errors.New("adding a label: name is required")
	}
	for attempt := 1; ; attempt++ {
		boardID, onCard, err := p.cardLabels(ctx, cardID)
		if err != nil {
			return err
		}
		if _, ok := labelNamed(onCard, name); ok {
			return nil
		}
		l, err := p.boardLabel(ctx, boardID, name, color)
		if err != nil {
			return err
		}
		_, err = p.c.AddLabel(ctx, cardID, l.ID)
		var ae *APIError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "already"):
			return nil // added by someone else meanwhile
		}
		var we *WriteError
		if !errors.As(err, &we) || attempt >= p.attempts || ctx.Err() != nil {
			return err
		}
	}
}

// boardLabel finds the board's label called name, or creates it. A create
// whose fate is unknown is followed by a fresh look before another try.
func (p *Pusher) boardLabel(ctx context.Context, boardID, name, color string) (Label, error) {
	for attempt := 1; ; attempt++ {
		labels, err := p.c.Labels(ctx, boardID)
		if err != nil {
			return Label{}, err
		}
		if l, ok := labelNamed(labels, name); ok {
			return l, nil
		}
		l, err := p.c.CreateLabel(ctx, boardID, name, color)
		if err == nil {
			return l, nil
		}
		var we *WriteError
		if !errors.As(err, &we) || attempt >= p.attempts || ctx.Err() != nil {
			return Label{}, err
		}
	}
}

// RemoveLabel takes the label called name off the card; a card without
// it is left as is. The label stays on the board.
func (p *Pusher) RemoveLabel(ctx context.Context, cardID, name string) error {
	for attempt := 1; ; attempt++ {
		_, onCard, err := p.cardLabels(ctx, cardID)
		if err != nil {
			return err
		}
		l, ok := labelNamed(onCard, name)
		if !ok {
			return nil
		}
		err = p.c.RemoveLabel(ctx, cardID, l.ID)
		var ae *APIError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "not on the card"):
			return nil
		}
		var we *WriteError
		if !errors.As(err, &we) || attempt >= p.attempts || ctx.Err() != nil {
			return err
		}
	}
}
