package trello

import (
	"context"
	"fmt"
	"net/url"
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
// lists (closed ones included) and members: one /batch request per board,
// plus the listing of the member's boards when selecting by name. It is
// what `karkas discover trello` prints and what `karkas validate
// --online` checks a mapping against.
func (s *Source) Discover(ctx context.Context) ([]DiscoveredBoard, error) {
	targets, err := s.targets(ctx, pullCursor{Boards: map[string]boardCursor{}})
	if err != nil {
		return nil, err
	}
	out := make([]DiscoveredBoard, 0, len(targets))
	for _, t := range targets {
		ref := t.ref
		res, err := s.client.Batch(ctx, []string{
			BatchURL(url.Values{"fields": {boardFields}}, "boards", ref),
			BatchURL(url.Values{"filter": {"all"}}, "boards", ref, "lists"),
			BatchURL(url.Values{"fields": {"username,fullName,initials,avatarHash"}}, "boards", ref, "members"),
		})
		if err != nil {
			return nil, fmt.Errorf("discovering board %s: %w", ref, err)
		}
		d := DiscoveredBoard{Board: Board{ID: t.id, Name: t.name}}
		for i, dst := range []any{&d.Board, &d.Lists, &d.Members} {
			if err := res[i].Decode(dst); err != nil {
				if !isGone(err) {
					return nil, fmt.Errorf("discovering board %s: %w", ref, err)
				}
				d = DiscoveredBoard{Board: Board{ID: ref, Name: t.name}, Err: err}
				break
			}
		}
		out = append(out, d)
	}
	return out, nil
}
