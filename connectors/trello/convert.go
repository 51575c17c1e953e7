package trello

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/record"
)

// This file turns Trello's JSON types into records. It knows nothing of
// files or HTTP: the export reader and the REST pull both fill a boardIndex
// with the board's small parts (lists, labels, members, checklists, which
// cards exist, who created each card) and then convert cards and actions one
// at a time, so that the same board gives the same records whichever way it
// was read.

// Action types that put a card on a board. A card's creator and creation
// time come from the earliest of these, and each one is also the card's
// first status change (from "" into the list it landed in).
var creationTypes = map[string]bool{
	"createCard":                 true,
	"copyCard":                   true,
	"convertToCardFromCheckItem": true,
	"moveCardToBoard":            true,
}

// creation is what the earliest creation action says about a card.
type creation struct {
	at       time.Time
	actionID string
	creator  string
}

// checklistEntry is a checklist reduced to its counts, with what orders it.
type checklistEntry struct {
	pos float64
	id  string
	rec record.Checklist
}

// boardIndex holds what converting one card or action needs to know about
// the rest of its board. Everything in it is small beside the cards and
// actions themselves: a few entries per list, member and card.
type boardIndex struct {
	board  Board
	lists  map[string]List
	labels map[string]Label
	people map[string]record.Person
	// checklists are by card id.
	checklists map[string][]checklistEntry
	// created is by card id.
	created map[string]creation
	// cards are the ids of the cards the board holds now (archived ones
	// included). Actions on other cards (deleted, moved to another board)
	// are dropped: a comment on a card that is gone would otherwise wait
	// for an answer forever.
	cards map[string]bool
	// actionLists names lists that no longer exist, by the newest name an
	// action gave them.
	actionLists map[string]actionListName
	// fields are the board's custom field definitions.
	fields map[string]CustomField
}

type actionListName struct {
	at   time.Time
	name string
}

func newBoardIndex(b Board) *boardIndex {
	return &boardIndex{
		board:       b,
		lists:       map[string]List{},
		labels:      map[string]Label{},
		people:      map[string]record.Person{},
		checklists:  map[string][]checklistEntry{},
		created:     map[string]creation{},
		cards:       map[string]bool{},
		fields:      map[string]CustomField{},
		actionLists: map[string]actionListName{},
	}
}

func (ix *boardIndex) addList(l List) error {
	if l.ID == "" {
		return errors.New("list without id")
	}
	ix.lists[l.ID] = l
	return nil
}

func (ix *boardIndex) addField(f CustomField) error {
	if f.ID == "" {
		return errors.New("custom field without id")
	}
	ix.fields[f.ID] = f
	return nil
}

// fieldValue is a custom field item as text: a list field's option, a
// number or date as Trello wrote it, a checkbox as "true". ok is false for
// an item of a field the board no longer defines, or an empty one.
func (ix *boardIndex) fieldValue(it CustomFieldItem) (name, value string, ok bool) {
	f, known := ix.fields[it.IDCustomField]
	if !known || f.Name == "" {
		return "", "", false
	}
	if it.IDValue != "" {
		for _, o := range f.Options {
			if o.ID == it.IDValue {
				return f.Name, o.Value.Text, true
			}
		}
		return "", "", false
	}
	for _, k := range []string{"text", "number", "date", "checked"} {
		if v, has := it.Value[k]; has && v != "" {
			return f.Name, v, true
		}
	}
	return "", "", false
}

func (ix *boardIndex) addLabel(l Label) error {
	if l.ID == "" {
		return errors.New("label without id")
	}
	ix.labels[l.ID] = l
	return nil
}

func (ix *boardIndex) addMember(m Member) error {
	if m.ID == "" {
		return errors.New("member without id")
	}
	ix.addPerson(record.Person{ExternalID: m.ID, Username: m.Username, Name: m.FullName})
	return nil
}

// addPerson merges p into what is known: a member seen only as an action's
// idMemberCreator gains a name when a fuller entry shows up.
func (ix *boardIndex) addPerson(p record.Person) {
	old, ok := ix.people[p.ExternalID]
	if ok {
		if p.Username == "" {
			p.Username = old.Username
		}
		if p.Name == "" {
			p.Name = old.Name
		}
	}
	ix.people[p.ExternalID] = p
}

