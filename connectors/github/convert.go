package github

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/record"
)

// This file turns what a pull read of one repository into records.
//
// Records and their ids:
//
//   - the repository is a Container (kind repo) keyed by its id, named by
//     its full name, so that a rename keeps its history;
//   - an issue or pull request is a Task keyed "<repository id>#<number>":
//     stable across renames, and what a comment's issue_url leads to. It
//     has no ShortRef: "owner/name#number" changes with a rename, and a
//     task no longer listed would keep the old one;
//   - its opening text is a Message keyed "issue:<task id>", sent by its
//     author when it was opened: an issue a client opens is the client's
//     first message, so it starts a response clock as an email would;
//   - each issue comment is a Message keyed by the comment's id, edited
//     when its updated_at is after its created_at;
//   - each account seen is a Person keyed by login (what people[].github
//     names); bots are not people to answer, so their messages, those of
//     the logins under bots and those karkas wrote itself (its marker) are
//     Automated;
//   - each status move is a StatusChange: the opening (keyed
//     "opened:<task id>", from "" to the status the issue was opened in)
//     and each labeled, unlabeled, closed or reopened event that changed
//     the status (keyed by the event's id);
//   - each assigned, unassigned, labeled, unlabeled, renamed, closed or
//     reopened event is a FieldChange keyed "<event id>/<field>": the
//     history of the issue's assignees, labels, title and closing. The
//     REST API shows no edit of an issue's body and no change of a
//     milestone's due date, so the repository's History names the fields
//     it holds, and the body and due date are judged by their current
//     values.
//
// A source status is, for a closed issue, "closed"; for an open one, the
// last of status_labels (in their configured order and spelling) that it
// carries, else "open". The status before and after each event is found
// by undoing the events, newest first, from the issue as the listing
// showed it: the listing holds an issue's state after every event up to
// its updated_at, so the events the pull places are exactly those up to
// it, and the others wait for the next pull (see accept).

// taskID is the external id of a repository's issue.
func taskID(repoID int64, number int) string {
	return strconv.FormatInt(repoID, 10) + "#" + strconv.Itoa(number)
}

// issueOf is the issue number of a taskID.
func issueOf(id string) (int, bool) {
	_, n, ok := strings.Cut(id, "#")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	return v, err == nil
}

// markerLine matches the hidden marker the push side writes (see Marker).
var markerLine = regexp.MustCompile(`(?m)^\[karkas:[A-Za-z0-9._:-]{1,100}\]: #\s*$`)

// converted is what one repository's read becomes.
type converted struct {
	containers []record.Container
	people     []record.Person
	tasks      []record.Task
	messages   []record.Message
	changes    []record.StatusChange
	fields     []record.FieldChange
	problems   []record.Problem
	// events is the events cursor after this read; deferred says some
	// event waits for the next pull.
	events   eventsCursor
	deferred bool
}

// state is what decides an issue's status.
type state struct {
	labels map[string]bool // lower-case names
	closed bool
}

func (s *Source) statusOf(st state) string {
	if st.closed {
		return "closed"
	}
	best := -1
	for l := range st.labels {
		if i, ok := s.status[l]; ok && i > best {
			best = i
		}
	}
	if best < 0 {
		return "open"
	}
	return strings.TrimSpace(s.opts.StatusLabels[best])
}

// undo takes an issue's state back to before e; it reports whether e is
// of a kind that can change the status.
func undo(st *state, e *gh.IssueEvent) bool {
	switch e.GetEvent() {
	case "labeled":
		delete(st.labels, strings.ToLower(e.GetLabel().GetName()))
	case "unlabeled":
		st.labels[strings.ToLower(e.GetLabel().GetName())] = true
	case "closed":
		st.closed = false
	case "reopened":
		st.closed = true
	default:
		return false
	}
	return true
}

// eventFields are the fields whose changes issue events show.
var eventFields = []string{record.FieldTitle, record.FieldClosed, record.FieldAssignees, record.FieldLabels}

// fieldChange is the change of a field an issue event of task id shows;
// ok is false for other events (milestoned, referenced, ...).
func fieldChange(e *gh.IssueEvent, id string, person func(*gh.User) string) (fc record.FieldChange, ok bool) {
	fc = record.FieldChange{TaskID: id, At: e.GetCreatedAt().UTC(), ActorID: person(e.GetActor())}
	switch e.GetEvent() {
	case "assigned":
		fc.Field, fc.New = record.FieldAssignees, person(e.GetAssignee())
	case "unassigned":
		fc.Field, fc.Old = record.FieldAssignees, person(e.GetAssignee())
	case "labeled":
		fc.Field, fc.New = record.FieldLabels, e.GetLabel().GetName()
	case "unlabeled":
		fc.Field, fc.Old = record.FieldLabels, e.GetLabel().GetName()
	case "renamed":
		fc.Field, fc.Old, fc.New = record.FieldTitle, e.GetRename().GetFrom(), e.GetRename().GetTo()
	case "closed":
		fc.Field, fc.Old, fc.New = record.FieldClosed, "false", "true"
	case "reopened":
		fc.Field, fc.Old, fc.New = record.FieldClosed, "true", "false"
	default:
		return fc, false
	}
	if fc.Old == fc.New {
		return fc, false // an event that names nothing (a deleted account)
	}
	fc.ExternalID = strconv.FormatInt(e.GetID(), 10) + "/" + fc.Field
	return fc, true
}

