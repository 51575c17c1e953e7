package trellofake

// DeleteCard deletes a card for good (not an archive): the card leaves
// every route and a deleteCard action with data.card {id, idShort,
// shortLink} and data.list is recorded on the board. The card's earlier
// actions stay in the board's history, naming a card that no longer
// exists [unverified: what Trello keeps of a deleted card's actions; a
// client must not depend on them going].
func (w *World) DeleteCard(memberID, cardID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	by := w.mustMember(memberID)
	c := w.mustCard(cardID)
	b := c.board
	removeByID(&b.cards, c.id, func(c *card) string { return c.id })
	delete(w.cards, c.id)
	delete(w.cardsShort, c.shortLink)
	for _, cl := range c.checklists {
		delete(w.checklists, cl.id)
		for _, it := range cl.items {
			delete(w.checkItems, it.id)
		}
	}
	w.record(w.clock.Now(), by, "deleteCard", b, nil, obj{
		{"card", obj{{"id", c.id}, {"idShort", c.idShort}, {"shortLink", c.shortLink}}},
		{"list", listRef(c.list)},
		{"board", boardRef(b)},
	})
}
