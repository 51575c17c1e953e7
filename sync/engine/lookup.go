package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// lookup backs mapping.Lookup with the store's tasks and containers, kept
// current with every batch built. An eager lookup loads them all once per
// engine: the cheapest for a pull of a whole source. A lazy one (st set)
// reads each key from the store the first time it is asked for, and
// remembers the answer: a webhook's pull of one card then reads a few rows,
// not every task of the store.
type lookup struct {
	tasks      map[[2]string]mapping.TaskLink
	byRef      map[string]mapping.TaskLink
	containers map[[2]string]string
	people     map[[2]string]record.Person
	// creators are the stored tasks' creators and creation times.
	creators map[[2]string]creation

	// Lazy: the store, the keys known to have nothing stored, the first
	// error of a read (the batch that met it fails: see failed), and the
	// refs of the tasks this engine's runs built (what heal can link).
	st      *store.Store
	ctx     context.Context
	missing map[string]bool
	err     error
	added   map[string]bool
}

// creation is who created a task and when.
type creation struct {
	by string
	at time.Time
}

func newLookup() *lookup {
	return &lookup{tasks: map[[2]string]mapping.TaskLink{}, byRef: map[string]mapping.TaskLink{}, containers: map[[2]string]string{},
		people: map[[2]string]record.Person{}, creators: map[[2]string]creation{}, added: map[string]bool{}}
}

// newLazyLookup is a lookup that reads the store key by key; ctx bounds
// its reads.
func newLazyLookup(ctx context.Context, st *store.Store) *lookup {
	l := newLookup()
	l.st, l.ctx, l.missing = st, ctx, map[string]bool{}
	return l
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
		l.storedTask(t)
	}
	return nil
}

// failed is the first error of a lazy read, if any: what was resolved
// since may have missed a stored row, so the batch must not be written.
func (l *lookup) failed() error { return l.err }

// fetch reads a key from the store, once, when the lookup is lazy: key
// names it among the misses; read stores what it finds in the maps.
func (l *lookup) fetch(key string, read func() (bool, error)) {
	if l.st == nil || l.missing[key] || l.err != nil {
		return
	}
	ok, err := read()
	if err != nil {
		l.err = err
		return
	}
	if !ok {
		l.missing[key] = true
	}
}

func (l *lookup) storedTask(t store.TaskKey) {
	l.setTask(store.TaskRow{SourceID: t.SourceID, ExternalID: t.ExternalID, ShortRef: t.ShortRef, ClientID: t.ClientID, Labels: t.Labels,
		CreatorRef: t.CreatorRef, CreatedAt: t.CreatedAt})
}

func (l *lookup) addContainer(sourceID, externalID, clientID string) {
	l.containers[[2]string{sourceID, externalID}] = clientID
}

func (l *lookup) addPerson(sourceID string, p record.Person) {
	l.people[[2]string{sourceID, p.ExternalID}] = p
}

func (l *lookup) Person(sourceID, externalID string) (record.Person, bool) {
	k := [2]string{sourceID, externalID}
	p, ok := l.people[k]
	if !ok {
		l.fetch("person\x00"+sourceID+"\x00"+externalID, func() (bool, error) {
			pk, found, err := l.st.PersonKeyOf(l.ctx, sourceID, externalID)
			if found {
				l.addPerson(sourceID, record.Person{ExternalID: pk.ExternalID, Username: pk.Username, Name: pk.Name, Email: pk.Email})
			}
			return found, err
		})
		p, ok = l.people[k]
	}
	return p, ok
}

// addTask is a task a batch of this engine built.
func (l *lookup) addTask(t store.TaskRow) {
	l.setTask(t)
	l.added[t.ExternalID] = true
	if t.ShortRef != "" {
		l.added[t.ShortRef] = true
	}
}

func (l *lookup) setTask(t store.TaskRow) {
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

// task reads a stored task into the maps, once, when the lookup is lazy.
func (l *lookup) task(sourceID, externalID string) {
	if _, ok := l.tasks[[2]string{sourceID, externalID}]; ok {
		return
	}
	l.fetch("task\x00"+sourceID+"\x00"+externalID, func() (bool, error) {
		t, found, err := l.st.TaskKeyOf(l.ctx, sourceID, externalID)
		if found {
			l.storedTask(t)
		}
		return found, err
	})
}

func (l *lookup) Task(sourceID, externalID string) (mapping.TaskLink, bool) {
	l.task(sourceID, externalID)
	t, ok := l.tasks[[2]string{sourceID, externalID}]
	return t, ok
}

// creator is who created a stored task, and when.
func (l *lookup) creator(sourceID, externalID string) (creation, bool) {
	l.task(sourceID, externalID)
	c, ok := l.creators[[2]string{sourceID, externalID}]
	return c, ok
}

func (l *lookup) TaskByRef(ref string) (mapping.TaskLink, bool) {
	t, ok := l.byRef[ref]
	if !ok {
		l.fetch("ref\x00"+ref, func() (bool, error) {
			ts, err := l.st.TaskKeysByRef(l.ctx, ref)
			if err != nil || len(ts) == 0 {
				return false, err
			}
			for _, k := range ts {
				if _, known := l.tasks[[2]string{k.SourceID, k.ExternalID}]; !known {
					l.storedTask(k)
				}
			}
			if _, ok := l.byRef[ref]; !ok {
				// Every task of the ref was known by its id already,
				// under another ref: the first of them is the one.
				l.byRef[ref] = l.tasks[[2]string{ts[0].SourceID, ts[0].ExternalID}]
			}
			return true, nil
		})
		t, ok = l.byRef[ref]
	}
	return t, ok
}

func (l *lookup) ContainerClient(sourceID, externalID string) (string, bool) {
	k := [2]string{sourceID, externalID}
	c, ok := l.containers[k]
	if !ok {
		l.fetch("container\x00"+sourceID+"\x00"+externalID, func() (bool, error) {
			ck, found, err := l.st.ContainerKeyOf(l.ctx, sourceID, externalID)
			if found {
				l.addContainer(sourceID, externalID, ck.ClientID)
			}
			return found, err
		})
		c, ok = l.containers[k]
	}
	return c, ok
}
