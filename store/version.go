package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// DataVersion names the store's committed data as of now: two equal
// versions, read at two moments, mean that nothing was committed between
// them, by this process or any other. A cache of what was read from the
// store (the web UI's hour reports) is good while the version it was read
// under stands; "" says the store cannot tell (an in-memory SQLite
// database), and nothing is to be cached.
//
// SQLite says it with PRAGMA data_version, which changes when any other
// connection commits: it is read on a connection of its own that never
// writes, kept open (a new connection's numbers start afresh, so the
// version also names the connection). PostgreSQL says it with the current
// snapshot (xmin:xmax:in-progress ids): a commit anywhere in the server
// moves xmax or the in-progress list, and an equal snapshot sees the same
// rows. Either changes on any commit, the web UI's own session touches
// and audit lines included: conservative, never stale.
func (s *Store) DataVersion(ctx context.Context) (string, error) {
	if s.Dialect == Postgres {
		var v string
		err := s.db.GetContext(ctx, &v, `SELECT pg_current_snapshot()::text`)
		return v, err
	}
	if strings.Contains(s.path, ":memory:") {
		return "", nil
	}
	s.verMu.Lock()
	defer s.verMu.Unlock()
	if s.verConn == nil {
		db, err := sqlx.Open("sqlite", sqliteDSN(s.path)+"&_pragma=query_only(1)")
		if err != nil {
			return "", err
		}
		db.SetMaxOpenConns(1)
		conn, err := db.Conn(ctx)
		if err != nil {
			db.Close()
			return "", err
		}
		s.verDB, s.verConn = db, conn
		s.verGen++
	}
	var v int64
	if err := s.verConn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		s.closeVersion()
		return "", fmt.Errorf("reading the store's data version: %w", err)
	}
	return fmt.Sprintf("%d.%d", s.verGen, v), nil
}

// closeVersion drops DataVersion's connection; verMu is held.
func (s *Store) closeVersion() {
	if s.verConn != nil {
		s.verConn.Close()
		s.verDB.Close()
		s.verConn, s.verDB = nil, nil
	}
}
