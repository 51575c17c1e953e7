package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// lookup backs mapping.Lookup with the store's tasks and containers, loaded
// once per engine and kept current with every batch built.
type lookup struct {
	tasks      map[[2]string]mapping.TaskLink
	byRef      map[string]mapping.TaskLink
	containers map[[2]string]string
	people     map[[2]string]record.Person
	// creators are the stored tasks' creators and creation times.
	creators map[[2]string]creation
}

// creation is who created a task and when.
type creation struct {
	by string
	at time.Time
}

func newLookup() *lookup {
	return &lookup{tasks: map[[2]string]mapping.TaskLink{}, byRef: map[string]mapping.TaskLink{}, containers: map[[2]string]string{},
		people: map[[2]string]record.Person{}, creators: map[[2]string]creation{}}
}

func (l *lookup) load(ctx context.Context, st *store.Store) error {
	cs, err := st.ContainerKeys(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		l.addContainer(c.SourceID, c.ExternalID, c.ClientID)
	}
	ps, err := st.PersonKeys(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		l.addPerson(p.SourceID, record.Person{ExternalID: p.ExternalID, Username: p.Username, Name: p.Name, Email: p.Email})
	}
	ts, err := st.TaskKeys(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		l.addTask(store.TaskRow{SourceID: t.SourceID, ExternalID: t.ExternalID, ShortRef: t.ShortRef, ClientID: t.ClientID, Labels: t.Labels,
			CreatorRef: t.CreatorRef, CreatedAt: t.CreatedAt})
	}
	return nil
}

func (l *lookup) addContainer(sourceID, externalID, clientID string) {
	l.containers[[2]string{sourceID, externalID}] = clientID
}

func (l *lookup) addPerson(sourceID string, p record.Person) {
	l.people[[2]string{sourceID, p.ExternalID}] = p
}

func (l *lookup) Person(sourceID, externalID string) (record.Person, bool) {
	p, ok := l.people[[2]string{sourceID, externalID}]
	return p, ok
}

func (l *lookup) addTask(t store.TaskRow) {
	link := mapping.TaskLink{SourceID: t.SourceID, ExternalID: t.ExternalID, ClientID: t.ClientID}
	_ = json.Unmarshal([]byte(t.Labels), &link.Labels)
	l.tasks[[2]string{t.SourceID, t.ExternalID}] = link
	if t.CreatorRef != "" {
		l.creators[[2]string{t.SourceID, t.ExternalID}] = creation{by: t.CreatorRef, at: t.CreatedAt.UTC()}
	}
	l.byRef[t.ExternalID] = link
	if t.ShortRef != "" {
		l.byRef[t.ShortRef] = link
	}
}

func (l *lookup) Task(sourceID, externalID string) (mapping.TaskLink, bool) {
	t, ok := l.tasks[[2]string{sourceID, externalID}]
	return t, ok
}

func (l *lookup) TaskByRef(ref string) (mapping.TaskLink, bool) {
	t, ok := l.byRef[ref]
	return t, ok
}

func (l *lookup) ContainerClient(sourceID, externalID string) (string, bool) {
	c, ok := l.containers[[2]string{sourceID, externalID}]
	return c, ok
}
