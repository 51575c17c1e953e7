package report

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
)

// HoursCache keeps the hour reports it built while they stay true: while
// nothing was committed to the store (store.DataVersion) and no event of
// the period the rows hold has come due since (buildHours' until). A month
// of a busy client is thousands of rows to read; the web UI asks for the
// same report on every view of a client page, a report or a cabinet.
//
// A report served from the cache is the one BuildHours would make now,
// but for GeneratedAt, which is now. A store that cannot name its version
// (an in-memory SQLite database) is read every time.
type HoursCache struct {
	Store  *store.Store
	Config *mapping.Config

	mu           sync.Mutex
	items        map[string]*cachedHours
	order        []string
	hits, misses int
}

// cacheSize is how many reports an HoursCache keeps; the oldest goes
// first.
const cacheSize = 32

type cachedHours struct {
	version string
	// built is the request's now the report was made as of; until the
	// first instant after it at which the rows make another report.
	built, until time.Time
	h            *Hours
}

// Hours is BuildHours, from the cache when it may be.
func (c *HoursCache) Hours(ctx context.Context, req HoursRequest) (*Hours, error) {
	version, err := c.Store.DataVersion(ctx)
	if err != nil || version == "" {
		return BuildHours(ctx, c.Store, c.Config, req)
	}
	key := strings.Join(append([]string{req.ClientID, req.Period.Label, req.Period.Start.Location().String()}, req.OutOfScopeLabels...), "\x00")
	c.mu.Lock()
	e := c.items[key]
	if e != nil && e.version == version && !req.Now.Before(e.built) && (e.until.IsZero() || req.Now.Before(e.until)) {
		c.hits++
		c.mu.Unlock()
		h := *e.h
		h.GeneratedAt = req.Now.UTC().Truncate(time.Second)
		h.Complete = !req.Now.Before(req.Period.End)
		return &h, nil
	}
	c.misses++
	c.mu.Unlock()

	// The version is read before the rows: a commit while they are read
	// makes the next version another, and this report is not served again.
	h, until, err := buildHours(ctx, c.Store, c.Config, req)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]*cachedHours{}
	}
	if _, ok := c.items[key]; !ok {
		c.order = append(c.order, key)
	}
	c.items[key] = &cachedHours{version: version, built: req.Now, until: until, h: h}
	for len(c.order) > cacheSize {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	out := *h
	return &out, nil
}

// Stats says how many reports came from the cache and how many were built.
func (c *HoursCache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
