package trellofake

// This file writes the world as Trello's JSON, field for field as the REST
// API returns it (developer.atlassian.com object definitions, adlio's
// fixtures). Fields karkas does not read are still written where Trello
// writes them, with plausible empty values, so that a decoder that trips on
// them trips here too.

func (m *member) render() obj {
	return obj{
		{"id", m.id},
		{"activityBlocked", false},
		{"avatarHash", m.avatarHash},
		{"avatarUrl", "https://trello-members.s3.amazonaws.com/" + m.id + "/" + m.avatarHash},
		{"fullName", m.fullName},
		{"idMemberReferrer", nil},
		{"initials", m.initials},
		{"nonPublic", obj{}},
		{"nonPublicAvailable", true},
		{"username", m.username},
	}
}

// renderBoardMember is a board member: GET /boards/{id}/members answers
// id, fullName and username unless fields= asks for more.
func (m *member) renderBoardMember(fields string) obj {
	full := obj{
		{"id", m.id},
		{"fullName", m.fullName},
		{"username", m.username},
		{"initials", m.initials},
		{"avatarHash", m.avatarHash},
		{"avatarUrl", "https://trello-members.s3.amazonaws.com/" + m.id + "/" + m.avatarHash},
		{"activityBlocked", false},
		{"nonPublic", obj{}},
		{"nonPublicAvailable", true},
		{"idMemberReferrer", nil},
	}
	if fields == "" {
		fields = "fullName,username"
	}
	return full.pick(fields)
}

func (b *board) render() obj {
	labelNames := obj{}
	for _, c := range []string{"green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"} {
		name := ""
		for _, l := range b.labels {
			if l.color == c && l.name != "" {
				name = l.name
				break
			}
		}
		labelNames = append(labelNames, field{c, name})
	}
	memberships := make([]obj, 0, len(b.memberships))
	for _, ms := range b.memberships {
		memberships = append(memberships, ms.render())
	}
	return obj{
		{"id", b.id},
		{"name", b.name},
		{"desc", b.desc},
		{"descData", nil},
		{"closed", b.closed},
		{"dateClosed", nil},
		{"idOrganization", strOrNull(b.org)},
		{"idEnterprise", nil},
		{"pinned", false},
		{"starred", false},
		{"url", b.url()},
		{"shortUrl", "https://trello.com/b/" + b.shortLink},
		{"shortLink", b.shortLink},
		{"prefs", obj{{"permissionLevel", "private"}, {"background", "blue"}, {"backgroundColor", "#0079BF"}, {"cardAging", "regular"}}},
		{"labelNames", labelNames},
		{"subscribed", false},
		{"dateLastActivity", fmtTime(b.lastActivity)},
		{"dateLastView", nil},
		{"idMemberCreator", b.creator.id},
		{"memberships", memberships},
	}
}

// boardDefaultFields are what GET /boards/{id} answers without fields=
// (Trello's reference lists these defaults [from memory, unverified]).
const boardDefaultFields = "name,desc,descData,closed,idOrganization,pinned,url,shortUrl,prefs,labelNames"

func (ms *membership) render() obj {
	return obj{
		{"id", ms.id},
		{"idMember", ms.member.id},
		{"memberType", ms.memberType},
		{"unconfirmed", false},
		{"deactivated", false},
	}
}

func (l *list) render() obj {
	return obj{
		{"id", l.id},
		{"name", l.name},
		{"closed", l.closed},
		{"color", nil},
		{"idBoard", l.board.id},
		{"pos", l.pos},
		{"subscribed", false},
		{"softLimit", nil},
		{"type", nil},
		{"datasource", obj{{"filter", false}}},
	}
}

func (l *label) render(uses int) obj {
	return obj{
		{"id", l.id},
		{"idBoard", l.board.id},
		{"name", l.name},
		{"color", strOrNull(l.color)},
		{"uses", uses},
	}
}

