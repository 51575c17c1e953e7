package trello_test

import (
	"context"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
)

// comments returns the texts of a card's comments, through the API.
func comments(t *testing.T, f *fixture, cardID string) []string {
	t.Helper()
	acts, err := f.client.CardActions(context.Background(), cardID, "commentCard")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range acts {
		out = append(out, a.Data.Text)
	}
	return out
}

func TestAddComment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault *trellofake.Fault
	}{
		{"no fault", nil},
		// The fake carries the POST out and the reply never comes: the
		// client times out, the pusher finds its comment instead of
		// posting a second one.
		{"reply lost after the comment was made", &trellofake.Fault{Kind: trellofake.FaultLoseReply, Method: "POST", Route: "/1/cards/*/actions/comments"}},
		// A 502 from a gateway: Trello may or may not have done it; here it
		// did not, so the pusher posts again, once.
		{"gateway error before Trello saw it", &trellofake.Fault{Kind: trellofake.FaultStatus, Status: 502, Method: "POST", Route: "/1/cards/*/actions/comments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSmallWorld()
			f := newFixture(t, s.w, s.clock)
			p := trello.NewPusher(f.client)
			if tt.fault != nil {
				f.srv.Arm(*tt.fault)
			}
			c := trello.Comment{CardID: s.card1.ID, Text: "The fix is live, please check.", Mentions: []string{"johncarter"}, DeliveryID: "d-42"}
			a, existed, err := p.AddComment(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if tt.fault != nil && tt.fault.Kind == trellofake.FaultLoseReply && !existed {
				t.Errorf("after a lost reply the comment was not found but posted again")
			}
			// A retry by the outbox after a crash: found, not posted.
			again, existed, err := p.AddComment(context.Background(), c)
			if err != nil || !existed || again.ID != a.ID {
				t.Errorf("second AddComment: %+v existed=%v err=%v, want the first comment %s", again, existed, err, a.ID)
			}
			var marked []string
			for _, text := range comments(t, f, s.card1.ID) {
				if strings.Contains(text, trello.Marker("d-42")) {
					marked = append(marked, text)
				}
			}
			if len(marked) != 1 {
				t.Fatalf("%d comments carry the marker, want exactly 1: %q", len(marked), marked)
			}
			if want := "@johncarter The fix is live, please check.\n\n[karkas:d-42]: #"; marked[0] != want {
				t.Errorf("comment text %q, want %q", marked[0], want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	t.Parallel()
	s := newSmallWorld()
	f := newFixture(t, s.w, s.clock)
	p := trello.NewPusher(f.client)
	ctx := context.Background()
	count := func(name string) (onBoard int, onCard bool) {
		t.Helper()
		for _, l := range s.w.Labels(s.board.ID) {
			if l.Name == name {
				onBoard++
			}
		}
		var c trello.Card
		cards, err := f.client.Cards(ctx, s.board.ID, trello.CardsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, fc := range cards {
			if fc.ID == s.card2.ID {
				c = fc.Card
			}
		}
		for _, l := range c.Labels {
			onCard = onCard || l.Name == name
		}
		return onBoard, onCard
	}
	// Creating the label: the reply is lost after Trello made it.
	f.srv.Arm(trellofake.Fault{Kind: trellofake.FaultLoseReply, Method: "POST", Route: "/1/labels"})
	if err := p.AddLabel(ctx, s.card2.ID, "Waiting for client", "orange"); err != nil {
		t.Fatal(err)
	}
	if n, on := count("Waiting for client"); n != 1 || !on {
		t.Fatalf("after AddLabel: %d labels on the board, on card %v; want 1, true", n, on)
	}
	// Adding it again, with the add's reply lost this time.
	f.srv.Arm(trellofake.Fault{Kind: trellofake.FaultLoseReply, Method: "POST", Route: "/1/cards/*/idLabels"})
	if err := p.AddLabel(ctx, s.card2.ID, "Waiting for client", "orange"); err != nil {
		t.Fatal(err)
	}
	if n, on := count("Waiting for client"); n != 1 || !on {
		t.Fatalf("after a second AddLabel: %d labels, on card %v", n, on)
	}
	if err := p.RemoveLabel(ctx, s.card2.ID, "Waiting for client"); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveLabel(ctx, s.card2.ID, "Waiting for client"); err != nil {
		t.Fatalf("removing a label the card does not have: %v", err)
	}
	if n, on := count("Waiting for client"); n != 1 || on {
		t.Fatalf("after RemoveLabel: %d labels on the board, on card %v; want 1, false", n, on)
	}
}
