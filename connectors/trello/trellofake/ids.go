package trellofake

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"
)

// idGen makes Trello ids: 24-hex MongoDB ObjectIds whose first 8 hex digits
// are the creation time in Unix seconds, then 5 bytes fixed per world (the
// "machine" part) and a 3-byte counter. With one machine part per world,
// ids sort by time and then by creation order, as Trello's do in practice.
//
// Short links are 8 characters drawn from the same seeded stream, so a
// world built from a seed is the same every time.
type idGen struct {
	machine [5]byte
	counter uint32
	rnd     *rand.Rand
	shorts  map[string]bool
}

func newIDGen(seed uint64) *idGen {
	g := &idGen{rnd: rand.New(rand.NewPCG(seed, 0x7472656c6c6f)), shorts: map[string]bool{}}
	binary.BigEndian.PutUint32(g.machine[:4], g.rnd.Uint32())
	g.machine[4] = byte(g.rnd.Uint32())
	g.counter = g.rnd.Uint32() & 0xffff
	return g
}

// next returns a new id carrying t.
func (g *idGen) next(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(t.Unix()))
	copy(b[4:9], g.machine[:])
	g.counter = (g.counter + 1) & 0xffffff
	b[9], b[10], b[11] = byte(g.counter>>16), byte(g.counter>>8), byte(g.counter)
	return hex.EncodeToString(b[:])
}

const shortAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// shortLink returns a new 8-character short link, unique in the world.
func (g *idGen) shortLink() string {
	for {
		var b [8]byte
		for i := range b {
			b[i] = shortAlphabet[g.rnd.IntN(len(shortAlphabet))]
		}
		s := string(b[:])
		if !g.shorts[s] {
			g.shorts[s] = true
			return s
		}
	}
}

// hexString returns n random hex digits (avatar hashes).
func (g *idGen) hexString(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rnd.IntN(16)]
	}
	return string(b)
}

// IsObjectID reports whether s is a well-formed Trello id: 24 hex digits.
func IsObjectID(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// IDTime returns the creation time an id carries, and false for a string
// that is not an id.
func IDTime(id string) (time.Time, bool) {
	if !IsObjectID(id) {
		return time.Time{}, false
	}
	b, _ := hex.DecodeString(id[:8])
	return time.Unix(int64(binary.BigEndian.Uint32(b)), 0).UTC(), true
}

// isShortLink reports whether s looks like a board or card short link,
// which Trello accepts wherever it accepts the id.
func isShortLink(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(shortAlphabet, r) {
			return false
		}
	}
	return true
}

// slug is the readable tail of a card or board URL: lower-case letters and
// digits, everything else folded into single dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// initials are the first letters of the first two words of a name.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			out = append(out, unicode.ToUpper(r))
			break
		}
		if len(out) == 2 {
			break
		}
	}
	return string(out)
}
