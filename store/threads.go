package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// StoredFingerprint is the content fingerprint of an email stored under
// one external id.
type StoredFingerprint struct {
	ExternalID  string `db:"external_id"`
	Fingerprint string `db:"fingerprint"`
}

// MessageFingerprints looks up the stored emails of a source by external
// id, live or deleted (a message deleted and read again keeps its id).
func (s *Store) MessageFingerprints(ctx context.Context, sourceID string, ids []string) ([]StoredFingerprint, error) {
	var out []StoredFingerprint
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		q, args, err := sqlx.In(`SELECT external_id, fingerprint
			FROM messages WHERE source_id = ? AND channel = 'email' AND external_id IN (?)`, sourceID, part)
		if err != nil {
			return nil, err
		}
		var rows []StoredFingerprint
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("reading stored fingerprints of %s: %w", sourceID, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// ThreadRow is what threading reads of a stored email.
type ThreadRow struct {
	ExternalID string    `db:"external_id"`
	SentAt     time.Time `db:"sent_at"`
	Subject    string    `db:"subject"`
	ClientID   string    `db:"client_id"`
	ThreadKey  string    `db:"thread_key"`
	// Parents is the stored JSON list of the ids it names as parents.
	Parents string `db:"parents"`
}

// EmailThreading lists the live emails of a source for threading, oldest
// first.
func (s *Store) EmailThreading(ctx context.Context, sourceID string) ([]ThreadRow, error) {
	var out []ThreadRow
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT external_id, sent_at, subject, client_id, thread_key,
		CAST(parents AS TEXT) AS parents
		FROM messages WHERE source_id = ? AND channel = 'email' AND deleted_at IS NULL
		ORDER BY sent_at, external_id`), sourceID)
	if err != nil {
		return nil, fmt.Errorf("reading the emails of %s for threading: %w", sourceID, err)
	}
	return out, nil
}

// Threaded reports whether a source's emails were ever threaded
// (SetThreadKeys).
func (s *Store) Threaded(ctx context.Context, sourceID string) (bool, error) {
	var at []sql.NullTime
	if err := s.db.SelectContext(ctx, &at, s.db.Rebind(`SELECT threaded_at FROM sources WHERE id = ?`), sourceID); err != nil {
		return false, fmt.Errorf("reading when %s was threaded: %w", sourceID, err)
	}
	return len(at) > 0 && at[0].Valid, nil
}

// ThreadUpdate sets one stored email's thread key.
type ThreadUpdate struct {
	ExternalID string
	ThreadKey  string
}

// SetThreadKeys writes what threading decided for a source's emails, and
// when, in one transaction. The row hashes stay: the thread key is not
// part of a row's content (MessageRow.ThreadKey).
func (s *Store) SetThreadKeys(ctx context.Context, sourceID string, updates []ThreadUpdate, dryRun bool) error {
	return s.inTx(ctx, dryRun, func(tx *sqlx.Tx) error {
		for _, u := range updates {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE messages SET thread_key = ? WHERE source_id = ? AND external_id = ?`),
				u.ThreadKey, sourceID, u.ExternalID); err != nil {
				return fmt.Errorf("threading %s/%s: %w", sourceID, u.ExternalID, err)
			}
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE sources SET threaded_at = ? WHERE id = ?`), s.Now(), sourceID)
		return err
	})
}