func (ix *boardIndex) addChecklist(c Checklist) error {
	if c.ID == "" {
		return errors.New("checklist without id")
	}
	if c.IDCard == "" {
		return fmt.Errorf("checklist %s has no idCard", c.ID)
	}
	e := checklistEntry{pos: c.Pos, id: c.ID, rec: record.Checklist{Name: c.Name, Items: len(c.CheckItems)}}
	for _, it := range c.CheckItems {
		if it.State == "complete" {
			e.rec.Done++
		}
	}
	ix.checklists[c.IDCard] = append(ix.checklists[c.IDCard], e)
	return nil
}

func (ix *boardIndex) addCard(id string) {
	ix.cards[id] = true
}

// noteAction takes from an action what converting cards and other actions
// needs: its author as a person, the card it created, the names it gives
// lists. It is called for every action, mapped or not, before any card or
// action is converted. A returned error means the action is unusable.
func (ix *boardIndex) noteAction(a Action) error {
	if mc := a.MemberCreator; mc != nil && mc.ID != "" {
		ix.addPerson(record.Person{ExternalID: mc.ID, Username: mc.Username, Name: mc.FullName})
	} else if a.IDMemberCreator != "" {
		ix.addPerson(record.Person{ExternalID: a.IDMemberCreator})
	}
	at, err := actionTime(a)
	if err != nil {
		return err
	}
	for _, l := range []*ActionList{a.Data.List, a.Data.ListBefore, a.Data.ListAfter} {
		if l == nil || l.ID == "" || l.Name == "" {
			continue
		}
		if old, ok := ix.actionLists[l.ID]; !ok || at.After(old.at) {
			ix.actionLists[l.ID] = actionListName{at: at, name: l.Name}
		}
	}
	if creationTypes[a.Type] && a.Data.Card != nil && a.Data.Card.ID != "" {
		c := creation{at: at, actionID: a.ID, creator: actorID(a)}
		old, ok := ix.created[a.Data.Card.ID]
		if !ok || c.at.Before(old.at) || (c.at.Equal(old.at) && c.actionID < old.actionID) {
			ix.created[a.Data.Card.ID] = c
		}
	}
	return nil
}

// mapped reports whether an action becomes records; others are ignored
// without parsing them further.
func mapped(a Action) bool {
	switch {
	case creationTypes[a.Type], a.Type == "commentCard", listActions[a.Type] != "":
		return true
	case a.Type == "updateCard":
		if _, _, ok := listMove(a); ok {
			return true
		}
		for k := range a.Data.Old {
			if updatedFields[k] != "" {
				return true
			}
		}
	}
	return false
}

// updatedFields are the keys of an updateCard's data.old that karkas keeps
// the history of, with the field each one is.
var updatedFields = map[string]string{
	"name":        record.FieldTitle,
	"desc":        record.FieldDescription,
	"due":         record.FieldDue,
	"dueComplete": record.FieldDueDone,
	"closed":      record.FieldClosed,
}

// listActions are the actions that add an element to a card's list field
// or remove one, with the field.
var listActions = map[string]string{
	"addMemberToCard":         record.FieldAssignees,
	"removeMemberFromCard":    record.FieldAssignees,
	"addLabelToCard":          record.FieldLabels,
	"removeLabelFromCard":     record.FieldLabels,
	"addChecklistToCard":      record.FieldChecklists,
	"removeChecklistFromCard": record.FieldChecklists,
}

// listMove returns the lists an updateCard moved a card between.
func listMove(a Action) (from, to ActionList, ok bool) {
	d := a.Data
	if d.ListBefore != nil && d.ListAfter != nil && d.ListBefore.ID != "" && d.ListAfter.ID != "" {
		if d.ListBefore.ID == d.ListAfter.ID {
			return from, to, false
		}
		return *d.ListBefore, *d.ListAfter, true
	}
	// Some older actions carry only old.idList and the card's new idList.
	raw, has := d.Old["idList"]
	if !has || d.Card == nil || d.Card.IDList == "" {
		return from, to, false
	}
	var oldID string
	if err := json.Unmarshal(raw, &oldID); err != nil || oldID == "" || oldID == d.Card.IDList {
		return from, to, false
	}
	return ActionList{ID: oldID}, ActionList{ID: d.Card.IDList}, true
}

