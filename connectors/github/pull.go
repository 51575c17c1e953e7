package github

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// Pull emits what changed in the selected repositories since cursor.
//
// Requests per repository and pull, every one conditional where GitHub
// allows it (a 304 costs no quota):
//
//   - the repository: GET /repositories/{id} with the ETag of the last
//     answer (by id, so a renamed repository is followed; the first pull
//     asks GET /repos/{owner}/{name}, which GitHub redirects after a
//     rename);
//   - its issue comments (sort=updated, direction=asc, since the newest
//     updated_at stored): edited comments come back, as their updated_at
//     moves;
//   - its issues and pull requests (state=all, sort=updated,
//     direction=asc, since likewise);
//   - its issue events, newest first, down to the newest event stored:
//     labeled, unlabeled, closed and reopened become status moves.
//
// The listings page by keyset rather than by page number: each next
// request asks since the last updated_at it got (inclusive, so equal
// timestamps are read again and deduplicated), which cannot skip an item
// that moved to the end of the order while the listing was read. Only when
// a whole page shares one second does it follow the Link header's page
// numbers. A listing whose first request is answered 304 has nothing new.
// A no-change sync after a change costs one 200 per listing (the newest
// second read again, whose ETag the cursor then keeps) and after that only
// 304s.
//
// The cursor is JSON: per repository id, its name, the ETags and since
// values of each listing, and the events' watermark. A repository's entry
// advances only in the last batch of its records, so a pull killed or
// failing mid-repository reads that repository again from where it was.
// The pull ends at the deadline option, keeping what it stored.
func (s *Source) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	return s.run(ctx, cursor, emit, nil)
}

// run is Pull of every selected repository (only nil) or of those only
// names.
func (s *Source) run(ctx context.Context, cursor string, emit connectors.Emit, only []string) error {
	// The transport waits on its clock, so the deadline is on that clock.
	ctx, cancel := connectors.WithDeadline(ctx, s.client.tr.clock.Now(), s.opts.Deadline)
	defer cancel()
	return connectors.DeadlineReached(ctx, s.pull(ctx, cursor, emit, only))
}

