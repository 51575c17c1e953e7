package trello

import (
	"encoding/json"
	"testing"
	"time"
)

func TestObjectIDTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		want time.Time
		ok   bool
	}{
		{name: "object id", id: "659bb990c0ffee0000000001", want: time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC), ok: true},
		{name: "upper case hex", id: "659BB990C0FFEE0000000001", want: time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC), ok: true},
		{name: "too short", id: "659bb990", ok: false},
		{name: "not hex", id: "659bb990c0ffee00000000zz", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := objectIDTime(tt.id)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("objectIDTime(%q) = %v, %v; want %v, %v", tt.id, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestListMove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		data     string
		from, to string
		ok       bool
	}{
		{
			name: "list before and after",
			data: `{"card":{"id":"c"},"old":{"idList":"a"},"listBefore":{"id":"a","name":"A"},"listAfter":{"id":"b","name":"B"}}`,
			from: "a", to: "b", ok: true,
		},
		{
			name: "only old.idList and the card's new list",
			data: `{"card":{"id":"c","idList":"b"},"old":{"idList":"a"}}`,
			from: "a", to: "b", ok: true,
		},
		{name: "archive", data: `{"card":{"id":"c","closed":true},"old":{"closed":false}}`},
		{name: "due date change", data: `{"card":{"id":"c","due":"2024-02-05T09:00:00.000Z"},"old":{"due":null}}`},
		{name: "description edit", data: `{"card":{"id":"c","desc":"x"},"old":{"desc":""}}`},
		{name: "same list", data: `{"card":{"id":"c"},"listBefore":{"id":"a"},"listAfter":{"id":"a"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Action{ID: "x", Type: "updateCard", Date: "2024-01-01T00:00:00Z"}
			if err := json.Unmarshal([]byte(tt.data), &a.Data); err != nil {
				t.Fatal(err)
			}
			from, to, ok := listMove(a)
			if ok != tt.ok || from.ID != tt.from || to.ID != tt.to {
				t.Errorf("listMove = %q, %q, %v; want %q, %q, %v", from.ID, to.ID, ok, tt.from, tt.to, tt.ok)
			}
			// Every updateCard here but the move within one list changes
			// a field karkas keeps the history of, or the list.
			if want := tt.name != "same list"; mapped(a) != want {
				t.Errorf("mapped = %v, want %v", mapped(a), want)
			}
		})
	}
}

func TestEarliestCreationWins(t *testing.T) {
	t.Parallel()
	ix := newBoardIndex(Board{ID: "b"})
	ix.addCard("c")
	// A card moved to another board and back: the first arrival made it.
	for _, a := range []Action{
		{ID: "2", Type: "moveCardToBoard", Date: "2024-03-01T00:00:00Z", IDMemberCreator: "late", Data: ActionData{Card: &ActionCard{ID: "c"}}},
		{ID: "1", Type: "createCard", Date: "2024-01-01T00:00:00Z", IDMemberCreator: "early", Data: ActionData{Card: &ActionCard{ID: "c"}}},
	} {
		if err := ix.noteAction(a); err != nil {
			t.Fatal(err)
		}
	}
	task, _, err := ix.task(Card{ID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if task.CreatorID != "early" || !task.CreatedAt.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("creator %q at %v, want early at 2024-01-01", task.CreatorID, task.CreatedAt)
	}
}
