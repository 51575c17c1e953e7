package demogen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	_ "time/tzdata" // the world's zones must resolve the same way on every machine
)

// Person keys, in the order of the people table. The index is how plans
// refer to a person; it never leaves the package.
const (
	pAnna = iota
	pBoris
	pChloe
	pDmitri
	pElena
	pJohn
	pOlga
	pIgor
	pMaya
)

// person is one human of the demo world, agency or client side.
type person struct {
	name     string
	trelloID string // empty for people without a Trello account
	username string
	initials string
	email    string
	agency   bool
	russian  bool // writes in Russian
	zone     *time.Location
}

var (
	berlin  = mustZone("Europe/Berlin")
	moscow  = mustZone("Europe/Moscow")
	newYork = mustZone("America/New_York")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("loading zone %s: %v", name, err))
	}
	return loc
}

var people = []person{
	pAnna:   {name: "Anna Petrova", trelloID: "5f1a00000000000000000001", username: "annapetrova", initials: "AP", email: "anna@northwind.agency", agency: true, zone: berlin},
	pBoris:  {name: "Boris Ivanov", trelloID: "5f1a00000000000000000002", username: "borisivanov", initials: "BI", email: "boris@northwind.agency", agency: true, zone: berlin},
	pChloe:  {name: "Chloé Martin", trelloID: "5f1a00000000000000000003", username: "chloemartin", initials: "CM", email: "chloe@northwind.agency", agency: true, zone: berlin},
	pDmitri: {name: "Dmitri Sokolov", trelloID: "5f1a00000000000000000004", username: "dsokolov", initials: "DS", email: "dmitri@northwind.agency", agency: true, zone: berlin},
	pElena:  {name: "Елена Кузнецова", trelloID: "5f1a00000000000000000005", username: "elenak", initials: "ЕК", email: "elena@northwind.agency", agency: true, russian: true, zone: berlin},
	pJohn:   {name: "John Carter", trelloID: "5f1a00000000000000000006", username: "johncarter", initials: "JC", email: "john.carter@acmefoods.com", zone: berlin},
	pOlga:   {name: "Ольга Смирнова", trelloID: "5f1a00000000000000000007", username: "olgasmirnova", initials: "ОС", email: "olga@bettastroy.ru", russian: true, zone: moscow},
	pIgor:   {name: "Игорь Волков", email: "igor.volkov@bettastroy.ru", russian: true, zone: moscow},
	pMaya:   {name: "Maya Chen", trelloID: "5f1a00000000000000000008", username: "mayachen", initials: "MC", email: "maya@cobaltlabs.io", zone: newYork},
}

// List positions on every board; the names differ per board.
const (
	lBacklog = iota
	lTodo
	lDoing
	lReview
	lWaiting
	lDone
	lOldIdeas // closed (archived) list
	listCount
)

// labelSpec is one label of a board.
type labelSpec struct {
	name  string
	color string
}

// Label positions shared by every board's label table.
const (
	labUrgent = iota
	labOutOfScope
	labBug
	labDesign
	labUnnamed
)

// board is one client and its Trello board, with the people who work on it.
type board struct {
	key        string // file name stem
	client     string
	id         string
	shortLink  string
	name       string
	slug       string
	lists      [listCount]string
	labels     []labelSpec
	pm         int
	workers    []int // agency people who do the work, by weight
	weights    []int
	contact    int   // the client's Trello member
	mailPeople []int // client people who write mail
	russian    bool
	zone       *time.Location
	budget     int // hours per month, for the docs only
	// rates are the logged hours per month (Aug, Sep, Oct, Nov) at scale 1,
	// prorated to the part of the month inside the history.
	rates [4]int
	// threads is the number of mail threads at scale 1.
	threads int
}

func (b *board) lang() string {
	if b.russian {
		return "ru"
	}
	return "en"
}

