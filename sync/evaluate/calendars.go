package evaluate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// storedCalendar is a config calendar as calendar_versions keeps it: the
// YAML's field names, the hours spelled out day by day ("mon".."sun"), the
// lists sorted. It is built from the calendar as parsed, not from the YAML
// text, so that reformatting the config (spacing, quoting, flow or block
// style, "mon-fri" written as "mon-thu" plus "fri", holidays reordered) is
// not an edit. encoding/json writes the hours' keys sorted.
type storedCalendar struct {
	TimeZone    string              `json:"time_zone"`
	Hours       map[string][]string `json:"hours"`
	Holidays    []string            `json:"holidays,omitempty"`
	Country     string              `json:"country,omitempty"`
	WorkingDays []string            `json:"working_days,omitempty"`
}

var dayKeys = [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// canonicalCalendar returns the JSON calendar_versions stores for spec.
func canonicalCalendar(spec sla.CalendarSpec) (string, error) {
	sc := storedCalendar{Hours: map[string][]string{}, Country: strings.ToUpper(spec.Country),
		Holidays: sortedSet(spec.Holidays), WorkingDays: sortedSet(spec.WorkingDays)}
	if spec.Location != nil {
		sc.TimeZone = spec.Location.String()
	}
	for wd, ivs := range spec.Week {
		for _, iv := range ivs {
			sc.Hours[dayKeys[wd]] = append(sc.Hours[dayKeys[wd]], iv.String())
		}
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return "", fmt.Errorf("encoding calendar %s: %w", spec.Name, err)
	}
	return string(b), nil
}

func sortedSet(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// storedSpec reads a stored calendar back through the config's own parsing.
func storedSpec(name, text string) (sla.CalendarSpec, error) {
	var sc storedCalendar
	if err := json.Unmarshal([]byte(text), &sc); err != nil {
		return sla.CalendarSpec{}, fmt.Errorf("decoding: %w", err)
	}
	return CalendarSpec(name, mapping.Calendar{TimeZone: sc.TimeZone, Hours: sc.Hours, Holidays: sc.Holidays,
		Country: sc.Country, WorkingDays: sc.WorkingDays})
}

// UseHistory makes the rules count business time with each calendar's
// stored versions, so that an edit of a calendar in the config takes
// effect from the instant karkas first saw it and never recounts the past
// (see the sla package's "Calendar edits").
//
// With record true it first stores, in one transaction, a new version of
// every config calendar that differs from its latest stored version,
// effective from now (store.RecordCalendars; a calendar stored for the
// first time holds since always), and returns the names it recorded. With
// record false it writes nothing: a calendar whose config differs from its
// latest stored version is used as if edited at now, a preview of what
// recording the edit will do, and its name is returned. Names are sorted.
//
// The config's calendars are compared as parsed, so reformatting the YAML
// is not an edit. Calendars stored but no longer in the config are left
// alone. A stored version that no longer builds (its zone gone from
// tzdata, say) is an error naming the calendar and the version's date; the
// rules are then unchanged. UseHistory must not run concurrently with
// other uses of r.
func (r *Rules) UseHistory(ctx context.Context, st *store.Store, now time.Time, record bool) ([]string, error) {
	specs := map[string]string{}
	current := map[string]sla.CalendarSpec{}
	for name, cal := range r.calendars {
		// The rules' calendars came from the config; once UseHistory has
		// run, their latest version is the config's.
		spec := cal.Spec()
		text, err := canonicalCalendar(spec)
		if err != nil {
			return nil, err
		}
		specs[name], current[name] = text, spec
	}
	var changed []string
	if record {
		var err error
		if changed, err = st.RecordCalendars(ctx, specs, now); err != nil {
			return nil, fmt.Errorf("recording calendar versions: %w", err)
		}
	}
	stored, err := st.CalendarVersions(ctx)
	if err != nil {
		return nil, err
	}
	built := make(map[string]*sla.Calendar, len(specs))
	for name, text := range specs {
		rows := stored[name]
		versions := make([]sla.CalendarVersion, 0, len(rows)+1)
		for _, row := range rows {
			spec, err := storedSpec(name, row.Spec)
			if err != nil {
				return nil, fmt.Errorf("calendar %s, version from %s: %w", name, versionDate(row.EffectiveFrom), err)
			}
			versions = append(versions, sla.CalendarVersion{From: row.EffectiveFrom, Spec: spec})
		}
		if len(rows) == 0 || rows[len(rows)-1].Hash != store.CalendarHash(text) {
			// Not recorded: preview the config as an edit made now, placed
			// as RecordCalendars would place it.
			from := now.UTC().Truncate(time.Second)
			if len(rows) > 0 {
				if last := rows[len(rows)-1].EffectiveFrom; !from.After(last) {
					from = last.Add(time.Second)
				}
			}
			versions = append(versions, sla.CalendarVersion{From: from, Spec: current[name]})
			if !record {
				changed = append(changed, name)
			}
		}
		cal, err := sla.NewCalendarHistory(versions)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: %w", name, err)
		}
		built[name] = cal
	}
	r.calendars = built
	sort.Strings(changed)
	return changed, nil
}

func versionDate(t time.Time) string {
	if t.Equal(store.CalendarEpoch) {
		return "the start (" + t.Format(time.RFC3339) + ")"
	}
	return t.Format(time.RFC3339)
}
