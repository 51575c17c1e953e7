package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	gslug "github.com/gosimple/slug"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/mapping"
)

func newDiscoverCmd(g *globals) *cobra.Command {
	var sourceID string
	cmd := &cobra.Command{
		Use:   "discover KIND --source ID",
		Short: "List a source's boards or projects, statuses and people and print a mapping skeleton",
		Long: `discover trello reads the boards the source selects (its boards or board_names
option), with their lists and members, and prints a YAML skeleton of the mapping to
paste into the config: a client per board, the list names sorted under the normalized
statuses they look like (names it cannot place are left commented), and a person per
member with side: TODO. Fill in the TODOs, then run karkas validate (and
karkas validate --online to check the names against Trello again).

discover planfix does the same for a PlanFix account: a client per project (its
planfix_projects), the task statuses sorted the same way, and a person per employee
(side: agency) and contact (side: client, client: TODO).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			if args[0] != "trello" {
				return g.discoverKind(cmd.Context(), l, args[0], sourceID)
			}
			src, err := g.trelloSource(l, sourceID)
			if err != nil {
				return err
			}
			boards, err := src.Discover(cmd.Context())
			if err != nil {
				return withCode(exitFailed, err)
			}
			writeSkeleton(g.stdout, sourceID, boards)
			for _, b := range boards {
				if b.Err != nil {
					fmt.Fprintf(g.stderr, "board %s could not be read: %v\n", b.Board.ID, b.Err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sourceID, "source", "", "id of a source of the kind in the config (needed when there are several)")
	return cmd
}

// trelloSource opens the config's trello source id (the only one when id
// is empty).
func (g *globals) trelloSource(l *mapping.Loaded, id string) (*trello.Source, error) {
	var ids []string
	for _, s := range l.Sources {
		if s.Kind == trello.KindName && (id == "" || s.ID == id) {
			ids = append(ids, s.ID)
		}
	}
	switch {
	case len(ids) == 0 && id != "":
		return nil, withCode(exitUsage, fmt.Errorf("--source %s: no source of kind trello with that id in %s", id, g.config))
	case len(ids) == 0:
		return nil, withCode(exitUsage, fmt.Errorf("no source of kind trello in %s", g.config))
	case len(ids) > 1:
		return nil, withCode(exitUsage, fmt.Errorf("several trello sources (%s): name one with --source", strings.Join(ids, ", ")))
	}
	for _, s := range l.Sources {
		if s.ID == ids[0] {
			src, err := g.openSource(l, s)
			if err != nil {
				return nil, withCode(exitUsage, err)
			}
			return src.(*trello.Source), nil
		}
	}
	panic("unreachable")
}

// statusGuesses are list names (lowercase) by the normalized status they
// usually mean, in English and Russian.
var statusGuesses = []struct {
	status string
	names  []string
}{
	{"backlog", []string{"backlog", "icebox", "ideas", "someday", "бэклог", "идеи"}},
	{"todo", []string{"to do", "todo", "to-do", "next", "planned", "up next", "сделать", "нужно сделать", "к выполнению", "запланировано", "очередь"}},
	{"in_progress", []string{"doing", "in progress", "wip", "working", "в работе", "в процессе", "делаем"}},
	{"review", []string{"review", "code review", "in review", "qa", "testing", "на проверке", "проверка", "ревью", "тестирование"}},
	{"waiting_client", []string{"waiting for client", "waiting on client", "waiting", "blocked", "on hold", "на согласовании", "ждём клиента", "ждем клиента", "ожидает клиента"}},
	{"done", []string{"done", "complete", "completed", "finished", "released", "готово", "сделано", "выполнено"}},
	{"archived", []string{"archive", "archived", "архив"}},
}

func guessStatus(list string) string {
	n := strings.ToLower(strings.TrimSpace(list))
	for _, g := range statusGuesses {
		if slices.Contains(g.names, n) {
			return g.status
		}
	}
	return ""
}

// slug makes an id of a name: lower-case ASCII words joined by dashes,
// other scripts transliterated ("Бетта Строй" is betta-stroi), so that
// clients with Cyrillic names get readable ids too.
func slug(s string) string {
	return gslug.Make(s)
}

// uniqueID is an id of name (fallback when name has no letters) not in
// used yet, "-2", "-3"... added as needed; it marks the id used.
func uniqueID(used map[string]bool, name, fallback string) string {
	id := slug(name)
	if id == "" {
		id = fallback
	}
	for base, n := id, 2; used[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	used[id] = true
	return id
}

// writeStatuses prints status rules for the source's status names (list
// names), each name once, grouped under the normalized status it looks
// like; the names it cannot place are left commented. A source id, when
// given, limits the rules to that source.
func writeStatuses(w io.Writer, sourceID string, names []string) {
	q := strconv.Quote
	scope := ""
	if sourceID != "" {
		scope = "source: " + sourceID + ", "
	}
	by := map[string][]string{}
	var unknown []string
	seen := map[string]bool{}
	for _, n := range names {
		key := strings.ToLower(strings.TrimSpace(n))
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		if st := guessStatus(n); st != "" {
			by[st] = append(by[st], q(n))
		} else {
			unknown = append(unknown, n)
		}
	}
	for _, g := range statusGuesses {
		if quoted := by[g.status]; len(quoted) > 0 {
			fmt.Fprintf(w, "  - {%smatch: [%s], status: %s}\n", scope, strings.Join(quoted, ", "), g.status)
		}
	}
	for _, n := range unknown {
		fmt.Fprintf(w, "  # - {%smatch: [%s], status: TODO}   # one of backlog, todo, in_progress, review, waiting_client, done, archived\n", scope, q(n))
	}
}

// writeSkeleton prints the mapping skeleton for the discovered boards.
func writeSkeleton(w io.Writer, sourceID string, boards []trello.DiscoveredBoard) {
	q := strconv.Quote
	fmt.Fprintf(w, "# karkas discover trello --source %s: paste into the config, fill in every TODO.\n", sourceID)
	fmt.Fprintln(w, "clients:")
	used := map[string]bool{}
	for _, b := range boards {
		if b.Err != nil {
			fmt.Fprintf(w, "  # board %s could not be read: %v\n", b.Board.ID, b.Err)
			continue
		}
		id := uniqueID(used, b.Board.Name, "board-"+strings.ToLower(b.Board.ShortLink))
		fmt.Fprintf(w, "  - id: %s\n    name: %s\n    boards: [%s]   # %s\n", id, q(b.Board.Name), b.Board.ID, b.Board.URL)
	}

	var lists []string
	for _, b := range boards {
		for _, l := range b.Lists {
			lists = append(lists, l.Name)
		}
	}
	fmt.Fprintln(w, "statuses:")
	writeStatuses(w, "", lists)

	fmt.Fprintln(w, "people:")
	seenM := map[string]bool{}
	usedP := map[string]bool{}
	for _, b := range boards {
		for _, m := range b.Members {
			if seenM[m.ID] {
				continue
			}
			seenM[m.ID] = true
			id := uniqueID(usedP, m.Username, "member-"+m.ID)
			name := m.FullName
			if name == "" {
				name = m.Username
			}
			fmt.Fprintf(w, "  - id: %s\n    name: %s\n    side: TODO   # agency or client (client people also need client: <client id>)\n    trello: [%s, %s]\n",
				id, q(name), m.Username, m.ID)
		}
	}
}

// checkTrelloOnline checks the names the mapping gives Trello things
// against what the config's trello sources see: every board of a client,
// every list name of a status rule that applies to them, every Trello
// identity of a person. Problems are positioned in the config file when
// the value can be found in it. When the config also reads Trello
// exports, a name the API does not know may be the export's, and the
// problem is a warning.
func (g *globals) checkTrelloOnline(ctx context.Context, l *mapping.Loaded) (mapping.Problems, error) {
	var sources []mapping.Source
	soft := false
	for _, s := range l.Sources {
		switch {
		case s.Disabled:
		case s.Kind == trello.KindName:
			sources = append(sources, s)
		case s.Kind == trello.ExportKindName:
			soft = true
		}
	}
	if len(sources) == 0 {
		return nil, nil
	}
	boards := map[string]bool{}
	lists := map[string]bool{}
	var listNames []string
	members := map[string]bool{}
	var problems mapping.Problems
	report := func(path, msg string) {
		line, col := position(l, path)
		problems = append(problems, mapping.Problem{File: l.File, Line: line, Col: col, Path: path, Message: msg, Warning: soft})
	}
	type listedMember struct{ id, username, name, board string }
	var listed []listedMember
	seenMember := map[string]bool{}
	trelloIDs := map[string]bool{}
	for _, s := range sources {
		trelloIDs[s.ID] = true
		src, err := g.trelloSource(l, s.ID)
		if err != nil {
			return nil, err
		}
		found, err := src.Discover(ctx)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.ID, err)
		}
		for _, b := range found {
			if b.Err != nil {
				problems = append(problems, mapping.Problem{File: l.File, Path: "sources." + s.ID,
					Message: fmt.Sprintf("board %s cannot be read: %v", b.Board.ID, b.Err)})
				continue
			}
			for _, k := range []string{b.Board.ID, b.Board.ShortLink, b.Board.Name} {
				boards[strings.ToLower(k)] = true
			}
			for _, li := range b.Lists {
				k := strings.ToLower(strings.TrimSpace(li.Name))
				if !lists[k] {
					lists[k] = true
					listNames = append(listNames, li.Name)
				}
			}
			for _, m := range b.Members {
				members[m.ID] = true
				members[strings.ToLower(m.Username)] = true
				if !seenMember[m.ID] {
					seenMember[m.ID] = true
					listed = append(listed, listedMember{m.ID, m.Username, m.FullName, b.Board.Name})
				}
			}
		}
	}
	// Members nobody in people: names: their comments and moves would
	// count for no one. A warning, since some (a client's intern, a
	// bot) may be left out on purpose.
	named := map[string]bool{}
	for _, p := range l.People {
		for _, id := range p.Trello {
			named[strings.ToLower(strings.TrimSpace(id))] = true
		}
	}
	for _, m := range listed {
		if named[strings.ToLower(m.id)] || (m.username != "" && named[strings.ToLower(m.username)]) {
			continue
		}
		line, col := l.Position("people")
		if line == 0 {
			line, col = 1, 1 // no people: at all: the file is what lacks them
		}
		problems = append(problems, mapping.Problem{File: l.File, Line: line, Col: col, Path: "people", Warning: true,
			Message: fmt.Sprintf("member %s %q (%s) of board %q is named by no person: add trello: [%s, %s] to one (karkas discover trello lists them all)",
				m.username, m.name, m.id, m.board, m.username, m.id)})
	}
	for i, c := range l.Clients {
		for j, b := range c.Boards {
			if !boards[strings.ToLower(b)] {
				report(fmt.Sprintf("clients[%d].boards[%d]", i, j),
					fmt.Sprintf("no board %q among the boards the trello source(s) pull", b))
			}
		}
	}
	slices.Sort(listNames)
	for i, r := range l.Statuses {
		if r.Source != "" && r.Source != trello.KindName && !trelloIDs[r.Source] {
			continue
		}
		for j, m := range r.Match {
			if !lists[strings.ToLower(strings.TrimSpace(m))] {
				report(fmt.Sprintf("statuses[%d].match[%d]", i, j),
					fmt.Sprintf("no list named %q on the pulled boards (known: %s)", m, strings.Join(listNames, ", ")))
			}
		}
	}
	for i, p := range l.People {
		for j, id := range p.Trello {
			if !members[id] && !members[strings.ToLower(id)] {
				report(fmt.Sprintf("people[%d].trello[%d]", i, j),
					fmt.Sprintf("no member %q on the pulled boards", id))
			}
		}
	}
	return problems, nil
}

// position is where path's value is in the config file, else the nearest
// value around it that was decoded ("people[0].trello" for
// "people[0].trello[0]"), else zeros.
func position(l *mapping.Loaded, path string) (int, int) {
	for path != "" {
		if line, col := l.Position(path); line != 0 {
			return line, col
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return 0, 0
}

// discoverKind prints the skeleton of a source whose kind is a
// connectors.Discoverer (planfix): the generic form of writeSkeleton.
func (g *globals) discoverKind(ctx context.Context, l *mapping.Loaded, kind, id string) error {
	var found []mapping.Source
	for _, s := range l.Sources {
		if s.Kind == kind && (id == "" || s.ID == id) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0 && id != "":
		return withCode(exitUsage, fmt.Errorf("--source %s: no source of kind %s with that id in %s", id, kind, g.config))
	case len(found) == 0:
		return withCode(exitUsage, fmt.Errorf("discover: no source of kind %s in %s (discover knows trello and the kinds that can list what they read: planfix)", kind, g.config))
	case len(found) > 1:
		var ids []string
		for _, s := range found {
			ids = append(ids, s.ID)
		}
		return withCode(exitUsage, fmt.Errorf("several %s sources (%s): name one with --source", kind, strings.Join(ids, ", ")))
	}
	src, err := g.openSource(l, found[0])
	if err != nil {
		return withCode(exitUsage, err)
	}
	dis, ok := src.(connectors.Discoverer)
	if !ok {
		return withCode(exitUsage, fmt.Errorf("discover: a %s source cannot list what it reads", kind))
	}
	d, err := dis.Discover(ctx)
	if err != nil {
		return withCode(exitFailed, err)
	}
	writeDiscovery(g.stdout, kind, found[0].ID, d)
	return nil
}

// writeDiscovery prints a mapping skeleton of d in the form writeSkeleton
// prints Trello's.
func writeDiscovery(w io.Writer, kind, sourceID string, d connectors.Discovery) {
	q := strconv.Quote
	fmt.Fprintf(w, "# karkas discover %s --source %s: paste into the config, fill in every TODO.\n", kind, sourceID)
	field := ""
	for _, f := range mapping.ContainerFields() {
		if f.Kind == d.ContainerKind {
			field = f.YAML
		}
	}
	fmt.Fprintln(w, "clients:")
	used := map[string]bool{}
	for _, c := range d.Containers {
		cid := uniqueID(used, c.Name, "project-"+c.ID)
		fmt.Fprintf(w, "  - id: %s\n    name: %s\n    %s: [%s]\n", cid, q(c.Name), field, q(c.ID))
	}
	fmt.Fprintln(w, "\nstatuses:")
	writeStatuses(w, sourceID, d.Statuses)
	idf, _ := mapping.IdentityFieldOf(kind)
	fmt.Fprintln(w, "\npeople:")
	pids := map[string]bool{}
	for _, p := range d.People {
		pid := uniqueID(pids, p.Name, "person")
		side := "side: TODO"
		switch p.Side {
		case mapping.SideAgency:
			side = "side: agency"
		case mapping.SideClient:
			side = "side: client, client: TODO"
		}
		line := fmt.Sprintf("  - {id: %s, name: %s, %s, %s: [%s]", pid, q(p.Name), side, idf.YAML, q(p.ID))
		if p.Email != "" {
			line += ", emails: [" + q(p.Email) + "]"
		}
		fmt.Fprintln(w, line+"}")
	}
}