// listName names a list by the board's current name for it, so that a
// renamed list maps through one name; a list that is gone keeps the name the
// action (or failing that, the newest action) gave it.
func (ix *boardIndex) listName(id, fromAction string) string {
	if l, ok := ix.lists[id]; ok {
		return l.Name
	}
	if fromAction != "" {
		return fromAction
	}
	return ix.actionLists[id].name
}

// container returns the board with its lists in board order.
func (ix *boardIndex) container() record.Container {
	lists := make([]List, 0, len(ix.lists))
	for _, l := range ix.lists {
		lists = append(lists, l)
	}
	slices.SortFunc(lists, func(a, b List) int {
		if a.Pos != b.Pos {
			if a.Pos < b.Pos {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	c := record.Container{
		ExternalID: ix.board.ID,
		Kind:       record.ContainerBoard,
		Name:       ix.board.Name,
		URL:        ix.board.URL,
		Closed:     ix.board.Closed,
	}
	if c.URL == "" {
		c.URL = ix.board.ShortURL
	}
	for _, l := range lists {
		c.Lists = append(c.Lists, record.List{ExternalID: l.ID, Name: l.Name, Closed: l.Closed})
	}
	return c
}

// persons returns the board's members and action authors, by id.
func (ix *boardIndex) persons() []record.Person {
	out := make([]record.Person, 0, len(ix.people))
	for _, p := range ix.people {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b record.Person) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return out
}

// task converts a card. An error means the card is unusable and is skipped;
// warnings name fields that were bad and left empty, the card is still
// emitted because losing a whole card over a bad due date is worse.
func (ix *boardIndex) task(c Card) (t record.Task, warnings []string, err error) {
	if c.ID == "" {
		return t, nil, errors.New("card without id")
	}
	t = record.Task{
		ExternalID:  c.ID,
		ContainerID: ix.board.ID,
		ShortRef:    c.ShortLink,
		Title:       c.Name,
		Description: c.Desc,
		StatusID:    c.IDList,
		Status:      ix.listName(c.IDList, ""),
		DueDone:     c.DueComplete,
		URL:         c.URL,
		Closed:      c.Closed,
	}
	if t.URL == "" {
		t.URL = c.ShortURL
	}
	if t.Status == "" {
		warnings = append(warnings, fmt.Sprintf("card %s is in unknown list %q", c.ID, c.IDList))
	}
	if len(c.Labels) > 0 {
		for _, l := range c.Labels {
			t.Labels = appendLabel(t.Labels, l)
		}
	} else {
		for _, id := range c.IDLabels {
			t.Labels = appendLabel(t.Labels, ix.labels[id])
		}
	}
	if len(c.IDMembers) > 0 {
		t.Assignees = slices.Clone(c.IDMembers)
	}
	if cr, ok := ix.created[c.ID]; ok {
		t.CreatedAt, t.CreatorID = cr.at, cr.creator
	} else if at, ok := objectIDTime(c.ID); ok {
		t.CreatedAt = at
	} else {
		warnings = append(warnings, fmt.Sprintf("card %s: no creation action and the id holds no time", c.ID))
	}
	if c.DateLastActivity != "" {
		if t.UpdatedAt, err = parseTime(c.DateLastActivity); err != nil {
			warnings = append(warnings, fmt.Sprintf("card %s: bad dateLastActivity: %v", c.ID, err))
		}
	}
	if c.Due != "" {
		due, err := parseTime(c.Due)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("card %s: bad due: %v", c.ID, err))
		} else {
			t.DueAt = &due
		}
	}
	for _, it := range c.CustomFieldItems {
		if name, v, ok := ix.fieldValue(it); ok {
			if t.Fields == nil {
				t.Fields = map[string]string{}
			}
			t.Fields[name] = v
		}
	}
	if cls := ix.checklists[c.ID]; len(cls) > 0 {
		cls = slices.Clone(cls)
		slices.SortFunc(cls, func(a, b checklistEntry) int {
			if a.pos != b.pos {
				if a.pos < b.pos {
					return -1
				}
				return 1
			}
			return strings.Compare(a.id, b.id)
		})
		for _, e := range cls {
			t.Checklists = append(t.Checklists, e.rec)
		}
	}
	return t, warnings, nil
}

// appendLabel names a label by its name, or by its color when it has none
// (Trello shows such labels as a bare color bar).
func appendLabel(names []string, l Label) []string {
	if n := labelName(l); n != "" {
		return append(names, n)
	}
	return names
}

// labelName is a label's name, or its color when it has none.
func labelName(l Label) string {
	return cmp.Or(l.Name, l.Color)
}

// actionOutput is what one action becomes.
type actionOutput struct {
	Changes []record.StatusChange
	Fields  []record.FieldChange
	Message *record.Message
}

// action converts a mapped action. An error means the action is unusable
// and is skipped; warnings name bad optional fields that were left empty.
// Actions on cards the board no longer holds give nothing.
func (ix *boardIndex) action(a Action) (out actionOutput, warnings []string, err error) {
	at, err := actionTime(a)
	if err != nil {
		return out, nil, err
	}
	if a.Data.Card == nil || a.Data.Card.ID == "" {
		return out, nil, fmt.Errorf("action %s (%s) names no card", a.ID, a.Type)
	}
	cardID := a.Data.Card.ID
	if !ix.cards[cardID] {
		return out, nil, nil
	}
	actor := actorID(a)
	switch {
	case creationTypes[a.Type]:
		// A creation without a list (some conversions carry none) says
		// nothing about where the card started, so it is no status change.
		if l := a.Data.List; l != nil && l.ID != "" {
			out.Changes = append(out.Changes, record.StatusChange{
				ExternalID: a.ID, TaskID: cardID, From: "", To: ix.listName(l.ID, l.Name), At: at, ActorID: actor,
			})
		}
	case a.Type == "commentCard":
		m := &record.Message{
			ExternalID:  a.ID,
			Channel:     record.ChannelCardComment,
			ThreadKey:   cardID,
			TaskID:      cardID,
			ContainerID: ix.board.ID,
			AuthorID:    actor,
			Body:        a.Data.Text,
			SentAt:      at,
		}
		if a.MemberCreator != nil {
			m.AuthorName = a.MemberCreator.FullName
		}
		if a.Data.DateLastEdited != "" {
			ed, err := parseTime(a.Data.DateLastEdited)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("comment %s: bad dateLastEdited: %v", a.ID, err))
			} else {
				m.EditedAt = &ed
			}
		}
		out.Message = m
	case a.Type == "updateCard":
		if from, to, ok := listMove(a); ok {
			out.Changes = append(out.Changes, record.StatusChange{
				ExternalID: a.ID,
				TaskID:     cardID,
				From:       ix.listName(from.ID, from.Name),
				To:         ix.listName(to.ID, to.Name),
				At:         at,
				ActorID:    actor,
			})
		}
		var ws []string
		out.Fields, ws = updatedValues(a, at, actor)
		warnings = append(warnings, ws...)
	case listActions[a.Type] != "":
		fc, ok, err := ix.listChange(a, at, actor)
		if err != nil {
			return out, warnings, err
		}
		if ok {
			out.Fields = append(out.Fields, fc)
		}
	}
	return out, warnings, nil
}

