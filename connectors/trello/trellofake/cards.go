package trellofake

import (
	"strconv"
	"strings"
)

// POST /1/cards creates a card: idList (required), name, desc and pos
// (top, bottom or a number; bottom by default), as Trello's
// "Create a new Card" does. It answers the card.
func init() {
	addRoute("POST", "cards", (*call).postCard)
}

func (c *call) postCard(_ []string) reply {
	return c.write(func() reply {
		w := c.world()
		idList := c.q.Get("idList")
		if !IsObjectID(idList) {
			return *invalidValue("idList")
		}
		l := w.lists[idList]
		if l == nil || l.board.deleted {
			return *invalidValue("idList")
		}
		if !l.board.canSee(c.me) {
			return textReply(401, msgNoPermission)
		}
		pos := 0.0
		switch p := strings.TrimSpace(c.q.Get("pos")); p {
		case "", "bottom":
		case "top":
			pos = -1
		default:
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || f < 0 {
				return *invalidValue("pos")
			}
			pos = f
		}
		cd := w.createCard(w.clock.Now(), c.me, l, c.q.Get("name"), c.q.Get("desc"))
		switch {
		case pos < 0:
			top := cd.pos
			for _, o := range l.board.cards {
				if o.list == l && o != cd && o.pos < top {
					top = o.pos
				}
			}
			cd.pos = top / 2
		case pos > 0:
			cd.pos = pos
		}
		return jsonReply(c.renderCard(cd))
	})
}