var englishLabels = []labelSpec{
	labUrgent:     {"urgent", "red"},
	labOutOfScope: {"out of scope", "orange"},
	labBug:        {"bug", "purple"},
	labDesign:     {"design", "blue"},
	labUnnamed:    {"", "green"},
}

var boards = []*board{
	{
		key: "acme", client: "Acme Foods", id: "64b0000000000000000a0001", shortLink: "AcmeWb01",
		name: "Acme Foods — Website", slug: "acme-foods-website",
		lists:   [listCount]string{"Backlog", "To Do", "Doing", "Review", "Waiting for client", "Done", "Old ideas"},
		labels:  englishLabels,
		pm:      pAnna,
		workers: []int{pChloe, pDmitri, pAnna}, weights: []int{35, 45, 20},
		contact: pJohn, mailPeople: []int{pJohn},
		zone: berlin, budget: 60, rates: [4]int{58, 62, 57, 61}, threads: 36,
	},
	{
		key: "betta", client: "Betta Stroy", id: "64b0000000000000000a0002", shortLink: "BettaMk2",
		name: "Бетта Строй — Маркетинг", slug: "betta-stroi-marketing",
		lists: [listCount]string{"Бэклог", "К работе", "В работе", "На проверке", "Ждём клиента", "Готово", "Архив идей"},
		labels: append(append([]labelSpec{}, englishLabels...),
			labelSpec{"контент", "yellow"}),
		pm:      pAnna,
		workers: []int{pElena, pChloe, pAnna}, weights: []int{50, 25, 25},
		contact: pOlga, mailPeople: []int{pOlga, pOlga, pIgor},
		russian: true, zone: moscow, budget: 40, rates: [4]int{41, 38, 47, 45}, threads: 44,
	},
	{
		key: "cobalt", client: "Cobalt Labs", id: "64b0000000000000000a0003", shortLink: "CobaltA3",
		name: "Cobalt Labs — App", slug: "cobalt-labs-app",
		lists:   [listCount]string{"Backlog", "Sprint", "In Progress", "Code Review", "Blocked on Client", "Shipped", "Old ideas"},
		labels:  englishLabels,
		pm:      pBoris,
		workers: []int{pDmitri, pBoris}, weights: []int{70, 30},
		contact: pMaya, mailPeople: []int{pMaya},
		zone: newYork, budget: 80, rates: [4]int{62, 66, 58, 55}, threads: 32,
	},
}

// members returns the board's Trello members: Boris (lead on every board),
// the PM and workers, and the client contact, ordered by id.
func (b *board) members() []int {
	seen := make([]bool, len(people))
	seen[pBoris] = true
	seen[b.pm] = true
	for _, w := range b.workers {
		seen[w] = true
	}
	seen[b.contact] = true
	var out []int
	for i, ok := range seen {
		if ok && people[i].trelloID != "" {
			out = append(out, i)
		}
	}
	return out
}

// The history: Monday 24 August to Friday 20 November 2026, agency calendar.
var (
	historyStart = time.Date(2026, 8, 24, 0, 0, 0, 0, berlin)
	historyEnd   = time.Date(2026, 11, 20, 18, 0, 0, 0, berlin)
	// archiveBefore splits mail: older messages live in mail/archive/*.eml.
	archiveBefore = time.Date(2026, 9, 7, 0, 0, 0, 0, berlin)
)

// Business hours of every calendar in the world.
const (
	openHour  = 9
	closeHour = 18
)