func (s *Source) pull(ctx context.Context, cursor string, emit connectors.Emit, only []string) error {
	cur, err := parseCursor(cursor)
	switch {
	case err != nil && only != nil:
		// Its cursor would keep only the scoped repositories: the others'
		// entries are the full pull's to rebuild.
		return fmt.Errorf("pulling repositories %s alone: %w; the next full pull reads every repository again", strings.Join(only, ", "), err)
	case err != nil:
		// A cursor this version cannot read costs a backfill, not a stuck
		// source.
		s.log.Warn("github cursor unreadable, pulling every repository again", "error", err)
		cur = pullCursor{Repos: map[string]repoCursor{}}
	}
	p := &pull{s: s, emit: emit, cur: cur}
	targets := p.targets()
	if only != nil {
		if targets, err = p.scope(ctx, targets, only); err != nil {
			return err
		}
	}

	err = connectors.FanOut(ctx, s.opts.Concurrency, len(targets), func(ctx context.Context, i int) error {
		return p.repo(ctx, targets[i])
	}, func(i int, err error) bool {
		if needsAttention(err) {
			p.flag(targets[i], err)
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	if len(p.attention) > 0 {
		slices.Sort(p.attention)
		return &connectors.AttentionError{Why: strings.Join(p.attention, "; "), Err: errors.Join(p.causes...)}
	}
	return nil
}

// ---- cursor

type pullCursor struct {
	Repos map[string]repoCursor `json:"repos"` // by repository id
}

type repoCursor struct {
	// Ref is the repository as the config names it.
	Ref string `json:"ref"`
	// Name is its full name when last read.
	Name     string       `json:"name"`
	ETag     string       `json:"etag,omitempty"`
	Issues   listCursor   `json:"issues"`
	Comments listCursor   `json:"comments"`
	Events   eventsCursor `json:"events"`
}

// listCursor is where a listing sorted by updated_at stands: the next
// pull asks since Since, conditionally on ETag when it has one (the
// ETag of exactly that request).
type listCursor struct {
	Since time.Time `json:"since,omitzero"`
	ETag  string    `json:"etag,omitempty"`
}

// eventsCursor is where the events listing stands: every event up to
// After is stored; Done are stored events above it (an event the pull
// could not yet place holds After back, see events).
type eventsCursor struct {
	After int64   `json:"after,omitempty"`
	Done  []int64 `json:"done,omitempty"`
	ETag  string  `json:"etag,omitempty"`
}

func parseCursor(s string) (pullCursor, error) {
	c := pullCursor{Repos: map[string]repoCursor{}}
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return pullCursor{Repos: map[string]repoCursor{}}, fmt.Errorf("reading github cursor: %w", err)
	}
	if c.Repos == nil {
		c.Repos = map[string]repoCursor{}
	}
	return c, nil
}

func (c pullCursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// ---- selection

// target is a repository to pull: as configured, with its id when the
// cursor knows it.
type target struct {
	ref string
	id  int64
}

func (p *pull) targets() []target {
	var out []target
	seen := map[int64]bool{}
	for _, ref := range p.s.repos {
		t := target{ref: ref}
		for id, rc := range p.cur.Repos {
			if strings.EqualFold(rc.Ref, ref) || strings.EqualFold(rc.Name, ref) {
				t.id, _ = strconv.ParseInt(id, 10, 64)
				break
			}
		}
		if t.id != 0 {
			if seen[t.id] {
				continue // the old and the new name of one repository
			}
			seen[t.id] = true
		}
		out = append(out, t)
	}
	return out
}

// Scope returns a source that pulls only the named repositories, each an
// owner/name (case does not matter; a GitHub webhook's repository.full_name)
// or a repository id (its repository.id), of the repositories the source
// pulls. A name matches a repository as configured or as last read; one
// that matches neither, as after a rename the cursor has not seen, costs
// one read of that repository to learn its id. Its Pull is Pull narrowed
// to those repositories, on the same cursor; see connectors.Scoper. The
// source reconciles nothing (GitHub's listings carry edits), so a scoped
// pull of a repository is all that Pull would do for it.
func (s *Source) Scope(repos []string) (connectors.Source, error) {
	if len(repos) == 0 {
		return nil, errors.New("scoping a github source: no repository named")
	}
	var bad []string
	for _, r := range repos {
		if id, err := strconv.ParseInt(r, 10, 64); !repoRef.MatchString(r) && (err != nil || id <= 0) {
			bad = append(bad, r) // neither owner/name nor an id: no repository the source pulls
		}
	}
	if len(bad) > 0 {
		return nil, &connectors.NotPulledError{What: "github repository", Containers: bad}
	}
	return &scoped{s: s, repos: slices.Compact(slices.Sorted(slices.Values(repos)))}, nil
}

var _ connectors.Scoper = (*Source)(nil)

// scoped is a Source narrowed to some repositories (Source.Scope).
type scoped struct {
	s     *Source
	repos []string
}

// Pull emits what changed in the scoped repositories since cursor, until
// the deadline option; the other repositories' cursor entries go on as
// they were.
func (sc *scoped) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	return sc.s.run(ctx, cursor, emit, sc.repos)
}

// scope narrows targets to the repositories only names, before anything
// is read of them.
func (p *pull) scope(ctx context.Context, targets []target, only []string) ([]target, error) {
	keep := make([]bool, len(targets))
	var unknown []string
	for _, ref := range only {
		i := slices.IndexFunc(targets, func(t target) bool { return p.names(t, ref) })
		if i < 0 {
			// Renamed since the cursor last read it, or not read yet:
			// GitHub says which repository ref is (it follows renames).
			id, full, err := p.resolve(ctx, ref)
			switch {
			case err == nil:
				i = slices.IndexFunc(targets, func(t target) bool { return id != 0 && t.id == id || t.id == 0 && strings.EqualFold(t.ref, full) })
			case !needsAttention(err):
				return nil, fmt.Errorf("reading repository %s: %w", ref, short(err))
			}
		}
		if i < 0 {
			unknown = append(unknown, ref)
			continue
		}
		keep[i] = true
	}
	if len(unknown) > 0 {
		return nil, &connectors.NotPulledError{What: "github repository", Containers: unknown}
	}
	var out []target
	for i, t := range targets {
		if keep[i] {
			out = append(out, t)
		}
	}
	return out, nil
}

// names says ref names t without asking GitHub: its id, its name as
// configured, or its name when last read.
func (p *pull) names(t target, ref string) bool {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return t.id != 0 && id == t.id
	}
	if strings.EqualFold(ref, t.ref) {
		return true
	}
	return t.id != 0 && strings.EqualFold(ref, p.cur.Repos[strconv.FormatInt(t.id, 10)].Name)
}

// resolve asks GitHub for the id and full name of the repository ref
// names (an id or owner/name).
func (p *pull) resolve(ctx context.Context, ref string) (int64, string, error) {
	c := p.s.client.gh
	var r *gh.Repository
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		r, _, err = c.Repositories.GetByID(ctx, id)
	} else {
		owner, name, _ := strings.Cut(ref, "/")
		r, _, err = c.Repositories.Get(ctx, owner, name)
	}
	if err != nil {
		return 0, "", err
	}
	return r.GetID(), r.GetFullName(), nil
}

