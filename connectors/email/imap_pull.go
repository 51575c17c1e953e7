package email

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// IMAPSource pulls mail from IMAP accounts.
//
// # Incremental sync
//
// The cursor keeps, per account and folder, the folder's UIDVALIDITY and
// the highest UID whose message is stored (and HIGHESTMODSEQ where the
// server has CONDSTORE, kept for a later version that asks only for
// changes; today nothing reads it, because records carry no flags and an
// expunged message stays on record as something that was said). A pull
// asks each folder's STATUS and reads only UIDs above the cursor's, in
// batches, each emitted with the cursor it completes, so a killed pull
// resumes where its last stored batch ended. A changed UIDVALIDITY means
// the UIDs are new: the folder is read again from the start, and nothing is
// stored twice because a message's ExternalID is its Message-ID (or, when
// it has none, a hash of its bytes): the store upserts by it.
//
// A message held in several folders or accounts (a reply in Sent and in a
// colleague's INBOX) is one record. Within a pull the first copy read wins
// and the others are counted as merged; a different message under a
// Message-ID already emitted is stored apart as "id#fingerprint", with a
// warning (see claims). Every account's Sent folders are read before any
// other folder, so that a message the agency sent is recorded with its Sent
// folder, as the mail_files source does. Sides do not depend on the folder:
// the mapping decides them from the From address.
//
// Every batch carries its record.Tally of messages: each UID fetched (not
// drafts, nor UIDs expunged before their FETCH) is read once, and is
// stored, refused (a Problem naming account, folder and UID, and why) or
// merged.
//
// # Folders
//
// Without configured folders an account reads INBOX and the folders LIST
// marks \Sent (or, when none is marked, named like Sent). When LIST shows a
// folder marked \All (Gmail's "[Gmail]/All Mail"), that folder alone is
// read, since INBOX and Sent are views of it: its messages from the
// account's own addresses (username and addresses) are recorded in the
// \Sent folder's name, the others under the All Mail name. Drafts
// (\Draft) are never recorded.
//
// # Safety
//
// Folders are opened with EXAMINE and bodies fetched with BODY.PEEK[], so
// nothing is marked \Seen. RFC822.SIZE is fetched first: a message over
// max_message_bytes is recorded as a problem and never downloaded. Each
// account has at most max_connections connections; dialling, logging in
// and every command stop after timeout without progress; a dropped
// connection is opened again up to retries times before the account is
// reported, and the other accounts go on.
type IMAPSource struct {
	accounts  []*imapAccount
	maxBytes  int64
	batchSize int
	timeout   time.Duration
	retries   int
	logger    *slog.Logger
	// backoff is the first wait before a new connection; it doubles.
	backoff time.Duration
}

// imapFetchChunk is the most UIDs one FETCH asks for: large enough to keep the
// connection busy, small enough that a retry re-reads little.
const imapFetchChunk = 200

// imapFoldersAtOnce bounds the folders read at once over all accounts;
// max_connections bounds each account's.
const imapFoldersAtOnce = 8

// imapCursor is the source's cursor, as JSON.
type imapCursor struct {
	V        int                                   `json:"v"`
	Accounts map[string]map[string]imapFolderState `json:"accounts"`
}

// imapFolderState is where a folder's sync stands.
type imapFolderState struct {
	UIDValidity uint32 `json:"uidvalidity"`
	// UID is the highest UID handled: every message up to it is stored,
	// recorded as a problem, or skipped as a draft or a duplicate.
	UID    uint32 `json:"uid"`
	ModSeq uint64 `json:"modseq,omitempty"`
}

const imapCursorVersion = 1

func parseIMAPCursor(s string) (*imapCursor, error) {
	c := &imapCursor{V: imapCursorVersion, Accounts: map[string]map[string]imapFolderState{}}
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), c); err != nil {
		return nil, err
	}
	if c.V != imapCursorVersion {
		return nil, fmt.Errorf("cursor version %d, want %d", c.V, imapCursorVersion)
	}
	if c.Accounts == nil {
		c.Accounts = map[string]map[string]imapFolderState{}
	}
	return c, nil
}

