package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// recordWords names the kinds of records engine.Unmapped counts.
var recordWords = []struct{ kind, words string }{
	{"messages", "messages"}, {"status_changes", "status moves"}, {"created_tasks", "tasks created"},
	{"assigned_tasks", "tasks assigned"}, {"time_entries", "time entries"},
}

// printUnmapped names each person the stored records of the sources name
// and the mapping does not, with how many records they touch and the
// lines of YAML to add (in karkas discover's format); at most limit of
// them, the rest counted. One person met in several sources under one name
// (a client's address and their Trello member) gets one entry with every
// identity. It prints nothing when everyone is named.
func printUnmapped(ctx context.Context, w io.Writer, st *store.Store, cfg *mapping.Config, sources []mapping.SourceInfo, limit int) error {
	list, err := engine.FindUnmapped(ctx, st, mapping.NewResolver(cfg), sources)
	if err != nil || len(list) == 0 {
		return err
	}
	used := map[string]bool{}
	for _, p := range cfg.People {
		used[p.ID] = true
	}
	// Group by name: the same person in the mail and on the board.
	var groups [][]engine.Unmapped
	byName := map[string]int{}
	for _, u := range list {
		name := strings.ToLower(strings.TrimSpace(u.Person.Name))
		if i, ok := byName[name]; ok && name != "" && u.NamedNow == "" {
			groups[i] = append(groups[i], u)
			continue
		}
		if name != "" && u.NamedNow == "" {
			byName[name] = len(groups)
		}
		groups = append(groups, []engine.Unmapped{u})
	}
	fmt.Fprintf(w, "\npeople the records name whom people: does not (add them, then run karkas remap):\n")
	for i, g := range groups {
		if i == limit {
			n := 0
			for _, g := range groups[i:] {
				n += len(g)
			}
			fmt.Fprintf(w, "  … and %d more (karkas status lists them all)\n", n)
			break
		}
		for _, u := range g {
			fmt.Fprintf(w, "  %s\n", unmappedLine(u))
		}
		if len(g) == 1 && g[0].NamedNow != "" {
			fmt.Fprintf(w, "    the config names them now (people id %s): run karkas remap to apply it to what is stored\n", g[0].NamedNow)
			continue
		}
		writePersonSkeleton(w, g, used)
	}
	return nil
}

// unmappedLine says who u is, in which source, how many records name them
// and what those records count as meanwhile.
func unmappedLine(u engine.Unmapped) string {
	p := u.Person
	who := p.ExternalID
	var also []string
	for _, f := range []string{p.Username, p.Email} {
		if f != "" && f != p.ExternalID && !slices.Contains(also, f) {
			also = append(also, f)
		}
	}
	if p.Name != "" && p.Name != p.ExternalID {
		who = strconv.Quote(p.Name) + " (" + strings.Join(append(also, p.ExternalID), ", ") + ")"
	} else if len(also) > 0 {
		who += " (" + strings.Join(also, ", ") + ")"
	}
	var counts []string
	for _, k := range recordWords {
		if n := u.Records[k.kind]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, k.words))
		}
	}
	meanwhile := "counted for nobody: their messages start and stop no reply clock"
	switch {
	case u.Side == mapping.SideClient && u.ClientID != "":
		meanwhile = "counted as client " + u.ClientID + "'s by the email domain, as nobody in particular"
	case u.Side == mapping.SideAgency:
		meanwhile = "counted as the agency's by the email domain, as nobody in particular"
	case u.Records["messages"] == 0:
		meanwhile = "counted for nobody"
	}
	return fmt.Sprintf("%s: %s: %d records (%s); %s", u.Source.ID, who, u.Total(), strings.Join(counts, ", "), meanwhile)
}

// writePersonSkeleton prints one people: entry for the identities of one
// person, as karkas discover writes one, indented under the lines that
// name them.
func writePersonSkeleton(w io.Writer, g []engine.Unmapped, used map[string]bool) {
	var id, name, side string
	fields := map[string][]string{}
	var order []string
	for _, u := range g {
		p := u.Person
		local, _, _ := strings.Cut(p.Email, "@")
		for _, s := range []string{p.Username, p.Name, local, p.ExternalID} {
			if id == "" {
				id = slug(s)
			}
		}
		for _, s := range []string{p.Name, p.Username, local} {
			if name == "" {
				name = s
			}
		}
		switch {
		case side != "":
		case u.Side == mapping.SideClient && u.ClientID != "":
			side = "side: client\n      client: " + u.ClientID + "   # by the email domain"
		case u.Side == mapping.SideAgency:
			side = "side: agency   # by the email domain"
		}
		var forms []string
		switch u.Source.Identity {
		case mapping.IdentityTrello:
			forms = []string{p.Username, p.ExternalID}
		case mapping.IdentityEmail:
			forms = []string{p.Email}
		case mapping.IdentityTimeTracker:
			forms = []string{p.ExternalID, p.Email}
		default:
			forms = []string{p.ExternalID}
		}
		idf, ok := mapping.IdentityFieldOf(u.Source.Identity)
		if !ok {
			continue
		}
		field := idf.YAML
		if _, ok := fields[field]; !ok {
			order = append(order, field)
		}
		for _, f := range forms {
			if f != "" && !containsFold(fields[field], f) {
				fields[field] = append(fields[field], yamlScalar(f))
			}
		}
	}
	if id == "" {
		id = "person"
	}
	for base, n := id, 2; used[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	used[id] = true
	if side == "" {
		side = "side: TODO   # agency or client (client people also need client: <client id>)"
	}
	fmt.Fprintf(w, "    - id: %s\n      name: %s\n      %s\n", id, strconv.Quote(name), side)
	for _, f := range order {
		fmt.Fprintf(w, "      %s: [%s]\n", f, strings.Join(fields[f], ", "))
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.Trim(v, `"`), s) {
			return true
		}
	}
	return false
}

// yamlScalar quotes a value YAML would not read back as the same string.
func yamlScalar(s string) string {
	if s == "" || strings.ContainsAny(s, ":#,[]{}&*!|>'\"%@`") || strings.TrimSpace(s) != s {
		return strconv.Quote(s)
	}
	return s
}
