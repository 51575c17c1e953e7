package trello

import "encoding/json"

// The types below follow Trello's JSON field for field, as both the board
// "Export as JSON" file and GET /1/boards/{id}?actions=all&cards=all&... return
// it. Only the fields karkas reads are declared; the rest are skipped.
//
// Dates stay strings here and are parsed by the conversion layer, so that a
// bad date becomes a Problem that names the item instead of failing the
// decode of the whole card or action.

// Board is the top-level object of an export, without its arrays (those are
// streamed one element at a time, see export.go).
type Board struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Desc             string `json:"desc"`
	Closed           bool   `json:"closed"`
	URL              string `json:"url"`
	ShortLink        string `json:"shortLink"`
	ShortURL         string `json:"shortUrl"`
	IDOrganization   string `json:"idOrganization"`
	DateLastActivity string `json:"dateLastActivity"`
}

// List is a board column.
type List struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Closed  bool    `json:"closed"`
	Pos     float64 `json:"pos"`
	IDBoard string  `json:"idBoard"`
}

// Label is a board label; Name may be empty, then the color names it.
type Label struct {
	ID      string `json:"id"`
	IDBoard string `json:"idBoard"`
	Name    string `json:"name"`
	Color   string `json:"color"`
}

// Member is a Trello account, as listed in a board's members and as an
// action's memberCreator.
type Member struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	FullName   string `json:"fullName"`
	Initials   string `json:"initials"`
	AvatarHash string `json:"avatarHash"`
}

// Card is a board card; Closed means archived.
type Card struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Desc             string   `json:"desc"`
	Closed           bool     `json:"closed"`
	IDList           string   `json:"idList"`
	IDBoard          string   `json:"idBoard"`
	IDLabels         []string `json:"idLabels"`
	Labels           []Label  `json:"labels"`
	IDMembers        []string `json:"idMembers"`
	IDChecklists     []string `json:"idChecklists"`
	Due              string   `json:"due"` // RFC 3339 or null
	DueComplete      bool     `json:"dueComplete"`
	Start            string   `json:"start"`
	ShortLink        string   `json:"shortLink"`
	ShortURL         string   `json:"shortUrl"`
	URL              string   `json:"url"`
	DateLastActivity string   `json:"dateLastActivity"`
	Pos              float64  `json:"pos"`
	IDShort          int      `json:"idShort"`
	// CustomFieldItems are the card's custom field values: in an export,
	// and from the cards route with customFieldItems=true.
	CustomFieldItems []CustomFieldItem `json:"customFieldItems"`
}

// Checklist is a card's checklist with its items.
type Checklist struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	IDCard     string      `json:"idCard"`
	Pos        float64     `json:"pos"`
	CheckItems []CheckItem `json:"checkItems"`
}

// CheckItem is one checklist item; State is "complete" or "incomplete".
type CheckItem struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	State string  `json:"state"`
	Pos   float64 `json:"pos"`
}

// Action is one entry of a board's activity: a card created, moved,
// commented, updated.
type Action struct {
	ID              string     `json:"id"`
	IDMemberCreator string     `json:"idMemberCreator"`
	Type            string     `json:"type"`
	Date            string     `json:"date"`
	Data            ActionData `json:"data"`
	MemberCreator   *Member    `json:"memberCreator"`
}

// ActionData is an action's data object; which fields are set depends on the
// action's type.
type ActionData struct {
	Text           string      `json:"text"`
	DateLastEdited string      `json:"dateLastEdited"`
	Card           *ActionCard `json:"card"`
	List           *ActionList `json:"list"`
	ListBefore     *ActionList `json:"listBefore"`
	ListAfter      *ActionList `json:"listAfter"`
	Board          *ActionList `json:"board"`
	// Old holds the previous values of the fields an updateCard changed.
	// It is kept raw because the presence of a key ("due": null) matters,
	// not only its value.
	Old map[string]json.RawMessage `json:"old"`
	// IDMember is the member addMemberToCard and removeMemberFromCard
	// add or remove; Member is the same member, in full, on some actions.
	IDMember string  `json:"idMember"`
	Member   *Member `json:"member"`
	// Label is the label addLabelToCard and removeLabelFromCard add or
	// remove; Checklist the checklist of addChecklistToCard,
	// removeChecklistFromCard and updateCheckItemStateOnCard.
	Label     *Label      `json:"label"`
	Checklist *ActionList `json:"checklist"`
}

// ActionCard is the card an action names, with the fields the action
// changed.
type ActionCard struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IDShort   int    `json:"idShort"`
	ShortLink string `json:"shortLink"`
	IDList    string `json:"idList"`
	Closed    *bool  `json:"closed"`
	// Desc and Due are the new values of an updateCard that changed
	// them; a due cleared is null.
	Desc        *string `json:"desc"`
	Due         *string `json:"due"`
	DueComplete *bool   `json:"dueComplete"`
}

// ActionList is a list or a board named by an action: an id and the name it
// had at the time.
type ActionList struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
