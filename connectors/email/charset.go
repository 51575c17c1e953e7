package email

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// guessEncoding picks a legacy single-byte charset for text that declared
// none (or declared a wrong one) and is not UTF-8. Old Russian mail is the
// common case: in both windows-1251 and KOI8-R every Cyrillic letter is a byte
// of 0xC0 or above, so text where such bytes are a fair share of the letters
// is Cyrillic. The two charsets swap the cases (KOI8-R puts lower case at
// 0xC0-0xDF, windows-1251 at 0xE0-0xFF), and running text is mostly lower
// case, so the busier half names the charset. Anything else is read as
// windows-1252, the superset of Latin-1 that mailers really sent.
func guessEncoding(b []byte) encoding.Encoding {
	var low, high, ascii int
	for _, c := range b {
		switch {
		case c >= 0xE0:
			high++
		case c >= 0xC0:
			low++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			ascii++
		}
	}
	if cyr := low + high; cyr > 0 && cyr*4 > ascii {
		if low > high {
			return charmap.KOI8R
		}
		return charmap.Windows1251
	}
	return charmap.Windows1252
}

// legacyText decodes b, which is not valid UTF-8, with a guessed charset.
func legacyText(b []byte) string {
	out, err := guessEncoding(b).NewDecoder().Bytes(b)
	if err != nil {
		// Single-byte decoders do not fail; keep going with what is valid.
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	}
	return string(out)
}

// fixText returns s unchanged when it is UTF-8, else decoded with a guessed
// legacy charset: raw 8-bit header values are common in old mail.
func fixText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return legacyText([]byte(s))
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b, left
// there when a byte limit cut a character in two.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// capString cuts s to at most n bytes on a rune boundary.
func capString(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}
