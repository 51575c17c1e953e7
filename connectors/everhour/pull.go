package everhour

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/record"
)

// flexID reads an id written as a number, a numeric string, or an object
// with an id (the descriptions agree that a record's user is an int id; a
// client that also takes {"id": …} keeps working if a version embeds it).
type flexID int64

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = 0
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			ID flexID `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*f = o.ID
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("id %q is not a number", s)
		}
		*f = flexID(n)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexID(n)
	return nil
}

type apiTask struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Projects   []string `json:"projects"`
	Labels     []string `json:"labels"`
	Unbillable *bool    `json:"unbillable"`
}

type apiRecord struct {
	ID         flexID   `json:"id"`
	Time       int64    `json:"time"`
	User       flexID   `json:"user"`
	Date       string   `json:"date"`
	Task       *apiTask `json:"task"`
	IsLocked   bool     `json:"isLocked"`
	IsInvoiced bool     `json:"isInvoiced"`
	Comment    string   `json:"comment"`
}

type apiUser struct {
	ID    flexID `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type apiProject struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Client flexID `json:"client"`
}

type apiClient struct {
	ID       flexID   `json:"id"`
	Name     string   `json:"name"`
	Projects []string `json:"projects"`
}

// directory is what names the ids of time records: users, projects and
// their clients, read once and reused (see the package doc).
type directory struct {
	at       time.Time
	users    map[int64]apiUser
	projects map[string]apiProject
	clients  map[int64]string
	// clientOf maps a project to its client from the clients' side, for
	// projects that do not name theirs.
	clientOf map[string]int64
}

func (d *directory) knows(r *apiRecord) bool {
	if _, ok := d.users[int64(r.User)]; !ok {
		return false
	}
	if r.Task != nil && len(r.Task.Projects) > 0 {
		if _, ok := d.projects[r.Task.Projects[0]]; !ok {
			return false
		}
	}
	return true
}

// directoryFor returns the lists, reading them when there are none yet,
// when they are older than directoryTTL, or when recs name an id they do
// not know and they are older than missRefresh.
func (t *Tracker) directoryFor(ctx context.Context, recs []apiRecord) (*directory, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	d := t.dir
	stale := d == nil || now.Sub(d.at) >= directoryTTL
	if !stale && now.Sub(d.at) >= missRefresh {
		for i := range recs {
			if !d.knows(&recs[i]) {
				stale = true
				break
			}
		}
	}
	if !stale {
		return d, nil
	}
	nd := &directory{at: now, users: map[int64]apiUser{}, projects: map[string]apiProject{}, clients: map[int64]string{}, clientOf: map[string]int64{}}
	var users []apiUser
	if _, err := t.http.Get(ctx, "/team/users", nil, &users); err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	for _, u := range users {
		nd.users[int64(u.ID)] = u
	}
	var projects []apiProject
	if _, err := t.http.Get(ctx, "/projects", nil, &projects); err != nil {
		return nil, fmt.Errorf("listing projects: %w", err)
	}
	for _, p := range projects {
		nd.projects[p.ID] = p
	}
	var clients []apiClient
	if _, err := t.http.Get(ctx, "/clients", nil, &clients); err != nil {
		return nil, fmt.Errorf("listing clients: %w", err)
	}
	for _, c := range clients {
		nd.clients[int64(c.ID)] = c.Name
		for _, p := range c.Projects {
			nd.clientOf[p] = int64(c.ID)
		}
	}
	t.dir = nd
	return nd, nil
}

// Entries lists the team's time records dated from..to, page by page (see
// the package doc), and calls fn with each page's entries and problems.
func (t *Tracker) Entries(ctx context.Context, from, to time.Time, fn func(timetrack.Page) error) error {
	seen := map[int64]bool{}
	for page := 1; ; page++ {
		q := map[string][]string{
			"from":  {from.Format(time.DateOnly)},
			"to":    {to.Format(time.DateOnly)},
			"limit": {strconv.Itoa(t.pageSize)},
			"page":  {strconv.Itoa(page)},
		}
		var raw []json.RawMessage
		if _, err := t.http.Get(ctx, "/team/time", q, &raw); err != nil {
			return fmt.Errorf("listing time records, page %d: %w", page, err)
		}
		var p timetrack.Page
		recs := make([]apiRecord, 0, len(raw))
		for i, m := range raw {
			var r apiRecord
			if err := json.Unmarshal(m, &r); err != nil {
				p.Problems = append(p.Problems, record.Problem{
					Where:   fmt.Sprintf("everhour GET /team/time page %d, record %d", page, i+1),
					Message: fmt.Sprintf("unreadable time record skipped: %v", err),
				})
				continue
			}
			if r.ID > 0 {
				if seen[int64(r.ID)] {
					// Shifted onto this page by a record added in front.
					continue
				}
				seen[int64(r.ID)] = true
			}
			recs = append(recs, r)
		}
		if len(recs) > 0 {
			d, err := t.directoryFor(ctx, recs)
			if err != nil {
				return err
			}
			for i := range recs {
				e, prob := d.entry(&recs[i])
				if prob != nil {
					p.Problems = append(p.Problems, *prob)
					continue
				}
				p.Entries = append(p.Entries, e)
			}
		}
		if len(p.Entries) > 0 || len(p.Problems) > 0 {
			if err := fn(p); err != nil {
				return err
			}
		}
		if len(raw) < t.pageSize {
			return nil
		}
	}
}

// labels are a task's labels as entry tags: trimmed, without empty ones
// and repeats, in the task's order; nil when none are left.
func labels(ls []string) []string {
	var out []string
	for _, l := range ls {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// entry maps a record (see the package doc), or says why it cannot.
func (d *directory) entry(r *apiRecord) (record.TimeEntry, *record.Problem) {
	id := strconv.FormatInt(int64(r.ID), 10)
	problem := func(msg string) (record.TimeEntry, *record.Problem) {
		return record.TimeEntry{}, &record.Problem{Where: "everhour time record " + id, Message: msg}
	}
	switch {
	case r.ID <= 0:
		return problem("time record without an id skipped")
	case r.User <= 0:
		return problem("time record without a user skipped")
	case r.Time < 0:
		return problem(fmt.Sprintf("negative time %d skipped", r.Time))
	}
	if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
		return problem(fmt.Sprintf("bad date %q skipped", r.Date))
	}
	e := record.TimeEntry{
		ExternalID: id,
		PersonID:   strconv.FormatInt(int64(r.User), 10),
		Date:       r.Date,
		Seconds:    r.Time,
		Note:       r.Comment,
		Locked:     r.IsLocked || r.IsInvoiced,
	}
	if u, ok := d.users[int64(r.User)]; ok {
		e.PersonName, e.PersonEmail = u.Name, u.Email
	}
	if r.Task != nil {
		e.TaskID, e.TaskName = r.Task.ID, r.Task.Name
		e.Tags = labels(r.Task.Labels)
		if r.Task.Unbillable != nil {
			b := !*r.Task.Unbillable
			e.Billable = &b
		}
		if len(r.Task.Projects) > 0 {
			e.ProjectID = r.Task.Projects[0]
			p := d.projects[e.ProjectID]
			e.ProjectName = p.Name
			client := int64(p.Client)
			if client == 0 {
				client = d.clientOf[e.ProjectID]
			}
			e.ClientName = d.clients[client]
		}
	}
	return e, nil
}