// ---- pull

// pull is one run of Pull.
type pull struct {
	s    *Source
	emit connectors.Emit

	// mu serializes emitting and guards cur: a repository's batches go
	// out together, and each batch's cursor holds only repositories whose
	// records are all stored.
	mu  sync.Mutex
	cur pullCursor

	amu       sync.Mutex
	attention []string
	causes    []error
}

func (p *pull) flag(t target, err error) {
	name := t.ref
	if t.id != 0 {
		name = fmt.Sprintf("%s (%d)", t.ref, t.id)
	}
	why := "is gone or not visible to the token"
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusForbidden:
			why = "refuses the token (" + er.Message + "); give it read access to issues"
		case http.StatusGone:
			why = "has issues switched off"
		}
	}
	p.amu.Lock()
	defer p.amu.Unlock()
	p.attention = append(p.attention, fmt.Sprintf("repository %s %s; its data is kept (take it out of repos to stop syncing it)", name, why))
	p.causes = append(p.causes, err)
}

// needsAttention says a repository-level error is one only a human can
// fix: the repository deleted, hidden from the token (404), refused to it
// (403 without a rate limit), or without issues (410).
func needsAttention(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return false
	}
	switch er.Response.StatusCode {
	case http.StatusNotFound, http.StatusForbidden, http.StatusGone:
		return true
	}
	return false
}

func notModified(resp *gh.Response) bool {
	return resp != nil && resp.Response != nil && resp.StatusCode == http.StatusNotModified
}

// repoRead is everything read of one repository in this pull.
type repoRead struct {
	id       int64
	name     string
	repo     *gh.Repository // nil when unchanged (304)
	issues   map[int]*gh.Issue
	comments []*gh.IssueComment
	events   []*gh.IssueEvent // above the watermark, oldest first
	// newest is the newest updated_at of the issue listing.
	newest time.Time
	// whole are the issues whose comments were read whole (every page of
	// the issue's own listing), so the pull completes their messages.
	whole map[int]bool
}

// addComment adds cm to the read, or keeps the newer of two reads of one
// comment; byID indexes rd.comments.
func (rd *repoRead) addComment(byID map[int64]int, cm *gh.IssueComment) {
	if i, ok := byID[cm.GetID()]; ok {
		if !cm.GetUpdatedAt().Before(rd.comments[i].GetUpdatedAt().Time) {
			rd.comments[i] = cm
		}
		return
	}
	byID[cm.GetID()] = len(rd.comments)
	rd.comments = append(rd.comments, cm)
}

