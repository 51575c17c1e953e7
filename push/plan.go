package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
)

// Planner routes queued transitions into deliveries and folds deliveries
// into digests and summaries.
type Planner struct {
	Config    *mapping.Config
	Calendars Calendars
	// Sinks are the config's sinks, for what each can do (a trello sink
	// cannot summarise).
	Sinks map[string]sinks.Sink
	// Held, when set, remembers across the runs of a long-lived deliverer
	// (karkas serve, whose delivery pass follows every evaluation) the
	// instant before which no delivery held for a digest can come due: a
	// run before it does not read them, and its Queue leaves them out.
	Held *HeldWatch
}

// HeldWatch is the instant from which the deliveries held for digests
// must be read again (Planner.Held). A held delivery comes due when a
// slot of its digest passes after it was made; so, after a run that read
// them all, none can until the next slot, on a workday of the agency's
// calendar, of any digest they or the config's rules name. It is read
// again an hour later at the latest (the config has no slot, a held row's
// digest has none), and after a run whose plan was not stored.
type HeldWatch struct {
	mu    sync.Mutex
	until time.Time
}

// quiet says whether no held delivery can have come due by now.
func (h *HeldWatch) quiet(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return now.Before(h.until)
}

func (h *HeldWatch) set(until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.until = until
}

// Routed is what became of one queued transition.
type Routed struct {
	Row        store.OutboxRow
	Deliveries int
	// Reason says why it made no delivery.
	Reason string
}

// Fold is a digest or summary delivery and the deliveries it holds.
type Fold struct {
	Row store.OutboxRow
	IDs []int64
}

// Deferral moves due deliveries of a sink whose rate cap is spent to the
// time a slot frees.
type Deferral struct {
	Sink  string
	IDs   []int64
	Until time.Time
}

// Plan is what one planning pass decided.
type Plan struct {
	Now    time.Time
	Routed []Routed
	// New are the deliveries routing added.
	New []store.OutboxRow
	// Folds are the digests and summaries made.
	Folds []Fold
	// Deferred are due deliveries that wait for their sink's rate cap.
	Deferred []Deferral
	// LabelsOnly are trello deliveries over the rate cap, sent without
	// their comment.
	LabelsOnly []int64
	// labelTargets are their targets marked labels_only.
	labelTargets map[int64]string
	// Stale are the deliveries, pending or held, of sinks the config no
	// longer names (removed or renamed in routing.sinks): skipped, never
	// sent, one entry per sink.
	Stale []Stale
	// Queue is every delivery waiting after the plan: pending (due or
	// not) and held for a digest (unless Planner.Held let the run leave
	// those unread). In a dry run, rows not stored have negative ids.
	Queue []store.OutboxRow
	// heldUntil, when set, is what Planner.Held may remember once the
	// plan is stored.
	heldUntil time.Time
}

// Stale is the deliveries of one sink that routing no longer names.
type Stale struct {
	Sink string
	IDs  []int64
	// Reason is what the rows keep as their last error.
	Reason string
}

// summarizes says whether a sink can say several notices at once.
func (p *Planner) summarizes(sink string) bool {
	s, ok := p.Sinks[sink].(sinks.Summarizer)
	return ok && s.Summarizes()
}

