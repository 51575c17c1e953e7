package harvest

import "testing"

func TestSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hours float64
		want  int64
	}{
		{0, 0},
		{1, 3600},
		{1.5, 5400},
		{0.01, 36},
		{2.11, 7596},
		{0.3333, 1200}, // 1199.88 rounds up
		{0.00013, 0},   // 0.468 s rounds down
		{0.00014, 1},   // 0.504 s rounds up
		{8.25, 29700},
	} {
		if got := Seconds(tc.hours); got != tc.want {
			t.Errorf("Seconds(%v) = %d, want %d", tc.hours, got, tc.want)
		}
	}
}

func TestTrelloCard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		x    *extLink
		want string
	}{
		{"none", nil, ""},
		{"short link from permalink", &extLink{ID: "5f1e0c2a9d3b4a0012345678", Service: "trello", Permalink: "https://trello.com/c/AbCd1234/17-fix-the-header"}, "AbCd1234"},
		{"id when the permalink has no card", &extLink{ID: "5f1e0c2a9d3b4a0012345678", Service: "Trello", Permalink: "https://example.org/x"}, "5f1e0c2a9d3b4a0012345678"},
		{"permalink alone says trello", &extLink{ID: "1", Service: "", Permalink: "https://trello.com/c/Zz9"}, "Zz9"},
		{"other service", &extLink{ID: "123", Service: "asana", Permalink: "https://app.asana.com/0/1/123"}, ""},
		{"look-alike host", &extLink{ID: "123", Service: "github", Permalink: "https://nottrello.com/c/Zz9"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := trelloCard(tc.x); got != tc.want {
				t.Errorf("trelloCard = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestConvertPage(t *testing.T) {
	t.Parallel()
	yes := true
	note := "Правки по макету"
	p := convertPage([]entry{
		{ID: 1, SpentDate: "2026-03-02", User: ref{ID: 7, Name: "Анна"}, Hours: 1.25, Notes: &note, IsLocked: true, Billable: &yes,
			Project: &ref{ID: 3, Name: "Сайт"}, Client: &ref{ID: 2, Name: "ООО Ромашка"}, Task: &ref{ID: 9, Name: "Design"}},
		{ID: 2, SpentDate: "2026-03-02", User: ref{ID: 7}, Hours: 0.5, IsRunning: true},
		{SpentDate: "2026-03-02", Hours: 1},
	})
	if len(p.Entries) != 1 || len(p.Problems) != 1 {
		t.Fatalf("got %d entries, %d problems; want 1 and 1 (running left out, no id a problem)", len(p.Entries), len(p.Problems))
	}
	e := p.Entries[0]
	if e.ExternalID != "1" || e.PersonID != "7" || e.PersonName != "Анна" || e.Seconds != 4500 || !e.Locked ||
		e.Billable == nil || !*e.Billable || e.Note != note || e.TaskID != "9" || e.ProjectID != "3" || e.ClientName != "ООО Ромашка" {
		t.Errorf("converted %+v", e)
	}
}
