package report

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/store"
)

// labelHistory returns what labels an entry's task carried on the entry's
// date, so that work is out of scope by the labels its task had when the
// work was done, not by the ones it has now: a task marked "out of scope"
// in November does not take October's hours out of October's budget.
//
// A day's work counts by the labels the task carried at the end of that
// day in the client's zone (a task labelled at 15:00 was out of scope for
// the work logged that day), or as of now for a day not over. The task's
// current labels are undone by every recorded change after that instant,
// newest first; a task whose source records no label history keeps its
// current labels.
func labelHistory(ctx context.Context, st *store.Store, clientID string, since, now time.Time, loc *time.Location) (*labelLog, error) {
	changes, err := st.ReportLabelChanges(ctx, clientID, since)
	if err != nil {
		return nil, err
	}
	l := &labelLog{byTask: map[[2]string][]store.LabelChange{}, now: now, loc: loc}
	for _, c := range changes {
		k := [2]string{c.SourceID, c.TaskID}
		l.byTask[k] = append(l.byTask[k], c)
	}
	return l, nil
}

// labelLog is the label changes of a client's tasks since a report's
// period began.
type labelLog struct {
	byTask map[[2]string][]store.LabelChange
	now    time.Time
	loc    *time.Location
}

// entry returns the labels an entry's task carried at the end of the
// entry's date (or at now, if earlier).
func (l *labelLog) entry(e store.ReportEntry) []string {
	day, err := time.ParseInLocation("2006-01-02", e.EntryDate, l.loc)
	if err != nil {
		return jsonList(e.TaskLabels)
	}
	return l.task(e.TaskSourceID, e.TaskID, e.TaskLabels, day.AddDate(0, 0, 1))
}

// task returns the labels a task carried just before until (or at now, if
// earlier), from its current labels (JSON).
func (l *labelLog) task(sourceID, taskID, labels string, until time.Time) []string {
	current := jsonList(labels)
	cs := l.byTask[[2]string{sourceID, taskID}]
	if len(cs) == 0 {
		return current
	}
	return labelsAt(current, cs, earlier(until, l.now.Add(time.Nanosecond)))
}

// labelsAt undoes the changes (oldest first) made at or after until on the
// labels a task carries now.
func labelsAt(current []string, changes []store.LabelChange, until time.Time) []string {
	out := current
	copied := false
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		if c.At.Before(until) {
			break
		}
		if !copied {
			out, copied = slices.Clone(out), true
		}
		if c.New != "" {
			if k := slices.IndexFunc(out, func(l string) bool { return strings.EqualFold(l, c.New) }); k >= 0 {
				out = slices.Delete(out, k, k+1)
			}
		}
		if c.Old != "" {
			out = append(out, c.Old)
		}
	}
	return out
}
