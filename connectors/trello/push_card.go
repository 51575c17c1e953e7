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

// A pinned card is a card of a board that karkas keeps for itself (the
// client's hours report, one comment a month). It is recognised by the
// marker in its description, not by its name, so that people may rename
// it; it is created once, at the top of the board's first open list.

// PinnedCard names a pinned card.
type PinnedCard struct {
	// Board is the board's id, short link or name (among the token
	// member's open boards).
	Board string
	// Name is the name the card is created with.
	Name string
	// Key identifies the card among karkas's pinned cards of the board
	// (hours-report): its Marker ends the description. 1-100 letters,
	// digits or ._:-.
	Key string
	// Desc is the description the card is created with, before the
	// marker.
	Desc string
}

// boardRef matches what Trello accepts in /boards/{id}: an object id or
// a short link.
var boardRef = regexp.MustCompile(`^([0-9a-f]{24}|[A-Za-z0-9]{8})$`)

// PinnedCard returns the open card of the board whose description carries
// the marker of c.Key, creating it when there is none; created says it
// was made now. A create whose fate is unknown is followed by a fresh
// look before another try, so a retry never makes a second card.
func (p *Pusher) PinnedCard(ctx context.Context, c PinnedCard) (card Card, created bool, err error) {
	if !markerRef.MatchString(c.Key) {
		return Card{}, false, fmt.Errorf("pinned card: key %q must be 1-100 letters, digits or ._:-", c.Key)
	}
	if strings.TrimSpace(c.Name) == "" {
		return Card{}, false, errors.New("pinned card: a name is required")
	}
	boardID, err := p.resolveBoard(ctx, c.Board)
	if err != nil {
		return Card{}, false, err
	}
	marker := Marker(c.Key)
	for attempt := 1; ; attempt++ {
		cards, err := p.c.Cards(ctx, boardID, CardsOptions{Filter: "open", Fields: "name,desc,closed,idList,idBoard,shortLink,url"})
		if err != nil {
			return Card{}, false, err
		}
		for _, cd := range cards {
			if strings.Contains(cd.Desc, marker) {
				return cd.Card, false, nil
			}
		}
		lists, err := p.c.Lists(ctx, boardID)
		if err != nil {
			return Card{}, false, err
		}
		listID := ""
		for _, l := range lists {
			if !l.Closed && (listID == "" || l.Pos < posOf(lists, listID)) {
				listID = l.ID
			}
		}
		if listID == "" {
			return Card{}, false, &APIError{Status: http.StatusNotFound, Message: fmt.Sprintf("board %s has no open list to put the card %q in", boardID, c.Name)}
		}
		desc := strings.TrimRight(c.Desc, "\n")
		if desc != "" {
			desc += "\n\n"
		}
		form := url.Values{"idList": {listID}, "name": {c.Name}, "desc": {desc + marker}, "pos": {"top"}}
		var out Card
		err = p.c.write(ctx, http.MethodPost, &out, form, "cards")
		if err == nil {
			return out, true, nil
		}
		err = fmt.Errorf("creating card %q on board %s: %w", c.Name, boardID, err)
		var we *WriteError
		if !errors.As(err, &we) || attempt >= p.attempts || ctx.Err() != nil {
			return Card{}, false, err
		}
	}
}

func posOf(lists []List, id string) float64 {
	for _, l := range lists {
		if l.ID == id {
			return l.Pos
		}
	}
	return 0
}

// resolveBoard returns the id of a board named by id, short link or name.
func (p *Pusher) resolveBoard(ctx context.Context, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", errors.New("pinned card: no board")
	}
	if boardRef.MatchString(ref) {
		b, err := p.c.Board(ctx, ref)
		if err == nil {
			return b.ID, nil
		}
		var nf *NotFoundError
		var ae *APIError
		if !errors.As(err, &nf) && !(errors.As(err, &ae) && ae.Status == http.StatusBadRequest) {
			return "", err
		}
		// An eight-letter name is looked for among the boards.
	}
	boards, err := p.c.Boards(ctx, "open")
	if err != nil {
		return "", err
	}
	for _, b := range boards {
		if strings.EqualFold(strings.TrimSpace(b.Name), ref) {
			return b.ID, nil
		}
	}
	return "", &NotFoundError{Method: http.MethodGet, Path: "members/me/boards", Message: fmt.Sprintf("no open board %q", ref)}
}
