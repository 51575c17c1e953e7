package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/jmoiron/sqlx"
	libpq "github.com/lib/pq"
)

// TraceQueries reopens a PostgreSQL store's pool through a driver that
// tells observe every query before it runs (TestReadsUseIndexes).
func TraceQueries(s *Store, observe func(query string, args []driver.NamedValue)) error {
	if s.Dialect != Postgres {
		return fmt.Errorf("TraceQueries: a %s store", s.Dialect)
	}
	c, err := libpq.NewConnector(s.url)
	if err != nil {
		return err
	}
	s.db.Close()
	s.db = sqlx.NewDb(sql.OpenDB(tracer{c, observe}), "postgres")
	s.db.SetMaxOpenConns(8)
	return nil
}

type tracer struct {
	*libpq.Connector
	observe func(string, []driver.NamedValue)
}

func (t tracer) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := t.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return tracedConn{c, t.observe}, nil
}

// tracedConn is lib/pq's connection with its queries told; what
// database/sql asks of a connection passes through.
type tracedConn struct {
	driver.Conn
	observe func(string, []driver.NamedValue)
}

func (c tracedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.observe(q, args)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c tracedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c tracedConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.observe(q, nil)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c tracedConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}

func (c tracedConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c tracedConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c tracedConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}
