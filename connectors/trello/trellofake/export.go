package trellofake

import "fmt"

// ExportJSON writes a board the way Trello's "Export as JSON" does
// (GET /1/boards/{id}?actions=all&cards=all&lists=all&labels=all&members=all&checklists=all),
// with each card's customFieldItems (which the export carries when the
// board uses custom fields [unverified for boards without them]),
// except that it holds every action rather than the newest 1000: the state
// a sync of the board should arrive at, readable by the trello_export
// source.
func (w *World) ExportJSON(boardID string) ([]byte, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	b, ok := w.boards[boardID]
	if !ok || b.deleted {
		return nil, fmt.Errorf("exporting board %s: no such board", boardID)
	}
	o := b.render()
	actions := make([]obj, 0, len(b.actions))
	for i := len(b.actions) - 1; i >= 0; i-- {
		actions = append(actions, b.actions[i].render(true))
	}
	cards := make([]obj, 0, len(b.cards))
	var checklists []obj
	for _, c := range b.cards {
		items := make([]obj, 0, len(c.customItems))
		for _, it := range c.customItems {
			items = append(items, it.render(c))
		}
		cards = append(cards, append(c.render(), field{"customFieldItems", items}))
		for _, cl := range c.checklists {
			checklists = append(checklists, cl.render())
		}
	}
	lists := make([]obj, 0, len(b.lists))
	for _, l := range b.lists {
		lists = append(lists, l.render())
	}
	labels := make([]obj, 0, len(b.labels))
	for _, l := range b.labels {
		labels = append(labels, l.render(0))
	}
	members := make([]obj, 0, len(b.memberships))
	for _, ms := range b.memberships {
		members = append(members, ms.member.render())
	}
	fields := make([]obj, 0, len(b.customFields))
	for _, f := range b.customFields {
		fields = append(fields, f.render())
	}
	o = append(o,
		field{"actions", actions},
		field{"cards", cards},
		field{"labels", labels},
		field{"lists", lists},
		field{"members", members},
		field{"checklists", nonNil(checklists)},
		field{"customFields", fields},
	)
	return marshal(o)
}

func nonNil(s []obj) []obj {
	if s == nil {
		return []obj{}
	}
	return s
}
