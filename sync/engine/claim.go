package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/karkas/karkas/record"
)

// claimIDs settles which email of the batch is which stored message when a
// Message-ID is shared. Mailers reuse ids and lists rewrite messages, so one
// Message-ID can name different messages; a source sorts that out within a
// pull (a copy with the same content is merged, another message is
// emitted as "<id>#<fingerprint>"), and claimIDs does the same against the
// messages already stored, so that a different message arriving in a later
// pull under an id already stored is stored apart instead of overwriting
// the first. The rule is canonical, whatever order the messages come in:
// the message whose content matches the stored plain id keeps it, every
// other one is "<id>#<its fingerprint>".
//
// It rewrites ExternalIDs in place (in copies of the source's messages)
// and returns a warning Problem for every message it stored apart.
func (e *Engine) claimIDs(ctx context.Context, sourceID string, in *record.Batch) ([]record.Problem, error) {
	type claim struct {
		i        int
		base, fp string
	}
	var claims []claim
	var ids []string
	for i := range in.Messages {
		m := &in.Messages[i]
		if m.Channel != record.ChannelEmail || m.ExternalID == "" {
			continue
		}
		fp := m.Fingerprint()
		base := strings.TrimSuffix(m.ExternalID, "#"+fp)
		claims = append(claims, claim{i: i, base: base, fp: fp})
		ids = append(ids, base)
	}
	if len(claims) == 0 {
		return nil, nil
	}
	stored, err := e.Store.MessageFingerprints(ctx, sourceID, ids)
	if err != nil {
		return nil, err
	}
	known := make(map[string]string, len(stored))
	for _, s := range stored {
		known[s.ExternalID] = s.Fingerprint
	}
	var problems []record.Problem
	copied := false
	for _, c := range claims {
		fp, ok := known[c.base]
		if !ok {
			continue // nothing stored under the plain id: as the source said
		}
		id := c.base + "#" + c.fp
		if fp == c.fp {
			id = c.base
		}
		if id == in.Messages[c.i].ExternalID {
			continue
		}
		if !copied {
			// The source may reuse its slices once Emit returns; never
			// write into them.
			in.Messages = append([]record.Message(nil), in.Messages...)
			copied = true
		}
		if id != c.base {
			problems = append(problems, record.Problem{Warning: true, Where: "Message-ID <" + c.base + ">",
				Message: fmt.Sprintf("a different message with this Message-ID is already stored; this one (%q, %s) is stored apart as <%s>",
					in.Messages[c.i].Subject, in.Messages[c.i].SentAt.UTC().Format("2006-01-02 15:04 UTC"), id)})
		}
		in.Messages[c.i].ExternalID = id
	}
	return problems, nil
}
