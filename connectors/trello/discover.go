package trello

import (
	"context"
	"fmt"
	"net/url"

	adlio "github.com/adlio/trello"
)

// DiscoveredBoard is a board the source selects, with what a mapping
// names of it: its lists and its members.
type DiscoveredBoard struct {
	Board   Board
	Lists   []List
	Members []Member
	// Err is set when the board could not be read (deleted, not shared);
	// the other fields are then empty but for what the config said.
	Err error
}

// Discover reads the boards the source's options select, each with its
// lists (closed ones included) and members: three requests per board,
// through adlio (lib.go), plus the listing of the member's boards when
// selecting by name. It is what `karkas discover trello` prints and what
// `karkas validate --online` checks a mapping against.
func (s *Source) Discover(ctx context.Context) ([]DiscoveredBoard, error) {
	targets, err := s.targets(ctx, pullCursor{Boards: map[string]boardCursor{}})
	if err != nil {
		return nil, err
	}
	out := make([]DiscoveredBoard, 0, len(targets))
	for _, t := range targets {
		d, err := s.client.discoverBoard(ctx, t.ref)
		switch {
		case err == nil:
		case isGone(err):
			d = DiscoveredBoard{Board: Board{ID: t.ref, Name: t.name}, Err: err}
		default:
			return nil, fmt.Errorf("discovering board %s: %w", t.ref, err)
		}
		if d.Board.ID == "" {
			d.Board = Board{ID: t.id, Name: t.name}
		}
		out = append(out, d)
	}
	return out, nil
}

// discoverBoard reads one board, its lists and its members through adlio.
// Lists are read into our List: adlio's holds pos as a float32, which
// rounds Trello's positions and so their order.
func (c *Client) discoverBoard(ctx context.Context, ref string) (DiscoveredBoard, error) {
	var d DiscoveredBoard
	err := c.lib(ctx, func(lc *adlio.Client) error {
		path := "boards/" + url.PathEscape(ref)
		if err := lc.Get(path, adlio.Arguments{"fields": boardFields}, &d.Board); err != nil {
			return err
		}
		if err := lc.Get(path+"/lists", adlio.Arguments{"filter": "all"}, &d.Lists); err != nil {
			return err
		}
		b := &adlio.Board{ID: ref}
		b.SetClient(lc)
		members, err := b.GetMembers(adlio.Arguments{"fields": "username,fullName,initials,avatarHash"})
		for _, m := range members {
			d.Members = append(d.Members, fromLibMember(m))
		}
		return err
	})
	return d, err
}