// Run plans as of now over q. extra are route rows that are not stored
// (a dry run's evaluation). With write, the plan is stored through q
// (inside store.PlanOutbox); without, q is only read and the plan is
// computed as if it had been.
func (p *Planner) Run(ctx context.Context, q *store.OutboxQuery, now time.Time, extra []store.OutboxRow, write bool) (*Plan, error) {
	plan := &Plan{Now: now}
	if p.Config.Routing == nil {
		return plan, nil
	}
	routes, err := q.Routes(ctx)
	if err != nil {
		return nil, err
	}
	routes = append(routes, extra...)
	notices := make([]evaluate.Notice, len(routes))
	var clockIDs []string
	var taskRefs []store.TaskRef
	for i, row := range routes {
		n, err := decodeNotice(row)
		if err != nil {
			// A row nobody can read is marked, not retried forever.
			plan.Routed = append(plan.Routed, Routed{Row: row, Reason: err.Error()})
			continue
		}
		notices[i] = n
		clockIDs = append(clockIDs, n.ClockID)
		if n.SubjectKind == "task" {
			taskRefs = append(taskRefs, store.TaskRef{SourceID: n.SubjectSource, ExternalID: n.SubjectID})
		}
	}
	clocks, err := q.Clocks(ctx, clockIDs)
	if err != nil {
		return nil, err
	}
	// extra rows come from an evaluation not stored: their clocks are in
	// the state they enter, waivers aside.
	for i := len(routes) - len(extra); i < len(routes); i++ {
		if n := notices[i]; n.ClockID != "" {
			c := clocks[n.ClockID]
			c.State = n.To
			clocks[n.ClockID] = c
		}
	}
	tasks, err := q.Tasks(ctx, taskRefs)
	if err != nil {
		return nil, err
	}
	r := newRouter(p.Config, p.Calendars)
	for i, row := range routes {
		n := notices[i]
		if n.ClockID == "" {
			continue
		}
		var clock *store.ClockState
		if c, ok := clocks[n.ClockID]; ok {
			clock = &c
		}
		var task *store.OutboxTask
		if t, ok := tasks[store.TaskRef{SourceID: n.SubjectSource, ExternalID: n.SubjectID}]; ok && n.SubjectKind == "task" {
			task = &t
		}
		rows, reason := r.route(row, n, clock, task, now)
		plan.Routed = append(plan.Routed, Routed{Row: row, Deliveries: len(rows), Reason: reason})
		plan.New = append(plan.New, rows...)
	}
	reports, err := p.dueReports(ctx, q, now)
	if err != nil {
		return nil, err
	}
	plan.New = append(plan.New, reports...)
	if write {
		if _, err := q.Insert(ctx, plan.New); err != nil {
			return nil, err
		}
		// One update per outcome, not per row: a first sync routes
		// thousands.
		type outcome struct{ ref, reason string }
		var order []outcome
		ids := map[outcome][]int64{}
		for _, rt := range plan.Routed {
			o := outcome{fmt.Sprintf("%d deliveries", rt.Deliveries), rt.Reason}
			if ids[o] == nil {
				order = append(order, o)
			}
			ids[o] = append(ids[o], rt.Row.ID)
		}
		for _, o := range order {
			if err := q.SetStatus(ctx, ids[o], store.OutboxRouted, o.ref, o.reason); err != nil {
				return nil, err
			}
		}
	}
	pending, err := q.Pending(ctx)
	if err != nil {
		return nil, err
	}
	var held []store.OutboxRow
	readHeld := !write || p.Held == nil || !p.Held.quiet(now)
	if readHeld {
		if held, err = q.Held(ctx); err != nil {
			return nil, err
		}
	}
	if !write {
		// The rows routing would have stored, with stand-in ids.
		for i, row := range plan.New {
			row.ID = -int64(i + 1)
			if row.Status == store.OutboxHeld {
				held = append(held, row)
			} else {
				pending = append(pending, row)
			}
		}
	}
	pending, held = p.stale(plan, pending, held, now)
	if write {
		for _, s := range plan.Stale {
			if err := q.Skip(ctx, s.IDs, s.Reason, now); err != nil {
				return nil, err
			}
		}
	}
	sent, err := q.Sent(ctx, now.Add(-24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	folded := map[int64]bool{}
	p.digests(plan, held, now, folded)
	if readHeld && p.Held != nil {
		plan.heldUntil = p.nextDigest(held, now)
	}
	p.caps(plan, pending, sent, now, folded)
	if write {
		if err := p.store(ctx, q, plan); err != nil {
			return nil, err
		}
	}
	deferred := map[int64]time.Time{}
	for _, d := range plan.Deferred {
		for _, id := range d.IDs {
			deferred[id] = d.Until
		}
	}
	for _, row := range slices.Concat(pending, held) {
		if folded[row.ID] {
			continue
		}
		if until, ok := deferred[row.ID]; ok {
			row.NextAttemptAt = &until
		}
		if t, ok := plan.labelTargets[row.ID]; ok {
			row.Target = t
		}
		plan.Queue = append(plan.Queue, row)
	}
	for _, f := range plan.Folds {
		plan.Queue = append(plan.Queue, f.Row)
	}
	return plan, nil
}

// stale takes the deliveries of sinks routing no longer names out of
// pending and held, into plan.Stale: once the admin removes or renames a
// sink, what was planned for it (held for a digest, waiting for an
// escalation) would otherwise wait forever, or fail at the worker. A row
// under a live lease is left to the worker delivering it, which was
// started with the config that still named its sink.
func (p *Planner) stale(plan *Plan, pending, held []store.OutboxRow, now time.Time) (keepPending, keepHeld []store.OutboxRow) {
	bySink := map[string]*Stale{}
	keep := func(rows []store.OutboxRow) []store.OutboxRow {
		var out []store.OutboxRow
		for _, row := range rows {
			if _, ok := p.Config.Routing.Sinks[row.Sink]; ok || row.ID < 0 || (row.LeaseUntil != nil && row.LeaseUntil.After(now)) {
				out = append(out, row)
				continue
			}
			s := bySink[row.Sink]
			if s == nil {
				s = &Stale{Sink: row.Sink, Reason: fmt.Sprintf("sink %s is no longer in routing", row.Sink)}
				bySink[row.Sink] = s
			}
			s.IDs = append(s.IDs, row.ID)
		}
		return out
	}
	keepPending, keepHeld = keep(pending), keep(held)
	for _, s := range bySink {
		plan.Stale = append(plan.Stale, *s)
	}
	sort.Slice(plan.Stale, func(i, j int) bool { return plan.Stale[i].Sink < plan.Stale[j].Sink })
	return keepPending, keepHeld
}

// store writes the folds, deferrals and labels-only marks.
func (p *Planner) store(ctx context.Context, q *store.OutboxQuery, plan *Plan) error {
	for _, f := range plan.Folds {
		if _, err := q.Insert(ctx, []store.OutboxRow{f.Row}); err != nil {
			return err
		}
		if err := q.SetStatus(ctx, f.IDs, store.OutboxFolded, f.Row.IdempotencyKey, ""); err != nil {
			return err
		}
	}
	for _, d := range plan.Deferred {
		if err := q.Defer(ctx, d.IDs, d.Until); err != nil {
			return err
		}
	}
	for _, id := range plan.LabelsOnly {
		if err := q.SetTarget(ctx, id, plan.labelTargets[id]); err != nil {
			return err
		}
	}
	return nil
}

func withLabelsOnly(target string) string {
	var t sinks.Target
	_ = json.Unmarshal([]byte(target), &t)
	t.LabelsOnly = true
	b, _ := json.Marshal(t)
	return string(b)
}

// decoded is a delivery row's message and target.
type decoded struct {
	row    store.OutboxRow
	msg    sinks.Message
	target sinks.Target
}

func decode(row store.OutboxRow) (decoded, error) {
	d := decoded{row: row}
	if err := json.Unmarshal([]byte(row.Payload), &d.msg); err != nil {
		return d, fmt.Errorf("delivery %d (%s): payload: %w", row.ID, row.IdempotencyKey, err)
	}
	if err := json.Unmarshal([]byte(row.Target), &d.target); err != nil {
		return d, fmt.Errorf("delivery %d (%s): target: %w", row.ID, row.IdempotencyKey, err)
	}
	return d, nil
}

// address is who a delivery of a sink goes to, as far as folding goes:
// the recipients, for a sink that writes to people (email); the sink
// itself for the others.
func address(kind string, t sinks.Target) string {
	if k, ok := sinks.Lookup(kind); !ok || !k.Addressed {
		return ""
	}
	var ids []string
	for _, p := range t.People {
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// group is deliveries folded together.
type group struct {
	key    string
	rows   []decoded
	people []sinks.Person
}

func (g *group) add(d decoded) {
	g.rows = append(g.rows, d)
	for _, p := range d.target.People {
		if !slices.ContainsFunc(g.people, func(q sinks.Person) bool { return q.ID == p.ID }) {
			g.people = append(g.people, p)
		}
	}
}

// fold makes the delivery that says g's deliveries at once, with the note
// saying why in its language: that of the deliveries folded when they
// share one (a digest of one client's card comments), else the agency's.
func (p *Planner) fold(kind, sink, key string, note func(*locale.Locale) string, g *group, now time.Time) Fold {
	lang := p.Config.Agency.Language
	for i, d := range g.rows {
		if i == 0 {
			lang = d.target.Language
		} else if d.target.Language != lang {
			lang = p.Config.Agency.Language
			break
		}
	}
	msg := sinks.Message{Kind: kind, Agency: p.Config.Agency.Name, Note: note(locale.For(lang))}
	client := ""
	var ids []int64
	for i, d := range g.rows {
		msg.Items = append(msg.Items, d.msg.Items...)
		ids = append(ids, d.row.ID)
		if i == 0 {
			client = d.row.ClientID
		} else if client != d.row.ClientID {
			client = ""
		}
	}
	payload, _ := json.Marshal(msg)
	target, _ := json.Marshal(sinks.Target{People: g.people, Language: lang})
	return Fold{IDs: ids, Row: store.OutboxRow{IdempotencyKey: key, Kind: kind, Sink: sink, ClientID: client,
		Target: string(target), Payload: string(payload), Status: store.OutboxPending, CreatedAt: now}}
}

// digestSlot is the latest digest time at or before now. Digest times are
// read in the agency calendar's zone, on its working days (UTC and every
// day without one).
func (p *Planner) digestSlot(times []string, now time.Time) (time.Time, bool) {
	cal, loc, mins := p.digestClock(times)
	sort.Sort(sort.Reverse(sort.IntSlice(mins)))
	local := now.In(loc)
	for back := 0; back <= 14; back++ {
		day := time.Date(local.Year(), local.Month(), local.Day()-back, 12, 0, 0, 0, loc)
		if cal != nil && !cal.IsWorkday(day) {
			continue
		}
		for _, m := range mins {
			at := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, loc)
			if !at.After(now) {
				return at, true
			}
		}
	}
	return time.Time{}, false
}

// NextDigest is the first digest time after now, for showing when a held
// delivery goes.
func (p *Planner) NextDigest(times []string, now time.Time) (time.Time, bool) {
	for ahead := time.Duration(0); ahead <= 15*24*time.Hour; ahead += time.Hour {
		// The last slot at or before a later instant that is after now.
		if at, ok := p.digestSlot(times, now.Add(ahead)); ok && at.After(now) {
			return at, true
		}
	}
	return time.Time{}, false
}

// digests folds held deliveries whose digest time has come.
func (p *Planner) digests(plan *Plan, held []store.OutboxRow, now time.Time, folded map[int64]bool) {
	groups := map[string]*group{}
	var keys []string
	for _, row := range held {
		d, err := decode(row)
		if err != nil {
			continue // left held; the worker never sees it
		}
		spec := p.Config.Routing.Sinks[row.Sink]
		k := row.Sink + "\x00" + address(spec.Kind, d.target) + "\x00" + strings.Join(d.target.Digest, ",")
		if groups[k] == nil {
			groups[k] = &group{key: k}
			keys = append(keys, k)
		}
		groups[k].add(d)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		slot, ok := p.digestSlot(g.rows[0].target.Digest, now)
		if !ok {
			continue
		}
		due := &group{key: k}
		for _, d := range g.rows {
			if d.row.CreatedAt.Before(slot) {
				due.add(d)
			}
		}
		if len(due.rows) == 0 {
			continue
		}
		sink := g.rows[0].row.Sink
		key := fmt.Sprintf("digest.%s.%s.%s", sink, short(k), slot.UTC().Format("20060102T1504"))
		f := p.fold(sinks.KindDigest, sink, key, func(l *locale.Locale) string { return l.N("push.digest_note", len(due.rows)) }, due, now)
		plan.Folds = append(plan.Folds, f)
		for _, id := range f.IDs {
			folded[id] = true
		}
	}
}

// digestClock is what a digest's slots are read in: the agency's calendar
// (nil: every day), its zone, and the digest's times in minutes of the day.
func (p *Planner) digestClock(times []string) (*sla.Calendar, *time.Location, []int) {
	var cal *sla.Calendar
	if p.Calendars != nil {
		cal = p.Calendars.Calendar("")
	}
	loc := time.UTC
	if cal != nil {
		loc = cal.Location()
	}
	var mins []int
	for _, t := range times {
		if m, err := mapping.ParseClock(t); err == nil {
			mins = append(mins, m)
		}
	}
	return cal, loc, mins
}

// nextDigest is the first instant after now at which a digest slot of
// the held deliveries or of the config's rules passes (see HeldWatch), an
// hour from now at the latest.
func (p *Planner) nextDigest(held []store.OutboxRow, now time.Time) time.Time {
	lists := map[string][]string{}
	add := func(times []string) {
		if len(times) > 0 {
			lists[strings.Join(times, ",")] = times
		}
	}
	for _, row := range held {
		if d, err := decode(row); err == nil {
			add(d.target.Digest)
		}
	}
	if r := p.Config.Routing; r != nil {
		for _, rule := range r.Defaults {
			add(rule.Digest)
		}
		for _, c := range r.Clients {
			for _, rule := range c.Rules {
				add(rule.Digest)
			}
		}
	}
	next := now.Add(time.Hour)
	for _, times := range lists {
		if at, ok := p.nextSlot(times, now); ok && at.Before(next) {
			next = at
		}
	}
	return next
}

// nextSlot is the first slot of a digest after now: digestSlot's answer
// changes then.
func (p *Planner) nextSlot(times []string, now time.Time) (time.Time, bool) {
	cal, loc, mins := p.digestClock(times)
	sort.Ints(mins)
	local := now.In(loc)
	for fwd := 0; fwd <= 15; fwd++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+fwd, 12, 0, 0, 0, loc)
		if cal != nil && !cal.IsWorkday(day) {
			continue
		}
		for _, m := range mins {
			if at := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, loc); at.After(now) {
				return at, true
			}
		}
	}
	return time.Time{}, false
}