// updatedValues reads the fields an updateCard changed, from data.old (the
// value before) and data.card (the value after). A value that cannot be
// read is left out with a warning; the rest of the action still counts.
func updatedValues(a Action, at time.Time, actor string) (out []record.FieldChange, warnings []string) {
	for _, key := range slices.Sorted(maps.Keys(a.Data.Old)) {
		field := updatedFields[key]
		if field == "" {
			continue
		}
		fc := record.FieldChange{ExternalID: a.ID + "/" + field, TaskID: a.Data.Card.ID, Field: field, At: at, ActorID: actor}
		var err error
		switch key {
		case "name", "desc":
			var old string
			if err = json.Unmarshal(a.Data.Old[key], &old); err == nil {
				fc.Old = old
				if key == "name" {
					fc.New = a.Data.Card.Name
				} else if a.Data.Card.Desc != nil {
					fc.New = *a.Data.Card.Desc
				} else {
					err = errors.New("data.card holds no new desc")
				}
			}
		case "due":
			var old *string
			if err = json.Unmarshal(a.Data.Old[key], &old); err == nil {
				if fc.Old, err = dueValue(old); err == nil {
					fc.New, err = dueValue(a.Data.Card.Due)
				}
			}
		case "closed", "dueComplete":
			var old bool
			if err = json.Unmarshal(a.Data.Old[key], &old); err == nil {
				fc.Old, fc.New = strconv.FormatBool(old), strconv.FormatBool(!old)
				now := a.Data.Card.Closed
				if key == "dueComplete" {
					now = a.Data.Card.DueComplete
				}
				if now != nil {
					fc.New = strconv.FormatBool(*now)
				}
			}
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("action %s: the change of %s is not kept: %v", a.ID, key, err))
			continue
		}
		if fc.Old != fc.New {
			out = append(out, fc)
		}
	}
	return out, warnings
}