// repo pulls one repository and emits it.
func (p *pull) repo(ctx context.Context, t target) error {
	c := p.s.client.gh
	st := repoCursor{}
	if t.id != 0 {
		p.mu.Lock()
		st = p.cur.Repos[strconv.FormatInt(t.id, 10)]
		p.mu.Unlock()
	}
	rd := &repoRead{id: t.id, name: st.Name}
	if t.id != 0 {
		ctx = withStick(ctx, t.id)
		r, resp, err := c.Repositories.GetByID(withETag(ctx, st.ETag), t.id)
		switch {
		case notModified(resp):
		case err != nil:
			return fmt.Errorf("reading repository %s: %w", t.ref, short(err))
		default:
			rd.repo, st.ETag = r, resp.Header.Get("ETag")
		}
	} else {
		owner, name, _ := strings.Cut(t.ref, "/")
		h := fnv.New64a()
		h.Write([]byte(strings.ToLower(t.ref)))
		ctx = withStick(ctx, int64(h.Sum64()>>1))
		r, resp, err := c.Repositories.Get(ctx, owner, name)
		if err != nil {
			return fmt.Errorf("reading repository %s: %w", t.ref, short(err))
		}
		rd.repo, rd.id = r, r.GetID()
		ctx = withStick(ctx, rd.id)
		p.mu.Lock()
		if prev, ok := p.cur.Repos[strconv.FormatInt(rd.id, 10)]; ok {
			st = prev // known under another name: the config now names it anew
		}
		p.mu.Unlock()
		// The same answer by id is likely to carry the same ETag; if not,
		// the next pull pays one request.
		st.ETag = resp.Header.Get("ETag")
	}
	if rd.repo != nil {
		rd.name = rd.repo.GetFullName()
	}
	if rd.name == "" {
		rd.name = t.ref
	}
	st.Name, st.Ref = rd.name, t.ref
	owner, name, _ := strings.Cut(rd.name, "/")

	// Comments before issues: every comment read then belongs to an issue
	// that existed before the issue listing, so it is in the listing or
	// already stored, and links to its task.
	comments, cc, err := keyset(ctx, st.Comments, func(ctx context.Context, since time.Time, page int) ([]*gh.IssueComment, *gh.Response, error) {
		o := &gh.IssueListCommentsOptions{Sort: gh.String("updated"), Direction: gh.String("asc"), ListOptions: gh.ListOptions{PerPage: 100, Page: page}}
		if !since.IsZero() {
			o.Since = &since
		}
		return c.Issues.ListComments(ctx, owner, name, 0, o)
	}, func(x *gh.IssueComment) time.Time { return x.GetUpdatedAt().Time })
	if err != nil {
		return fmt.Errorf("reading comments of %s: %w", rd.name, short(err))
	}
	issues, ic, err := keyset(ctx, st.Issues, func(ctx context.Context, since time.Time, page int) ([]*gh.Issue, *gh.Response, error) {
		o := &gh.IssueListByRepoOptions{State: "all", Sort: "updated", Direction: "asc", Since: since, ListOptions: gh.ListOptions{PerPage: 100, Page: page}}
		return c.Issues.ListByRepo(ctx, owner, name, o)
	}, func(x *gh.Issue) time.Time { return x.GetUpdatedAt().Time })
	if err != nil {
		return fmt.Errorf("reading issues of %s: %w", rd.name, short(err))
	}
	events, firstETag, unchanged, err := p.events(ctx, owner, name, st.Events)
	if err != nil {
		return fmt.Errorf("reading issue events of %s: %w", rd.name, short(err))
	}

	rd.issues = map[int]*gh.Issue{}
	for _, is := range issues {
		if old, ok := rd.issues[is.GetNumber()]; !ok || !is.GetUpdatedAt().Before(old.GetUpdatedAt().Time) {
			rd.issues[is.GetNumber()] = is
		}
	}
	byID := map[int64]int{}
	for _, cm := range comments {
		rd.addComment(byID, cm)
	}
	// GitHub lists no deleted comment, and deleting one updates its
	// issue: every issue an incremental pull finds updated has its
	// comments read whole (one request per hundred), so that a comment
	// deleted upstream is deleted here and no answered question is left
	// open by a ghost. The first pull reads every comment anyway.
	if !st.Issues.Since.IsZero() && len(rd.issues) > 0 {
		rd.whole = map[int]bool{}
		for _, n := range slices.Sorted(maps.Keys(rd.issues)) {
			all, err := p.issueComments(ctx, owner, name, n)
			if err != nil {
				return fmt.Errorf("reading comments of %s#%d: %w", rd.name, n, short(err))
			}
			for _, cm := range all {
				rd.addComment(byID, cm)
			}
			rd.whole[n] = true
		}
	}
	rd.events = events
	rd.newest = ic.Since

	out := p.s.convert(rd, st)
	st.Comments, st.Issues = cc, ic
	if !unchanged {
		st.Events = out.events
		if !out.deferred {
			st.Events.ETag = firstETag
		}
	}
	return p.emitRepo(ctx, rd, out, st)
}

// issueComments reads every comment of one issue, oldest first.
func (p *pull) issueComments(ctx context.Context, owner, name string, number int) ([]*gh.IssueComment, error) {
	var out []*gh.IssueComment
	o := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := p.s.client.gh.Issues.ListComments(ctx, owner, name, number, o)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if resp.NextPage == 0 || len(page) == 0 {
			return out, nil
		}
		o.Page = resp.NextPage
	}
}

// keyset reads a listing sorted by updated_at ascending from lc.Since:
// see Pull. fetch asks for one page since a time; updated reads an item's
// updated_at.
func keyset[T any](ctx context.Context, lc listCursor, fetch func(context.Context, time.Time, int) ([]T, *gh.Response, error), updated func(T) time.Time) ([]T, listCursor, error) {
	since, page := lc.Since, 1
	newest := lc.Since
	var out []T
	var lastSince time.Time
	var lastPage int
	var lastETag string
	for i := 0; ; i++ {
		rctx := ctx
		if i == 0 {
			rctx = withETag(ctx, lc.ETag)
		}
		items, resp, err := fetch(rctx, since, page)
		if i == 0 && notModified(resp) {
			return nil, lc, nil
		}
		if err != nil {
			return nil, lc, err
		}
		out = append(out, items...)
		for _, it := range items {
			if u := updated(it); u.After(newest) {
				newest = u
			}
		}
		lastSince, lastPage, lastETag = since, page, resp.Header.Get("ETag")
		if resp.NextPage == 0 || len(items) == 0 {
			break
		}
		if last := updated(items[len(items)-1]); last.After(since) {
			since, page = last, 1
		} else {
			page = resp.NextPage // a whole page in one second: page on in it
		}
	}
	next := listCursor{Since: newest}
	if lastPage == 1 && lastSince.Equal(newest) {
		next.ETag = lastETag // the very request the next pull makes
	}
	return out, next, nil
}

