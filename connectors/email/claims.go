package email

import (
	"fmt"

	"github.com/karkas/karkas/record"
)

// tallyUnit is what the mail sources count in record.Tally.
const tallyUnit = "messages"

// claims decides, within one pull, what becomes of each message read: the
// Message-ID names it, but mailers reuse ids and lists rewrite them, so
// the id alone does not say two messages are one. Two messages are one
// when their id and their content (record.Message.Fingerprint: author,
// recipients, date, subject, text) are equal: a copy in INBOX and in
// Archive, or an mbox exported twice. The first message read under an id
// keeps it; a different one under the same id is stored apart as
// "id#fingerprint". Across pulls the same rule, against what the store
// holds, is the engine's.
type claims map[string]string // ExternalID emitted → the fingerprint of its message

// claim reports whether m merges into a message already emitted. When it
// does not and its id names another message, m.ExternalID becomes
// id#fingerprint and note says so, for a warning. InReplyTo, References
// and ThreadKey keep the ids the message wrote.
func (c claims) claim(m *record.Message) (merged bool, note string) {
	fp := m.Fingerprint()
	have, seen := c[m.ExternalID]
	switch {
	case !seen:
		c[m.ExternalID] = fp
		return false, ""
	case have == fp:
		return true, ""
	}
	alt := m.ExternalID + "#" + fp
	if _, seen := c[alt]; seen {
		return true, ""
	}
	c[alt] = fp
	note = fmt.Sprintf("Message-ID <%s> also names another message read before, with another author, recipients, date, subject or text; this one is stored apart as %s", m.ExternalID, alt)
	m.ExternalID = alt
	return false, note
}

// collectWarnings gathers a parse's warnings, at most maxWarnings of them
// and each once; one more says that there were more.
func collectWarnings(list *[]string) func(string) {
	return func(w string) {
		for _, have := range *list {
			if have == w {
				return
			}
		}
		switch {
		case len(*list) < maxWarnings:
			*list = append(*list, w)
		case len(*list) == maxWarnings:
			*list = append(*list, "more problems in this message not shown")
		}
	}
}

// warningProblems turns a stored message's notes into warning Problems.
func warningProblems(where string, notes []string) []record.Problem {
	out := make([]record.Problem, 0, len(notes))
	for _, n := range notes {
		out = append(out, record.Problem{Where: where, Message: n, Warning: true})
	}
	return out
}
