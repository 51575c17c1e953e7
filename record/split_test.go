package record

import "testing"

func TestBatchSplit(t *testing.T) {
	b := &Batch{
		Containers:  []Container{{ExternalID: "c"}},
		People:      []Person{{ExternalID: "p1"}, {ExternalID: "p2"}},
		Tasks:       []Task{{ExternalID: "t"}},
		Messages:    []Message{{ExternalID: "m1"}, {ExternalID: "m2"}},
		TimeEntries: []TimeEntry{{ExternalID: "e"}},
	}
	parts := b.Split(3)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	var order []string
	for i, p := range parts {
		if p.Len() > 3 || p.Len() == 0 {
			t.Errorf("part %d holds %d records", i, p.Len())
		}
		for _, x := range p.Containers {
			order = append(order, x.ExternalID)
		}
		for _, x := range p.People {
			order = append(order, x.ExternalID)
		}
		for _, x := range p.Tasks {
			order = append(order, x.ExternalID)
		}
		for _, x := range p.Messages {
			order = append(order, x.ExternalID)
		}
		for _, x := range p.TimeEntries {
			order = append(order, x.ExternalID)
		}
	}
	want := "c p1 p2 t m1 m2 e"
	got := ""
	for i, s := range order {
		if i > 0 {
			got += " "
		}
		got += s
	}
	if got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	if one := (&Batch{}).Split(3); len(one) != 1 {
		t.Errorf("an empty batch splits into %d parts, want 1", len(one))
	}
	if same := b.Split(100); len(same) != 1 || same[0] != b {
		t.Error("a batch within the size is returned as is")
	}
}