// events reads the repository's issue events above the watermark, oldest
// first. unchanged says the first page was answered 304.
func (p *pull) events(ctx context.Context, owner, name string, ec eventsCursor) (out []*gh.IssueEvent, firstETag string, unchanged bool, err error) {
	c := p.s.client.gh
	seen := map[int64]bool{}
	for page, i := 1, 0; ; i++ {
		rctx := ctx
		if i == 0 {
			rctx = withETag(ctx, ec.ETag)
		}
		items, resp, err := c.Issues.ListRepositoryEvents(rctx, owner, name, &gh.ListOptions{PerPage: 100, Page: page})
		if i == 0 && notModified(resp) {
			return nil, ec.ETag, true, nil
		}
		if err != nil {
			return nil, "", false, err
		}
		if i == 0 {
			firstETag = resp.Header.Get("ETag")
		}
		reached := false
		for _, e := range items {
			if e.GetID() <= ec.After {
				reached = true
				continue
			}
			if !seen[e.GetID()] {
				seen[e.GetID()] = true
				out = append(out, e)
			}
		}
		if reached || resp.NextPage == 0 || len(items) == 0 {
			break
		}
		page = resp.NextPage
	}
	slices.SortFunc(out, func(a, b *gh.IssueEvent) int { return cmp.Compare(a.GetID(), b.GetID()) })
	return out, firstETag, false, nil
}

// ---- emitting

// emitRepo emits a repository's records: container, people and tasks
// first (comments and moves link to tasks), then the messages and the
// status moves. The last batch carries the cursor with this repository's
// entry advanced.
func (p *pull) emitRepo(ctx context.Context, rd *repoRead, out converted, st repoCursor) error {
	head := &record.Batch{Containers: out.containers, People: out.people, Tasks: out.tasks}
	rest := &record.Batch{StatusChanges: out.changes, FieldChanges: out.fields}
	// The messages of an issue read whole go in one batch with the scope
	// that completes them.
	byTask := map[string][]record.Message{}
	for _, m := range out.messages {
		if n, ok := issueOf(m.TaskID); ok && rd.whole[n] {
			byTask[m.TaskID] = append(byTask[m.TaskID], m)
		} else {
			rest.Messages = append(rest.Messages, m)
		}
	}
	batches := append(head.Split(p.s.opts.BatchSize), rest.Split(p.s.opts.BatchSize)...)
	var whole *record.Batch
	for _, task := range slices.Sorted(maps.Keys(byTask)) {
		if whole == nil || whole.Len() >= p.s.opts.BatchSize {
			whole = &record.Batch{}
			batches = append(batches, whole)
		}
		whole.Messages = append(whole.Messages, byTask[task]...)
		whole.Complete = append(whole.Complete, record.Scope{Kind: record.ScopeMessages, TaskID: task})
	}
	batches[len(batches)-1].Problems = append(batches[len(batches)-1].Problems, out.problems...)

	key := strconv.FormatInt(rd.id, 10)
	p.mu.Lock()
	defer p.mu.Unlock()
	empty := head.Len() == 0 && rest.Len() == 0 && len(out.problems) == 0
	if old, had := p.cur.Repos[key]; had && empty && sameCursor(old, st) {
		// Nothing new and nothing to remember: no batch, so a sync where
		// no repository changed emits nothing and reports itself unchanged.
		return nil
	}
	for i, b := range batches {
		if i == len(batches)-1 {
			old, had := p.cur.Repos[key]
			p.cur.Repos[key] = st
			b.Cursor = p.cur.String()
			if err := p.emit(ctx, b); err != nil {
				if had {
					p.cur.Repos[key] = old
				} else {
					delete(p.cur.Repos, key)
				}
				return fmt.Errorf("emitting github repository %s: %w", rd.name, err)
			}
			return nil
		}
		if b.Len() == 0 && len(b.Problems) == 0 && len(b.Complete) == 0 {
			continue
		}
		if err := p.emit(ctx, b); err != nil {
			return fmt.Errorf("emitting github repository %s: %w", rd.name, err)
		}
	}
	return nil
}

// sameCursor says two entries of a repository's cursor are stored alike
// (compared as stored: times read back from JSON and from GitHub differ
// in location only).
func sameCursor(a, b repoCursor) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}