// caps keeps each capped sink within its rate: a due backlog larger than
// what the period has left is summarised (trello: labels only), or waits
// when nothing is left.
func (p *Planner) caps(plan *Plan, pending []store.OutboxRow, sent []store.SentMark, now time.Time, folded map[int64]bool) {
	for _, sink := range sinkNames(p.Config) {
		rc := p.Config.Routing.Sinks[sink].Rate
		if rc == nil {
			continue
		}
		since := now.Add(-rc.Per)
		used := 0
		oldest := now
		for _, m := range sent {
			if m.Sink == sink && m.At.After(since) {
				used++
				if m.At.Before(oldest) {
					oldest = m.At
				}
			}
		}
		var due []decoded
		for _, row := range pending {
			if row.Sink != sink || folded[row.ID] || row.Attempts > 0 ||
				(row.NextAttemptAt != nil && row.NextAttemptAt.After(now)) || (row.LeaseUntil != nil && row.LeaseUntil.After(now)) {
				continue
			}
			d, err := decode(row)
			if err != nil {
				continue
			}
			due = append(due, d)
		}
		left := rc.Max - used
		if len(due) <= left {
			continue
		}
		var foldable, waiting []decoded
		for _, d := range due {
			// A reminder to a client is its own message: it waits
			// rather than join a summary.
			if d.target.ClientFacing {
				waiting = append(waiting, d)
			} else {
				foldable = append(foldable, d)
			}
		}
		switch {
		case !p.summarizes(sink):
			for _, d := range foldable {
				if !d.target.LabelsOnly {
					plan.LabelsOnly = append(plan.LabelsOnly, d.row.ID)
					if plan.labelTargets == nil {
						plan.labelTargets = map[int64]string{}
					}
					plan.labelTargets[d.row.ID] = withLabelsOnly(d.row.Target)
				}
			}
		case left <= 0:
			waiting = append(waiting, foldable...)
		default:
			kind := p.Config.Routing.Sinks[sink].Kind
			groups := map[string]*group{}
			var keys []string
			for _, d := range foldable {
				a := address(kind, d.target)
				if groups[a] == nil {
					groups[a] = &group{key: a}
					keys = append(keys, a)
				}
				groups[a].add(d)
			}
			sort.Strings(keys)
			for _, a := range keys {
				g := groups[a]
				key := fmt.Sprintf("summary.%s.%s.%d", sink, short(a), g.rows[0].row.ID)
				if g.rows[0].row.ID < 0 {
					key = fmt.Sprintf("summary.%s.%s.new", sink, short(a))
				}
				note := func(l *locale.Locale) string {
					return l.N("push.summary_note", len(g.rows), "Sink", sink, "Per", rc.Per, "Max", l.Int(rc.Max))
				}
				f := p.fold(sinks.KindSummary, sink, key, note, g, now)
				plan.Folds = append(plan.Folds, f)
				for _, id := range f.IDs {
					folded[id] = true
				}
			}
		}
		if len(waiting) > 0 && left <= 0 {
			var ids []int64
			for _, d := range waiting {
				ids = append(ids, d.row.ID)
			}
			plan.Deferred = append(plan.Deferred, Deferral{Sink: sink, IDs: ids, Until: oldest.Add(rc.Per)})
		}
	}
}