// dueValue reads a due date of an action (nil or "" for none) as a
// FieldChange holds it.
func dueValue(s *string) (string, error) {
	if s == nil || *s == "" {
		return "", nil
	}
	t, err := parseTime(*s)
	if err != nil {
		return "", err
	}
	return record.DueValue(&t), nil
}

// listChange reads an action that added a member, a label or a checklist
// to a card or removed one. ok is false for an action that names nothing
// karkas shows (a label with neither name nor color).
func (ix *boardIndex) listChange(a Action, at time.Time, actor string) (fc record.FieldChange, ok bool, err error) {
	field := listActions[a.Type]
	var value string
	switch field {
	case record.FieldAssignees:
		value = a.Data.IDMember
		if value == "" && a.Data.Member != nil {
			value = a.Data.Member.ID
		}
	case record.FieldLabels:
		if l := a.Data.Label; l != nil {
			// The board's current name, as the card's labels are named;
			// a label deleted since keeps the name the action gave it.
			cur, known := ix.labels[l.ID]
			if !known {
				cur = *l
			}
			value = labelName(cur)
		}
		if value == "" {
			return fc, false, nil
		}
	case record.FieldChecklists:
		if c := a.Data.Checklist; c != nil {
			value = c.Name
		}
	}
	if value == "" {
		return fc, false, fmt.Errorf("action %s (%s) names no %s", a.ID, a.Type, strings.TrimSuffix(field, "s"))
	}
	fc = record.FieldChange{ExternalID: a.ID + "/" + field, TaskID: a.Data.Card.ID, Field: field, At: at, ActorID: actor}
	if strings.HasPrefix(a.Type, "add") {
		fc.New = value
	} else {
		fc.Old = value
	}
	return fc, true, nil
}

// actorID is the member who did an action.
func actorID(a Action) string {
	if a.IDMemberCreator != "" {
		return a.IDMemberCreator
	}
	if a.MemberCreator != nil {
		return a.MemberCreator.ID
	}
	return ""
}

// actionTime checks the fields every mapped action needs and returns its
// time.
func actionTime(a Action) (time.Time, error) {
	if a.ID == "" {
		return time.Time{}, fmt.Errorf("%s action without id", a.Type)
	}
	if a.Date == "" {
		return time.Time{}, fmt.Errorf("action %s has no date", a.ID)
	}
	at, err := parseTime(a.Date)
	if err != nil {
		return time.Time{}, fmt.Errorf("action %s: bad date: %w", a.ID, err)
	}
	return at, nil
}

// parseTime reads Trello's RFC 3339 times ("2024-03-01T09:30:00.000Z").
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// objectIDTime reads the creation time a Trello id carries: its first 8 hex
// digits are Unix seconds.
func objectIDTime(id string) (time.Time, bool) {
	if len(id) != 24 {
		return time.Time{}, false
	}
	b, err := hex.DecodeString(id)
	if err != nil {
		return time.Time{}, false
	}
	sec := int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
	return time.Unix(sec, 0).UTC(), true
}