// automated says whether a message by u with body never counts as a
// human reply, and why.
func (s *Source) automated(u *gh.User, body string) (bool, string) {
	login := u.GetLogin()
	switch {
	case u.GetType() == "Bot" || strings.HasSuffix(login, "[bot]"):
		return true, "bot"
	case s.bots[strings.ToLower(login)]:
		return true, "bot (configured)"
	case markerLine.MatchString(body):
		return true, "karkas"
	}
	return false, ""
}

// convert turns rd into records; prev is the repository's cursor before
// the read.
func (s *Source) convert(rd *repoRead, prev repoCursor) converted {
	var out converted
	where := "github " + rd.name
	repoKey := strconv.FormatInt(rd.id, 10)
	if r := rd.repo; r != nil {
		out.containers = append(out.containers, record.Container{
			ExternalID: repoKey, Kind: record.ContainerRepo, Name: r.GetFullName(), URL: r.GetHTMLURL(), Closed: r.GetArchived(),
			// The first pull reads every event and each pull every one
			// since: whole, up to now, for the fields events name.
			History: &record.History{Fields: eventFields},
		})
	}
	people := map[string]record.Person{}
	person := func(u *gh.User) string {
		login := u.GetLogin()
		if login != "" {
			people[strings.ToLower(login)] = record.Person{ExternalID: login, Username: login, Name: u.GetName()}
		}
		return login
	}

	numbers := make([]int, 0, len(rd.issues))
	for n := range rd.issues {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		is := rd.issues[n]
		id := taskID(rd.id, n)
		if is.CreatedAt == nil || is.UpdatedAt == nil {
			out.problems = append(out.problems, record.Problem{Where: fmt.Sprintf("%s issue #%d", where, n), Message: "no created_at or updated_at; skipped"})
			delete(rd.issues, n)
			continue
		}
		t := record.Task{
			ExternalID: id, ContainerID: repoKey,
			Title: is.GetTitle(), Description: is.GetBody(), Status: s.statusOf(issueState(is)),
			CreatorID: person(is.GetUser()), CreatedAt: is.GetCreatedAt().UTC(), UpdatedAt: is.GetUpdatedAt().UTC(),
			URL: is.GetHTMLURL(), Closed: is.GetState() == "closed",
		}
		for _, l := range is.Labels {
			t.Labels = append(t.Labels, l.GetName())
		}
		for _, a := range is.Assignees {
			t.Assignees = append(t.Assignees, person(a))
		}
		if m := is.GetMilestone(); m != nil && m.GetTitle() != "" {
			t.Fields = map[string]string{"milestone": m.GetTitle()}
			if m.DueOn != nil {
				due := m.GetDueOn().UTC()
				t.DueAt = &due
			}
		}
		if is.IsPullRequest() {
			if t.Fields == nil {
				t.Fields = map[string]string{}
			}
			t.Fields["type"] = "pull_request"
		}
		if is.ClosedBy != nil {
			person(is.ClosedBy)
		}
		out.tasks = append(out.tasks, t)

		m := record.Message{
			ExternalID: "issue:" + id, Channel: record.ChannelIssueComment, ThreadKey: id, TaskID: id, ContainerID: repoKey,
			AuthorID: t.CreatorID, AuthorName: t.CreatorID, Subject: t.Title, Body: is.GetBody(), SentAt: t.CreatedAt,
		}
		m.Automated, m.AutomatedReason = s.automated(is.GetUser(), m.Body)
		out.messages = append(out.messages, m)
	}

	for _, c := range rd.comments {
		n, err := issueNumber(c.GetIssueURL())
		if err != nil || c.CreatedAt == nil {
			msg := "no created_at"
			if err != nil {
				msg = err.Error()
			}
			out.problems = append(out.problems, record.Problem{Where: fmt.Sprintf("%s comment %d", where, c.GetID()), Message: msg + "; skipped"})
			continue
		}
		id := taskID(rd.id, n)
		m := record.Message{
			ExternalID: strconv.FormatInt(c.GetID(), 10), Channel: record.ChannelIssueComment, ThreadKey: id, TaskID: id,
			ContainerID: repoKey, AuthorID: person(c.GetUser()), AuthorName: c.GetUser().GetLogin(), Body: c.GetBody(),
			SentAt: c.GetCreatedAt().UTC(),
		}
		if u := c.GetUpdatedAt().Time; u.After(m.SentAt) {
			u = u.UTC()
			m.EditedAt = &u
		}
		m.Automated, m.AutomatedReason = s.automated(c.GetUser(), m.Body)
		out.messages = append(out.messages, m)
	}

	s.statusMoves(rd, prev, &out, person)

	for _, p := range people {
		out.people = append(out.people, p)
	}
	slices.SortFunc(out.people, func(a, b record.Person) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return out
}

func issueState(is *gh.Issue) state {
	st := state{labels: map[string]bool{}, closed: is.GetState() == "closed"}
	for _, l := range is.Labels {
		st.labels[strings.ToLower(l.GetName())] = true
	}
	return st
}

// issueNumber reads the number at the end of an issue_url.
func issueNumber(u string) (int, error) {
	i := strings.LastIndexByte(u, '/')
	n, err := strconv.Atoi(u[i+1:])
	if err != nil || n <= 0 || !strings.Contains(u, "/issues/") {
		return 0, fmt.Errorf("issue_url %q names no issue", u)
	}
	return n, nil
}

// statusMoves places the events read and turns them into status moves,
// and sets out.events.
//
// An event above the watermark is placed when its issue is in the listing
// with an updated_at at or after it (the listing's state then includes
// it), or when its issue is not in the listing although the event is no
// newer than the listing's newest updated_at (the issue is gone: deleted
// or transferred, and the event gives nothing). Other events happened
// after the listing read their issue and wait for the next pull, which
// will list the issue again. The watermark moves to the newest event
// below which every event is placed; placed events above it are kept in
// Done so that they are not emitted twice.
func (s *Source) statusMoves(rd *repoRead, prevRepo repoCursor, out *converted, person func(*gh.User) string) {
	prev := prevRepo.Events
	done := map[int64]bool{}
	for _, id := range prev.Done {
		done[id] = true
	}
	placed := map[int64]bool{}
	byIssue := map[int][]*gh.IssueEvent{}
	for _, e := range rd.events {
		n := e.GetIssue().GetNumber()
		is, listed := rd.issues[n]
		at := e.GetCreatedAt().Time
		switch {
		case listed && !at.After(is.GetUpdatedAt().Time):
			placed[e.GetID()] = true
			byIssue[n] = append(byIssue[n], e)
		case !listed && !at.After(rd.newest):
			placed[e.GetID()] = true
		}
	}
	out.events = eventsCursor{After: prev.After}
	blocked := false
	for _, e := range rd.events { // oldest first
		ok := placed[e.GetID()] || done[e.GetID()]
		switch {
		case !ok:
			blocked, out.deferred = true, true
		case !blocked:
			out.events.After = e.GetID()
		default:
			out.events.Done = append(out.events.Done, e.GetID())
		}
	}

	numbers := make([]int, 0, len(rd.issues))
	for n := range rd.issues {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		is := rd.issues[n]
		id := taskID(rd.id, n)
		st := issueState(is)
		evs := byIssue[n]
		// Events of one second are one move (a label swapped for another
		// is two events, and the status between them is no stay).
		type step struct {
			key           *gh.IssueEvent
			before, after string
		}
		var steps []step // newest first
		for i := len(evs) - 1; i >= 0; {
			at := evs[i].GetCreatedAt().Time
			after := s.statusOf(st)
			var key *gh.IssueEvent
			for ; i >= 0 && evs[i].GetCreatedAt().Time.Equal(at); i-- {
				if undo(&st, evs[i]) && key == nil {
					key = evs[i]
				}
			}
			if key != nil {
				steps = append(steps, step{key: key, before: s.statusOf(st), after: after})
			}
		}
		// The status an issue was opened in is its status with every
		// event undone, labels put on as it was opened included. An issue
		// opened at or after the previous listing's newest update is new
		// to this pull, and none of its events can be at or below the
		// watermark yet (they are newer than anything that listing
		// placed), so all of them were read.
		opened := record.StatusChange{ExternalID: "opened:" + id, TaskID: id, From: "", To: s.statusOf(st),
			At: is.GetCreatedAt().UTC(), ActorID: is.GetUser().GetLogin()}
		if n := len(steps); n > 0 && steps[n-1].key.GetCreatedAt().Time.Equal(is.GetCreatedAt().Time) {
			opened.To = steps[n-1].after
			steps = steps[:n-1]
		}
		if prevRepo.Issues.Since.IsZero() || !is.GetCreatedAt().Before(prevRepo.Issues.Since) {
			out.changes = append(out.changes, opened)
		}
		var moves []record.StatusChange // newest first
		for _, sp := range steps {
			if sp.before == sp.after || done[sp.key.GetID()] {
				continue
			}
			moves = append(moves, record.StatusChange{
				ExternalID: strconv.FormatInt(sp.key.GetID(), 10), TaskID: id, From: sp.before, To: sp.after,
				At: sp.key.GetCreatedAt().UTC(), ActorID: person(sp.key.GetActor()),
			})
		}
		slices.Reverse(moves)
		out.changes = append(out.changes, moves...)
		for _, e := range evs { // oldest first
			if done[e.GetID()] {
				continue
			}
			if fc, ok := fieldChange(e, id, person); ok {
				out.fields = append(out.fields, fc)
			}
		}
	}
	// By time, and within a task and a second in the order they happened.
	slices.SortStableFunc(out.changes, func(a, b record.StatusChange) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.TaskID, b.TaskID))
	})
}