// imapPull is one Pull: the cursor as stored so far, the messages claimed,
// and the lock that orders emits.
type imapPull struct {
	src  *IMAPSource
	emit connectors.Emit

	// stop ends the pull when a batch could not be stored.
	stop context.CancelCauseFunc

	mu   sync.Mutex
	cur  *imapCursor
	seen claims
	// containers emitted in this pull
	shown map[string]bool
	// emitErr is the first emit's error: the pull stops and returns it.
	emitErr error
}

// Pull reads every account; see IMAPSource. Accounts fail alone: the
// others go on and their batches are stored, and Pull returns the failures
// joined (a refused login wraps connectors.ErrUnauthorized, a missing
// folder is a connectors.AttentionError).
func (s *IMAPSource) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	cur, err := parseIMAPCursor(cursor)
	if err != nil {
		// Starting over costs a re-read, never a duplicate: records are
		// upserted by Message-ID.
		s.logger.Warn("imap cursor unreadable; reading every folder again", "error", err)
		cur, _ = parseIMAPCursor("")
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	p := &imapPull{src: s, emit: emit, stop: stop, cur: cur, seen: claims{}, shown: map[string]bool{}}

	// Listing first, then every account's Sent folders, then the rest:
	// the copy kept of a message in Sent and in another folder (of any
	// account) is the Sent one.
	accs := make([]*imapAccountPull, len(s.accounts))
	for i, acc := range s.accounts {
		accs[i] = &imapAccountPull{acc: acc, pool: newIMAPConnPool(s, acc), busy: make(chan struct{}, acc.maxConns)}
		defer accs[i].pool.close(context.WithoutCancel(ctx))
	}
	// A folder waits for a connection of its account, then for one of
	// the pull's slots, so that one account's queue never holds slots
	// another account could use.
	slots := make(chan struct{}, imapFoldersAtOnce)
	var wg sync.WaitGroup
	run := func(a *imapAccountPull, f func()) {
		wg.Go(func() {
			for _, sem := range []chan struct{}{a.busy, slots} {
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
					return
				}
			}
			f()
		})
	}
	for _, a := range accs {
		run(a, func() { a.list(ctx, p) })
	}
	wg.Wait()
	for _, sent := range []bool{true, false} {
		for _, a := range accs {
			for i, t := range a.tasks {
				if t.sent == sent {
					run(a, func() { a.errs[i] = p.folder(ctx, a.pool, a.acc, t) })
				}
			}
		}
		wg.Wait()
	}
	errs := make([]error, len(accs))
	for i, a := range accs {
		errs[i] = joinIMAPErrors(append([]error{a.err}, a.errs...))
	}
	p.mu.Lock()
	emitErr := p.emitErr
	p.mu.Unlock()
	if emitErr != nil {
		return emitErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return joinIMAPErrors(errs)
}

// joinIMAPErrors keeps the errors' kinds visible to the engine: all
// attention errors become one, so that the source keeps its data and
// shows why.
func joinIMAPErrors(errs []error) error {
	var hard, attention []error
	for _, err := range errs {
		var ae *connectors.AttentionError
		switch {
		case err == nil:
		case errors.As(err, &ae) && !errors.Is(err, connectors.ErrUnauthorized):
			attention = append(attention, err)
		default:
			hard = append(hard, err)
		}
	}
	if len(hard) > 0 {
		return errors.Join(append(hard, attention...)...)
	}
	if len(attention) == 1 {
		return attention[0]
	}
	if len(attention) > 1 {
		var whys []string
		for _, err := range attention {
			whys = append(whys, err.Error())
		}
		return &connectors.AttentionError{Why: strings.Join(whys, "; ")}
	}
	return nil
}

// imapFolderTask is one folder to read, and how its messages are recorded.
type imapFolderTask struct {
	name      string // as the server names it
	container string // account/name
	// recordAs gives the Folder of a message from this sender address.
	recordAs func(from string) string
	sent     bool
}

// imapAccountPull is one account's part of a pull.
type imapAccountPull struct {
	acc  *imapAccount
	pool *imapConnPool
	// busy bounds the account's folders read at once (max_connections).
	busy  chan struct{}
	tasks []imapFolderTask
	// err is the listing's failure, or the configured folders that are
	// missing; errs are the folders' failures, by task.
	err  error
	errs []error
}

