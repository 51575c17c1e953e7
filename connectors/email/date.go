package email

import (
	"strings"
	"time"
)

// parseDate reads the date-time of a Date or Received header: RFC 5322's
// syntax (section 3.3) with its obsolete forms (section 4.3) and what real
// mailers write beyond both. It is false only when v holds no date at all
// (no day, month and year), or one no calendar has (31 Feb, 25:00).
//
// It is written by hand. net/mail.ParseDate, which go-message's
// Header.Date calls, reads part of the obsolete syntax and misreads some of
// what it accepts: it refuses "01 Jan 2001 00:01+0000" (no weekday, no
// seconds, no space before the zone) and lower-case months; it takes "EST"
// for +0000 (time.Parse gives an abbreviation it does not know in the local
// zone a zero offset), so a New York message would be dated five hours
// early; and it puts "55" in 2055, where RFC 5322 4.3 says 1955. No
// maintained Go module within reach reads the obsolete syntax (the module
// list and the docs were searched for one).
//
// What it takes, in any order a mailer wrote it (RFC 5322's "day month
// year", ctime's "month day time year", ISO 8601's "yyyy-mm-dd"):
//   - comments anywhere, and any white space; commas optional;
//   - weekday and month names in any case, abbreviated or not (a wrong
//     weekday is ignored, as mail programs do);
//   - two-digit years 00-49 as 2000-2049 and 50-99 as 1950-1999, three-digit
//     years plus 1900 (RFC 5322 4.3);
//   - single-digit hours, missing seconds, a missing time (midnight);
//   - zones: +hhmm, +hh:mm, +h, the RFC 822 names (UT, GMT, EST -0500, EDT
//     -0400, CST -0600, CDT -0500, MST -0700, MDT -0600, PST -0800, PDT
//     -0700), "UTC" and "Z", "GMT+0300"; military letters and any other
//     alphabetic zone are -0000, as RFC 5322 4.3 says (RFC 822 got the
//     military signs backwards, so no letter can be trusted); a missing zone
//     is -0000 too. A numeric offset wins over a name written beside it.
func parseDate(v string) (time.Time, bool) {
	toks := dateTokens(stripComments(v))
	const digits, letters = 'd', 'a'
	var (
		nums                  []string // bare numbers: the day and the year
		dotted                []string // dd.mm.yyyy
		month                 = 0
		year, day             = -1, -1
		hour, minute, sec     = -1, 0, 0
		offset                = 0 // seconds east of UTC
		haveNumZone, haveZone bool
		pm, am, iso           bool
		afterAlphaZone        bool // the previous token was a zone name: "GMT+0300"
	)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		wasAlphaZone := afterAlphaZone
		afterAlphaZone = false
		switch t.kind {
		case digits:
			// A time: h:mm[:ss[.fraction]].
			if i+2 < len(toks) && toks[i+1].is(':') && toks[i+2].kind == digits && hour < 0 {
				h, m := atoi(t.s), atoi(toks[i+2].s)
				i += 2
				s := 0
				if i+2 < len(toks) && toks[i+1].is(':') && toks[i+2].kind == digits {
					s = atoi(toks[i+2].s)
					i += 2
					if i+2 < len(toks) && toks[i+1].is('.') && toks[i+2].kind == digits {
						i += 2 // a fraction of a second
					}
				}
				hour, minute, sec = h, m, s
				continue
			}
			// ISO 8601: yyyy-mm-dd (and a "T" before the time).
			if !iso && len(t.s) == 4 && i+4 < len(toks) && toks[i+1].is('-') && toks[i+2].kind == digits &&
				toks[i+3].is('-') && toks[i+4].kind == digits && month == 0 {
				year, month, day = atoi(t.s), atoi(toks[i+2].s), atoi(toks[i+4].s)
				iso = true
				i += 4
				continue
			}
			// dd.mm.yyyy, used when no month is named.
			if dotted == nil && i+4 < len(toks) && toks[i+1].is('.') && toks[i+2].kind == digits && toks[i+3].is('.') && toks[i+4].kind == digits {
				dotted = []string{t.s, toks[i+2].s, toks[i+4].s}
				i += 4
				continue
			}
			nums = append(nums, t.s)
		case letters:
			w := strings.ToLower(t.s)
			if m := monthNumber(w); m > 0 && month == 0 && !iso {
				month = m
				continue
			}
			if isWeekday(w) {
				continue
			}
			switch w {
			case "am":
				am = true
				continue
			case "pm":
				pm = true
				continue
			case "t":
				if hour < 0 {
					continue // ISO's date-time separator
				}
			}
			if hour >= 0 && !haveZone {
				// Unknown names are -0000: zoneNames gives them 0.
				offset, haveZone, afterAlphaZone = zoneNames[w], true, true
			}
		default:
			// '+' or '-' with digits: a zone, after the time ('-' before
			// it separates "14-May-2024"), or right after a zone name
			// ("GMT+0300"); '+' is never a separator.
			if (t.is('+') || t.is('-')) && i+1 < len(toks) && toks[i+1].kind == digits && !haveNumZone &&
				(hour >= 0 || t.is('+') || wasAlphaZone) {
				h, m, ok := zoneOffset(toks[i+1].s)
				i++
				if ok && i+2 < len(toks) && toks[i+1].is(':') && toks[i+2].kind == digits && len(toks[i].s) <= 2 {
					m = atoi(toks[i+2].s)
					i += 2
				}
				if ok && h <= 23 && m <= 59 {
					off := h*3600 + m*60
					if t.is('-') {
						off = -off
					}
					offset, haveZone, haveNumZone = off, true, true
				} else if !haveZone {
					offset, haveZone = 0, true
				}
			}
		}
	}

	switch {
	case iso:
	case month > 0 && len(nums) >= 2:
		if len(nums[0]) >= 3 {
			year, day = yearOf(nums[0]), atoi(nums[1])
		} else {
			day, year = atoi(nums[0]), yearOf(nums[1])
		}
	case month == 0 && dotted != nil:
		day, month, year = atoi(dotted[0]), atoi(dotted[1]), yearOf(dotted[2])
	default:
		return time.Time{}, false
	}
	if hour < 0 {
		hour = 0
	}
	switch {
	case pm && hour < 12:
		hour += 12
	case am && hour == 12:
		hour = 0
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.FixedZone("", offset))
	if !saneYear(t) {
		return time.Time{}, false
	}
	return t, true
}