func (c *card) render() obj {
	idLabels := make([]string, 0, len(c.labels))
	labels := make([]obj, 0, len(c.labels))
	for _, l := range c.labels {
		idLabels = append(idLabels, l.id)
		labels = append(labels, obj{{"id", l.id}, {"idBoard", l.board.id}, {"name", l.name}, {"color", strOrNull(l.color)}})
	}
	idMembers := make([]string, 0, len(c.members))
	for _, m := range c.members {
		idMembers = append(idMembers, m.id)
	}
	idChecklists := make([]string, 0, len(c.checklists))
	items, done := 0, 0
	for _, cl := range c.checklists {
		idChecklists = append(idChecklists, cl.id)
		for _, it := range cl.items {
			items++
			if it.complete {
				done++
			}
		}
	}
	return obj{
		{"id", c.id},
		{"badges", obj{
			{"attachments", 0},
			{"checkItems", items},
			{"checkItemsChecked", done},
			{"comments", c.comments},
			{"description", c.desc != ""},
			{"due", timeOrNull(c.due)},
			{"dueComplete", c.dueComplete},
			{"start", nil},
			{"subscribed", false},
			{"viewingMemberVoted", false},
			{"votes", 0},
		}},
		{"checkItemStates", []any{}},
		{"closed", c.closed},
		{"dueComplete", c.dueComplete},
		{"dateLastActivity", fmtTime(c.lastActivity)},
		{"desc", c.desc},
		{"descData", obj{{"emoji", obj{}}}},
		{"due", timeOrNull(c.due)},
		{"dueReminder", nil},
		{"email", nil},
		{"idBoard", c.board.id},
		{"idChecklists", idChecklists},
		{"idList", c.list.id},
		{"idMembers", idMembers},
		{"idMembersVoted", []string{}},
		{"idShort", c.idShort},
		{"idAttachmentCover", nil},
		{"labels", labels},
		{"idLabels", idLabels},
		{"manualCoverAttachment", false},
		{"name", c.name},
		{"pos", c.pos},
		{"shortLink", c.shortLink},
		{"shortUrl", "https://trello.com/c/" + c.shortLink},
		{"start", nil},
		{"subscribed", false},
		{"url", c.url()},
		{"isTemplate", false},
		{"cardRole", nil},
	}
}

func (cl *checklist) render() obj {
	items := make([]obj, 0, len(cl.items))
	for _, it := range cl.items {
		items = append(items, obj{
			{"id", it.id},
			{"name", it.name},
			{"nameData", obj{{"emoji", obj{}}}},
			{"pos", it.pos},
			{"state", it.state()},
			{"due", nil},
			{"dueReminder", nil},
			{"idMember", nil},
			{"idChecklist", cl.id},
		})
	}
	return obj{
		{"id", cl.id},
		{"name", cl.name},
		{"idBoard", cl.card.board.id},
		{"idCard", cl.card.id},
		{"pos", cl.pos},
		{"checkItems", items},
	}
}

func (f *customField) render() obj {
	o := obj{
		{"id", f.id},
		{"idModel", f.board.id},
		{"modelType", "board"},
		{"fieldGroup", f.id},
		{"display", obj{{"cardFront", true}}},
		{"name", f.name},
		{"pos", f.pos},
	}
	if f.typ == "list" {
		opts := make([]obj, 0, len(f.options))
		for _, op := range f.options {
			opts = append(opts, obj{
				{"id", op.id},
				{"idCustomField", f.id},
				{"value", obj{{"text", op.text}}},
				{"color", op.color},
				{"pos", op.pos},
			})
		}
		o = append(o, field{"options", opts})
	}
	return append(o, field{"type", f.typ})
}

func (it *customFieldItem) render(c *card) obj {
	o := obj{{"id", it.id}}
	if it.idValue != "" {
		o = append(o, field{"idValue", it.idValue})
	} else {
		o = append(o, field{"value", it.value})
	}
	return append(o,
		field{"idCustomField", it.field.id},
		field{"idModel", c.id},
		field{"modelType", "card"},
	)
}

// render writes an action with its memberCreator, which Trello adds unless
// memberCreator=false; the member's current names are used, as Trello does.
func (a *action) render(withCreator bool) obj {
	o := obj{
		{"id", a.id},
		{"idMemberCreator", a.creator.id},
		{"data", a.data.clone()},
		{"appCreator", nil},
		{"type", a.typ},
		{"date", fmtTime(a.date)},
	}
	if a.typ == "commentCard" {
		o = append(o, field{"limits", obj{{"reactions", obj{
			{"perAction", obj{{"status", "ok"}, {"disableAt", 900}, {"warnAt", 720}}},
			{"uniquePerAction", obj{{"status", "ok"}, {"disableAt", 17}, {"warnAt", 14}}},
		}}}})
	}
	if a.member != nil {
		o = append(o, field{"member", a.member.render()})
	}
	if withCreator {
		o = append(o, field{"memberCreator", a.creator.render()})
	}
	return o
}