// list decides the account's folders.
func (a *imapAccountPull) list(ctx context.Context, p *imapPull) {
	var missing error
	err := p.withConn(ctx, a.pool, a.acc, "listing folders", nil, func(c *imapConn) error {
		var err error
		a.tasks, missing, err = p.folders(ctx, a.acc, c)
		return err
	})
	if err != nil {
		a.tasks, a.err = nil, err
		return
	}
	a.err = missing
	a.errs = make([]error, len(a.tasks))
}

// withConn runs f on a connection of the pool, with a new connection
// after a dropped one. retries bounds the failures in a row: a connection
// that failed after f made progress (progress, when not nil, changed; say
// one that idled out while a slow store took a batch) starts the count
// again.
func (p *imapPull) withConn(ctx context.Context, pool *imapConnPool, acc *imapAccount, what string, progress func() uint32, f func(*imapConn) error) error {
	wait := p.src.backoff
	mark := func() uint32 {
		if progress == nil {
			return 0
		}
		return progress()
	}
	for attempt := 0; ; attempt++ {
		before := mark()
		c, err := pool.get(ctx)
		if err == nil {
			if err = f(c); err == nil {
				pool.put(c)
				return nil
			}
			pool.drop(c)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !imapRetryable(err) {
			return err
		}
		if mark() != before {
			attempt, wait = 0, p.src.backoff
		}
		if attempt >= p.src.retries {
			return fmt.Errorf("account %s: %s: gave up after %d connections: %w", acc.name, what, attempt+1, err)
		}
		p.src.logger.Warn("imap connection lost; connecting again", "account", acc.name, "doing", what, "attempt", attempt+1, "error", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
}

// folders lists the account's folders and decides which to read. Folders
// named in the config that do not exist are the attention error; the
// others are still read.
func (p *imapPull) folders(ctx context.Context, acc *imapAccount, c *imapConn) (tasks []imapFolderTask, missing error, err error) {
	var list []*imap.ListData
	err = c.do(ctx, "LIST", func() error {
		var err error
		list, err = c.c.List("", "*", nil).Collect()
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("account %s: %w", acc.name, err)
	}
	has := func(l *imap.ListData, attr imap.MailboxAttr) bool {
		return slices.ContainsFunc(l.Attrs, func(a imap.MailboxAttr) bool { return strings.EqualFold(string(a), string(attr)) })
	}
	selectable := map[string]bool{}
	var names, sentNames []string
	allName := ""
	for _, l := range list {
		if has(l, imap.MailboxAttrNoSelect) || has(l, imap.MailboxAttrNonExistent) {
			continue
		}
		selectable[l.Mailbox] = true
		names = append(names, l.Mailbox)
		if has(l, imap.MailboxAttrSent) {
			sentNames = append(sentNames, l.Mailbox)
		}
		if has(l, imap.MailboxAttrAll) && allName == "" {
			allName = l.Mailbox
		}
	}
	if len(sentNames) == 0 {
		for _, n := range names {
			if isSentFolder(n) {
				sentNames = append(sentNames, n)
			}
		}
	}
	isSent := func(n string) bool { return slices.Contains(sentNames, n) }
	task := func(name string) imapFolderTask {
		return imapFolderTask{name: name, container: acc.name + "/" + name, sent: isSent(name),
			recordAs: func(string) string { return name }}
	}

	if len(acc.folders) > 0 {
		var absent []string
		for _, f := range acc.folders {
			name := f
			if strings.EqualFold(f, "INBOX") {
				name = "INBOX"
			}
			if !selectable[name] {
				absent = append(absent, fmt.Sprintf("%q", f))
				continue
			}
			tasks = append(tasks, task(name))
		}
		if len(absent) > 0 {
			slices.Sort(names)
			missing = &connectors.AttentionError{Why: fmt.Sprintf("account %s: no folder %s on %s (folders: %s)",
				acc.name, strings.Join(absent, ", "), acc.addr, strings.Join(names, ", "))}
		}
		return tasks, missing, nil
	}

	if allName != "" {
		sentName := "Sent"
		if len(sentNames) > 0 {
			sentName = sentNames[0]
		}
		t := task(allName)
		t.sent = false
		t.recordAs = func(from string) string {
			if acc.own[from] {
				return sentName
			}
			return allName
		}
		return []imapFolderTask{t}, nil, nil
	}
	tasks = []imapFolderTask{task("INBOX")}
	for _, n := range sentNames {
		if n != "INBOX" {
			tasks = append(tasks, task(n))
		}
	}
	return tasks, nil, nil
}

// imapFolderRun is a folder being read: where it stands, and the records read
// since the last emit.
type imapFolderRun struct {
	acc   *imapAccount
	task  imapFolderTask
	state imapFolderState
	batch record.Batch
	// stored is the state the last emit stored (or the cursor's).
	stored imapFolderState
	buf    []byte
}

func (r *imapFolderRun) where(uid imap.UID) string {
	return fmt.Sprintf("%s uid %d", r.task.container, uid)
}

// pending counts the messages and refusals read since the last emit; the
// warnings on a message (a few at most) come with it.
func (r *imapFolderRun) pending() int {
	return r.batch.Tally.Stored + r.batch.Tally.Refused
}

// folder reads one folder to the end.
func (p *imapPull) folder(ctx context.Context, pool *imapConnPool, acc *imapAccount, t imapFolderTask) error {
	p.mu.Lock()
	st := p.cur.Accounts[acc.name][t.name]
	p.mu.Unlock()
	r := &imapFolderRun{acc: acc, task: t, state: st, stored: st}
	progress := func() uint32 { return r.state.UID }
	err := p.withConn(ctx, pool, acc, "reading "+t.name, progress, func(c *imapConn) error { return p.read(ctx, c, r) })
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// What was read is stored even when the folder failed: the records
	// are whole, and the cursor covers exactly them.
	if ferr := p.flush(ctx, r); ferr != nil {
		return ferr
	}
	return err
}

// read brings r up to date over c. It may be called again on a new
// connection after a failure, and goes on from r.state.
func (p *imapPull) read(ctx context.Context, c *imapConn, r *imapFolderRun) error {
	name := r.task.name
	condstore := c.caps.Has(imap.CapCondStore)
	var status *imap.StatusData
	err := c.do(ctx, "STATUS "+name, func() error {
		var err error
		status, err = c.c.Status(name, &imap.StatusOptions{UIDNext: true, UIDValidity: true, HighestModSeq: condstore}).Wait()
		return err
	})
	if err != nil {
		return p.folderError(r, err)
	}
	if status.UIDValidity == r.state.UIDValidity && status.UIDNext != 0 && uint32(status.UIDNext) <= r.state.UID+1 {
		// Nothing new: the common case costs one STATUS.
		return nil
	}

	var sel *imap.SelectData
	err = c.do(ctx, "EXAMINE "+name, func() error {
		var err error
		sel, err = c.c.Select(name, &imap.SelectOptions{ReadOnly: true, CondStore: condstore}).Wait()
		return err
	})
	if err != nil {
		return p.folderError(r, err)
	}
	if sel.UIDValidity != r.state.UIDValidity {
		if r.state.UIDValidity != 0 {
			p.src.logger.Info("imap folder has a new UIDVALIDITY; reading it again", "account", r.acc.name, "folder", name,
				"old", r.state.UIDValidity, "new", sel.UIDValidity)
		}
		r.state = imapFolderState{UIDValidity: sel.UIDValidity}
	}
	r.state.ModSeq = sel.HighestModSeq

	var uids []imap.UID
	if sel.NumMessages > 0 {
		err = c.do(ctx, "UID SEARCH "+name, func() error {
			set := imap.UIDSet{}
			set.AddRange(imap.UID(r.state.UID+1), 0)
			data, err := c.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
			if err != nil {
				return err
			}
			uids = data.AllUIDs()
			return nil
		})
		if err != nil {
			return p.folderError(r, err)
		}
	}
	// n:* always holds the highest UID, even when it is below n.
	uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return uint32(u) <= r.state.UID })
	slices.Sort(uids)

	for len(uids) > 0 {
		n := min(imapFetchChunk, len(uids), max(1, p.src.batchSize-r.pending()))
		if err := p.chunk(ctx, c, r, uids[:n]); err != nil {
			return err
		}
		uids = uids[n:]
		if r.pending() >= p.src.batchSize {
			if err := p.flush(ctx, r); err != nil {
				return err
			}
		}
	}
	// UIDs below UIDNEXT that SEARCH did not list are gone: never look
	// at them again.
	if next := uint32(sel.UIDNext); next > 0 && next-1 > r.state.UID {
		r.state.UID = next - 1
	}
	return nil
}

// folderError turns a NO to STATUS, EXAMINE or SEARCH into attention: the
// folder was deleted or renamed since LIST, or the account lost its rights.
func (p *imapPull) folderError(r *imapFolderRun, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && ie.Code != imap.ResponseCodeUnavailable && ie.Code != imap.ResponseCodeInUse {
		return &connectors.AttentionError{Why: fmt.Sprintf("account %s: folder %q cannot be read", r.acc.name, r.task.name), Err: err}
	}
	return fmt.Errorf("account %s: %w", r.acc.name, err)
}

// chunk reads the messages of uids (ascending) into r.batch, and moves
// r.state past them. A failure leaves r untouched, so that a retry reads
// the chunk again.
func (p *imapPull) chunk(ctx context.Context, c *imapConn, r *imapFolderRun, uids []imap.UID) error {
	type meta struct {
		size  int64
		date  time.Time
		draft bool
	}
	// outcome is what became of one UID: a message, problems, or both.
	type outcome struct {
		uid      imap.UID
		msg      record.Message
		problems []record.Problem
	}
	metas := map[imap.UID]meta{}
	err := c.do(ctx, "FETCH sizes in "+r.task.name, func() error {
		cmd := c.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true})
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			c.kick()
			buf, err := msg.Collect()
			if err != nil {
				c.close()
				return err
			}
			if buf.UID != 0 {
				metas[buf.UID] = meta{size: buf.RFC822Size, date: buf.InternalDate, draft: slices.Contains(buf.Flags, imap.FlagDraft)}
			}
		}
		return cmd.Close()
	})
	if err != nil {
		return err
	}
	var outcomes []outcome
	var want imap.UIDSet
	for _, uid := range uids {
		m, ok := metas[uid]
		switch {
		case !ok, m.draft:
			// Expunged since SEARCH, or a draft: nothing was said yet.
		case m.size > p.src.maxBytes:
			outcomes = append(outcomes, outcome{uid: uid, problems: []record.Problem{{Where: r.where(uid),
				Message: fmt.Sprintf("message is %d bytes, over max_message_bytes (%d); not downloaded", m.size, p.src.maxBytes)}}})
		default:
			want.AddNum(uid)
		}
	}

	if len(want) > 0 {
		received := map[imap.UID]bool{}
		var fetchErr error
		err = c.do(ctx, "FETCH bodies in "+r.task.name, func() error {
			section := &imap.FetchItemBodySection{Peek: true}
			cmd := c.c.Fetch(want, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
			for {
				msg := cmd.Next()
				if msg == nil {
					break
				}
				c.kick()
				uid, raw, tooBig, err := p.body(msg, r, c)
				if err != nil {
					// Draining the command now would read the broken
					// literal again beside go-imap's reader goroutine:
					// drop the connection instead.
					c.close()
					return err
				}
				if uid == 0 {
					continue
				}
				received[uid] = true
				switch {
				case tooBig:
					outcomes = append(outcomes, outcome{uid: uid, problems: []record.Problem{{Where: r.where(uid),
						Message: fmt.Sprintf("message is over max_message_bytes (%d), larger than the server announced; skipped", p.src.maxBytes)}}})
				case raw == nil:
					outcomes = append(outcomes, outcome{uid: uid, problems: []record.Problem{{Where: r.where(uid), Message: "the server returned no body for the message"}}})
				default:
					m, probs := p.parse(raw, r, uid, metas[uid].date)
					outcomes = append(outcomes, outcome{uid: uid, msg: m, problems: probs})
				}
			}
			fetchErr = cmd.Close()
			var ie *imap.Error
			if errors.As(fetchErr, &ie) && ie.Type == imap.StatusResponseTypeNo {
				// Some messages could not be read; the rest could.
				return nil
			}
			return fetchErr
		})
		if err != nil {
			return err
		}
		if fetchErr != nil {
			nums, _ := want.Nums()
			for _, uid := range nums {
				if !received[uid] {
					outcomes = append(outcomes, outcome{uid: uid, problems: []record.Problem{{Where: r.where(uid),
						Message: fmt.Sprintf("the server did not return the message: %v", fetchErr)}}})
				}
			}
		}
	}

	// The chunk is read whole: claim its messages and move on.
	slices.SortStableFunc(outcomes, func(a, b outcome) int { return cmp.Compare(a.uid, b.uid) })
	p.mu.Lock()
	t := &r.batch.Tally
	for _, o := range outcomes {
		t.Read++
		if o.msg.ExternalID == "" {
			t.Refused++
			r.batch.Problems = append(r.batch.Problems, o.problems...)
			continue
		}
		merged, note := p.seen.claim(&o.msg)
		if merged {
			// The copy stored has the same content and warnings.
			t.Merged++
			continue
		}
		probs := o.problems
		if note != "" {
			probs = append(probs, record.Problem{Where: r.where(o.uid), Message: note, Warning: true})
		}
		t.Stored++
		if len(probs) > 0 {
			t.Warned++
		}
		r.batch.Messages = append(r.batch.Messages, o.msg)
		r.batch.Problems = append(r.batch.Problems, probs...)
	}
	p.mu.Unlock()
	r.state.UID = uint32(uids[len(uids)-1])
	return nil
}

