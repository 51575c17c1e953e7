package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// Unmapped is a person a source names on stored records whom the config's
// people: do not name, so that their messages start and stop no response
// clock, their moves and time count for nobody.
type Unmapped struct {
	Source mapping.SourceInfo
	// Person is what the source says of them: its reference, and the
	// username, name and email it lists, when it lists them.
	Person record.Person
	// Records counts the live records naming them, by kind: messages,
	// status_changes, created_tasks, assigned_tasks, time_entries.
	Records map[string]int
	// Side and ClientID are what their email domain tells, when it does.
	Side, ClientID string
	// NamedNow is the config person who would now match them: the config
	// names them already and only `karkas remap` is missing.
	NamedNow string
}

// Total is the number of records naming the person.
func (u Unmapped) Total() int {
	n := 0
	for _, v := range u.Records {
		n += v
	}
	return n
}

// FindUnmapped lists the people the stored records of the given sources
// name and resolved to nobody, most records first, with what the sources
// list of them (a Trello member's username and name) and whether the
// config, as it is now, would name them (then a remap is due).
func FindUnmapped(ctx context.Context, st *store.Store, res *mapping.Resolver, sources []mapping.SourceInfo) ([]Unmapped, error) {
	info := map[string]mapping.SourceInfo{}
	for _, s := range sources {
		info[s.ID] = s
	}
	look := newLookup()
	people, err := st.PersonKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range people {
		look.addPerson(p.SourceID, record.Person{ExternalID: p.ExternalID, Username: p.Username, Name: p.Name, Email: p.Email})
	}
	byKey := map[[2]string]*Unmapped{}
	var order [][2]string
	note := func(sourceID, ref, kind, name string, n int) *Unmapped {
		src, ok := info[sourceID]
		if !ok {
			return nil
		}
		k := [2]string{sourceID, ref}
		u := byKey[k]
		if u == nil {
			p, _ := look.Person(sourceID, ref)
			p.ExternalID = ref
			if src.Identity == mapping.IdentityEmail && p.Email == "" {
				p.Email = ref
			}
			u = &Unmapped{Source: src, Person: p, Records: map[string]int{}}
			if now := res.Who(src, look, ref); now.PersonID != "" {
				u.NamedNow = now.PersonID
			}
			byKey[k] = u
			order = append(order, k)
		}
		u.Person.Name = cmp.Or(u.Person.Name, name)
		u.Records[kind] += n
		return u
	}
	refs, err := st.UnmappedRefs(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if u := note(r.SourceID, r.Ref, r.Kind, r.Name, r.Records); u != nil && r.Side != mapping.SideUnknown {
			u.Side, u.ClientID = cmp.Or(u.Side, r.Side), cmp.Or(u.ClientID, r.ClientID)
		}
	}
	tasks, err := st.AssigneeRefs(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		src, ok := info[t.SourceID]
		if !ok {
			continue
		}
		var refs, ids []string
		if err := json.Unmarshal([]byte(t.Refs), &refs); err != nil {
			return nil, fmt.Errorf("stored assignees of a task of %s: %w", t.SourceID, err)
		}
		if err := json.Unmarshal([]byte(t.AssigneeIDs), &ids); err != nil {
			return nil, fmt.Errorf("stored assignees of a task of %s: %w", t.SourceID, err)
		}
		for _, ref := range refs {
			// Stored truth: the assignee counts for someone only if the
			// stored resolution holds the person the ref names.
			if p := res.Who(src, look, ref); p.PersonID == "" || !slices.Contains(ids, p.PersonID) {
				note(t.SourceID, ref, "assigned_tasks", "", 1)
			}
		}
	}
	out := make([]Unmapped, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	slices.SortStableFunc(out, func(a, b Unmapped) int {
		return cmp.Or(b.Total()-a.Total(), cmp.Compare(a.Source.ID, b.Source.ID), cmp.Compare(a.Person.ExternalID, b.Person.ExternalID))
	})
	return out, nil
}
