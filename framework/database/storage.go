package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Storage faults: the database cannot write, or cannot reach its files.
// They are not the request's fault and not the data's, and they pass once
// an operator fixes the disk or the mount, so the handlers answer them 503
// with Retry-After, and a SQLite connection that met one is discarded
// rather than kept in the pool in that state.

// SQLite primary result codes of storage faults (the low byte of an
// extended code such as SQLITE_IOERR_WRITE).
const (
	sqliteReadOnly  = 8
	sqliteIOErr     = 10
	sqliteCorrupt   = 11
	sqliteFull      = 13
	sqliteCantOpen  = 14
	sqliteNotADB    = 26
	sqlitePrimaryOf = 0xff
)

// sqliteCoder is the part of a SQLite driver error (modernc's) read here.
type sqliteCoder interface {
	error
	Code() int
}

// IsStorageFault reports whether err is the database failing for its
// storage rather than for the statement: on SQLite a read-only database
// (SQLITE_READONLY), a full disk (SQLITE_FULL), an I/O error
// (SQLITE_IOERR), a file that cannot be opened (SQLITE_CANTOPEN) or is not
// a database; on PostgreSQL disk_full, io_error, a read-only transaction
// (a standby, or default_transaction_read_only) and a server shutting
// down or not yet accepting connections.
func IsStorageFault(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "53100", // disk_full
			"58030",                   // io_error
			"25006",                   // read_only_sql_transaction
			"57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return false
	}
	var se sqliteCoder
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & sqlitePrimaryOf {
	case sqliteReadOnly, sqliteIOErr, sqliteCorrupt, sqliteFull, sqliteCantOpen, sqliteNotADB:
		return true
	}
	return false
}

// sqliteConnector opens SQLite connections for the pool. SQLite opens a
// file it may not write read-only without saying so, and such a
// connection would stay in the pool and fail every write after the file
// is writable again. Each connection is wrapped so that one that opened
// read-only, or met a storage fault, reports itself invalid and database/sql
// discards it instead of reusing it; until then it serves reads, so a
// read-only file still answers them.
type sqliteConnector struct {
	drv driver.Driver
	dsn string
	// open opens one connection; drv.Open unless a test says otherwise.
	open func(dsn string) (driver.Conn, error)
	// writers, when set, lets one write at a time through this pool (see
	// writerGate).
	writers *writerGate
}

// readOnlyReporter is modernc's conn.IsReadOnly: sqlite3_db_readonly.
type readOnlyReporter interface {
	IsReadOnly(schema string) (bool, error)
}

func (c *sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &sqliteConn{Conn: conn, writers: c.writers}, nil
}

func (c *sqliteConnector) Driver() driver.Driver { return c.drv }

// sqliteConn is a pooled SQLite connection that remembers a storage fault.
// database/sql asks IsValid before putting a connection back and
// ResetSession before reusing it; either then says "discard me". It
// forwards the context-aware methods database/sql uses; the values are in
// the SQL text bun writes, so no argument conversion is involved.
type sqliteConn struct {
	driver.Conn
	faulted bool
	writers *writerGate
	inTx    bool // a transaction is open on the connection
}

// note remembers err when it is a storage fault.
func (c *sqliteConn) note(err error) error {
	if err != nil && IsStorageFault(err) {
		c.faulted = true
	}
	return err
}

func (c *sqliteConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	held, err := c.enterFor(ctx, query)
	if err != nil {
		return nil, err
	}
	if held {
		defer c.writers.leave()
	}
	r, err := e.ExecContext(ctx, query, args)
	return r, c.note(err)
}

func (c *sqliteConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	held, err := c.enterFor(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := q.QueryContext(ctx, query, args)
	if err != nil {
		if held {
			c.writers.leave()
		}
		return nil, c.note(err)
	}
	if held {
		// A statement holds SQLite's write lock until it is reset, which
		// closing its rows does (INSERT ... RETURNING).
		return &gatedRows{Rows: r, gate: c.writers}, nil
	}
	return r, nil
}

// enterFor takes the writer gate for a statement run outside a
// transaction that writes (see writes); inside one, the transaction holds
// the gate already.
func (c *sqliteConn) enterFor(ctx context.Context, query string) (bool, error) {
	if c.writers == nil || c.inTx || !writes(query) {
		return false, nil
	}
	return c.writers.enter(ctx)
}

func (c *sqliteConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		s, err := p.PrepareContext(ctx, query)
		return s, c.note(err)
	}
	s, err := c.Conn.Prepare(query)
	return s, c.note(err)
}

func (c *sqliteConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, fmt.Errorf("database: the SQLite driver has no BeginTx")
	}
	// A read-only transaction begins deferred and never writes.
	held := false
	if !opts.ReadOnly {
		var err error
		if held, err = c.writers.enter(ctx); err != nil {
			return nil, err
		}
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		if held {
			c.writers.leave()
		}
		return nil, c.note(err)
	}
	c.inTx = true
	return &sqliteTx{Tx: tx, conn: c, held: held}, nil
}

func (c *sqliteConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return c.note(p.Ping(ctx))
	}
	return nil
}

// usable is false for a connection that met a storage fault or opened
// read-only.
func (c *sqliteConn) usable() bool {
	if c.faulted {
		return false
	}
	if r, ok := c.Conn.(readOnlyReporter); ok {
		if ro, err := r.IsReadOnly("main"); err == nil && ro {
			return false
		}
	}
	return true
}

func (c *sqliteConn) ResetSession(ctx context.Context) error {
	if !c.usable() {
		return driver.ErrBadConn
	}
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *sqliteConn) IsValid() bool {
	if !c.usable() {
		return false
	}
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// sqliteTx notes a storage fault at commit, where a WAL write can fail,
// and leaves the writer gate when it ends.
type sqliteTx struct {
	driver.Tx
	conn *sqliteConn
	held bool
}

func (t *sqliteTx) Commit() error {
	defer t.leave()
	return t.conn.note(t.Tx.Commit())
}

func (t *sqliteTx) Rollback() error {
	defer t.leave()
	return t.Tx.Rollback()
}

// leave ends the transaction on its connection and leaves the gate, once.
func (t *sqliteTx) leave() {
	t.conn.inTx = false
	if t.held {
		t.held = false
		t.conn.writers.leave()
	}
}