// body reads one FETCH response's UID and message bytes into r.buf. A
// message over max_message_bytes (larger than RFC822.SIZE announced) is
// discarded and reported by tooBig.
func (p *imapPull) body(msg *imapclient.FetchMessageData, r *imapFolderRun, c *imapConn) (uid imap.UID, raw []byte, tooBig bool, err error) {
	for {
		item := msg.Next()
		if item == nil {
			return uid, raw, tooBig, nil
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			size := it.Literal.Size()
			if size > p.src.maxBytes {
				if _, err := io.Copy(io.Discard, &imapKickReader{r: it.Literal, kick: c.kick}); err != nil {
					return 0, nil, false, err
				}
				tooBig = true
				continue
			}
			if int64(cap(r.buf)) < size {
				r.buf = make([]byte, size)
			}
			r.buf = r.buf[:size]
			if _, err := io.ReadFull(&imapKickReader{r: it.Literal, kick: c.kick}, r.buf); err != nil {
				return 0, nil, false, err
			}
			raw = r.buf
		}
	}
}

// imapKickReader keeps the watchdog quiet while a large message streams in.
type imapKickReader struct {
	r    io.Reader
	kick func()
}

func (k *imapKickReader) Read(b []byte) (int, error) {
	n, err := k.r.Read(b)
	if n > 0 {
		k.kick()
	}
	return n, err
}