func isWorkday(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// bizOpen returns the first business instant at or after t in loc.
func bizOpen(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	for {
		if isWorkday(l) {
			open := time.Date(l.Year(), l.Month(), l.Day(), openHour, 0, 0, 0, loc)
			closing := time.Date(l.Year(), l.Month(), l.Day(), closeHour, 0, 0, 0, loc)
			if l.Before(open) {
				return open
			}
			if l.Before(closing) {
				return l
			}
		}
		l = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	}
}

// bizAdd adds d of business time (Mon–Fri 09:00–18:00 in loc) to t.
func bizAdd(t time.Time, loc *time.Location, d time.Duration) time.Time {
	t = bizOpen(t, loc)
	for {
		l := t.In(loc)
		closing := time.Date(l.Year(), l.Month(), l.Day(), closeHour, 0, 0, 0, loc)
		left := closing.Sub(t)
		if d < left {
			return t.Add(d)
		}
		d -= left
		t = bizOpen(closing, loc)
	}
}

// workdays lists the local midnights of the agency's workdays in the history.
func workdays() []time.Time {
	var out []time.Time
	for d := historyStart; d.Before(historyEnd); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, berlin) {
		if isWorkday(d) {
			out = append(out, d)
		}
	}
	return out
}

// rnd wraps a PCG generator with the few draws the planners need. Durations
// and counts are drawn as integers so that no float rounding can differ
// between machines.
type rnd struct{ *rand.Rand }

// newRnd returns the generator for one named stream of a seed, so that
// adding draws to one file's planner never changes another file.
func newRnd(seed uint64, stream string, index uint64) rnd {
	h := uint64(14695981039346656037)
	for i := 0; i < len(stream); i++ {
		h ^= uint64(stream[i])
		h *= 1099511628211
	}
	return rnd{rand.New(rand.NewPCG(seed, h^(index*0x9e3779b97f4a7c15)))}
}

// chance is true with probability percent/100.
func (r rnd) chance(percent int) bool { return r.IntN(1000) < percent*10 }

// between returns an int in [lo, hi].
func (r rnd) between(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// minutes returns a duration between lo and hi minutes, with random seconds.
func (r rnd) minutes(lo, hi int) time.Duration {
	return time.Duration(r.between(lo*60, hi*60)) * time.Second
}

// hours returns a duration between lo and hi hours, with random seconds.
func (r rnd) hours(lo, hi int) time.Duration { return r.minutes(lo*60, hi*60) }

// weighted returns an index of weights, drawn in proportion to them.
func (r rnd) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func pick[T any](r rnd, xs []T) T { return xs[r.IntN(len(xs))] }

// bizInstant returns a random business instant of day (a local midnight in
// any zone) in loc, between 09:00 and 17:45.
func (r rnd) bizInstant(day time.Time, loc *time.Location) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), openHour, 0, 0, 0, loc).
		Add(time.Duration(r.IntN((closeHour-openHour)*3600-900)) * time.Second)
}

// idGen makes Trello-style ObjectIds: 8 hex digits of creation time in Unix
// seconds, a fixed "machine" part, and a counter that keeps them unique.
type idGen struct {
	machine string
	n       uint32
	links   map[string]bool // short links handed out, boards' included
}

func newIDGen(r rnd) *idGen {
	g := &idGen{machine: r.hex(10), links: map[string]bool{}}
	for _, b := range boards {
		g.links[b.shortLink] = true
	}
	return g
}

// shortLink returns a fresh 8-character short link.
func (g *idGen) shortLink(r rnd) string {
	for {
		s := r.alnum(8)
		if !g.links[s] {
			g.links[s] = true
			return s
		}
	}
}

func (g *idGen) next(t time.Time) string {
	g.n++
	return fmt.Sprintf("%08x%s%06x", t.Unix(), g.machine, g.n&0xffffff)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (r rnd) alnum(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alnum[r.IntN(len(alnum))])
	}
	return b.String()
}

func (r rnd) hex(n int) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for range n {
		b.WriteByte(digits[r.IntN(16)])
	}
	return b.String()
}

var translit = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z",
	'и': "i", 'й': "i", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r",
	'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch",
	'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "iu", 'я': "ia", 'é': "e",
}

// slug turns a card name into the tail of its Trello URL.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
			dash = false
		case translit[c] != "":
			b.WriteString(translit[c])
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