// zoneNames are the alphabetic zones RFC 5322 4.3 gives an offset; every
// other name (the military letters included, and Z and UTC, which mean it)
// is -0000.
var zoneNames = map[string]int{
	"ut": 0, "utc": 0, "gmt": 0, "z": 0,
	"est": -5 * 3600, "edt": -4 * 3600,
	"cst": -6 * 3600, "cdt": -5 * 3600,
	"mst": -7 * 3600, "mdt": -6 * 3600,
	"pst": -8 * 3600, "pdt": -7 * 3600,
}

var monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// monthNumber is 1-12 for a month's English name or its abbreviation
// (three letters or more of the name: "Sept"), else 0.
func monthNumber(w string) int {
	if len(w) < 3 {
		return 0
	}
	full := []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	for i, m := range monthNames {
		if strings.HasPrefix(w, m) && strings.HasPrefix(full[i], w) {
			return i + 1
		}
	}
	return 0
}

func isWeekday(w string) bool {
	if len(w) < 2 {
		return false
	}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		if strings.HasPrefix(d, w) && (len(w) >= 3 || w == "tu" || w == "th" || w == "su" || w == "sa") {
			return true
		}
	}
	return false
}

// yearOf reads a year as RFC 5322 4.3 says: two digits 00-49 are
// 2000-2049 and 50-99 are 1950-1999; three digits are counted from 1900.
func yearOf(s string) int {
	y := atoi(s)
	switch {
	case len(s) > 4 || y < 0:
		return -1
	case len(s) <= 2 && y < 50:
		return 2000 + y
	case len(s) <= 2:
		return 1900 + y
	case len(s) == 3:
		return 1900 + y
	}
	return y
}

// zoneOffset reads the digits of a numeric zone: hhmm, hmm, or hh / h
// alone (hours; minutes may follow after a colon).
func zoneOffset(s string) (h, m int, ok bool) {
	switch len(s) {
	case 1, 2:
		return atoi(s), 0, true
	case 3, 4:
		return atoi(s[:len(s)-2]), atoi(s[len(s)-2:]), true
	}
	return 0, 0, false
}

func daysIn(m time.Month, year int) int {
	if m < 1 || m > 12 {
		return 0
	}
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// atoi reads a run of ASCII digits; -1 when it is empty or too long to be
// part of a date.
func atoi(s string) int {
	if s == "" || len(s) > 9 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// dateToken is a run of letters ('a'), a run of digits ('d'), or one
// punctuation character ('p': one of ":+-.") of a date.
type dateToken struct {
	kind byte
	s    string
}

func (t dateToken) is(c byte) bool { return t.kind == 'p' && t.s[0] == c }

// dateTokens splits a date into tokens; white space and anything that is
// not an ASCII letter, a digit or one of ":+-." only separates them.
func dateTokens(v string) []dateToken {
	var out []dateToken
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case isASCIILetter(c):
			j := i
			for j < len(v) && isASCIILetter(v[j]) {
				j++
			}
			out = append(out, dateToken{'a', v[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(v) && v[j] >= '0' && v[j] <= '9' {
				j++
			}
			out = append(out, dateToken{'d', v[i:j]})
			i = j
		case c == ':' || c == '+' || c == '-' || c == '.':
			out = append(out, dateToken{'p', v[i : i+1]})
			i++
		default:
			i++
		}
		if len(out) > 64 {
			// No date has that many parts; the rest is noise.
			break
		}
	}
	return out
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// stripComments replaces RFC 5322 comments (nested, with quoted pairs) by
// a space; an unclosed comment runs to the end.
func stripComments(v string) string {
	if !strings.ContainsRune(v, '(') {
		return v
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			if depth == 0 {
				b.WriteByte(' ')
			}
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// receivedDate is the date of the newest Received: header that has a
// readable one: the part after its last ';' (RFC 5321 4.4). Headers are
// prepended on the way, so the first is the newest.
func receivedDate(values []string) (time.Time, bool) {
	for _, v := range values {
		i := strings.LastIndexByte(v, ';')
		if i < 0 {
			continue
		}
		if t, ok := parseDate(v[i+1:]); ok {
			return t, true
		}
	}
	return time.Time{}, false
}