// parse turns one message into a record and its warnings. A message that
// cannot be parsed has an empty ExternalID and one problem, its refusal.
func (p *imapPull) parse(raw []byte, r *imapFolderRun, uid imap.UID, received time.Time) (record.Message, []record.Problem) {
	where := r.where(uid)
	var warnings []string
	m, err := ParseWith(raw, ParseOptions{Folder: r.task.name, Received: received, ReceivedFrom: record.SentAtFromDelivery,
		Warn: collectWarnings(&warnings)})
	if err != nil {
		return record.Message{}, []record.Problem{{Where: where, Message: err.Error()}}
	}
	m.Folder = r.task.recordAs(m.AuthorEmail)
	m.ContainerID = r.task.container
	return m, warningProblems(where, warnings)
}

// flush emits r's records with the cursor that covers them, and the
// folder's container with its first batch of the pull. Nothing is emitted
// when nothing changed.
func (p *imapPull) flush(ctx context.Context, r *imapFolderRun) error {
	if r.pending() == 0 && r.state == r.stored {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.emitErr != nil {
		return p.emitErr
	}
	b := r.batch
	b.Tally.Unit = tallyUnit
	if !p.shown[r.task.container] {
		p.shown[r.task.container] = true
		b.Containers = []record.Container{{ExternalID: r.task.container, Kind: record.ContainerMailbox, Name: r.task.name}}
	}
	folders := p.cur.Accounts[r.acc.name]
	if folders == nil {
		folders = map[string]imapFolderState{}
		p.cur.Accounts[r.acc.name] = folders
	}
	prev, had := folders[r.task.name]
	folders[r.task.name] = r.state
	cursor, err := json.Marshal(p.cur)
	if err != nil {
		return err
	}
	b.Cursor = string(cursor)
	if err := p.emit(ctx, &b); err != nil {
		// Not stored: the cursor must not claim it was, and nothing
		// after it may be stored either.
		if had {
			folders[r.task.name] = prev
		} else {
			delete(folders, r.task.name)
		}
		p.emitErr = err
		p.stop(err)
		return err
	}
	r.stored = r.state
	r.batch = record.Batch{}
	return nil
}
