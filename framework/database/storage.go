package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

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
	// writers, when set, lets one transaction at a time begin through
	// this pool (see writerGate).
	writers *writerGate
}

// writerGate queues the pool's transactions, which all write (they take
// SQLite's write lock at BEGIN), in the process: a transaction waits here
// for the one before it to end, and starts as soon as it has, in the order
// they came. Without it, they would all run BEGIN IMMEDIATE at once, and
// those that found the database locked would sleep in SQLite's busy
// handler, for 1 ms, then 2, 5, 10 and up to 100 ms at a time, whether or
// not the lock came free meanwhile: under 32 concurrent writers the
// slowest 1% of writes took 5 times as long as with the gate (see
// docs/benchmarks.md). Writers in other processes, or through another
// pool on the same file, still meet busy_timeout.
type writerGate struct {
	slot chan struct{}
	// wait bounds the wait at the gate to SQLite's own busy timeout, so
	// that a transaction begun while the same goroutine holds another
	// (which would wait here forever) still fails as it would without it.
	wait time.Duration
}

// newWriterGate returns a gate whose waits last at most wait.
func newWriterGate(wait time.Duration) *writerGate {
	return &writerGate{slot: make(chan struct{}, 1), wait: wait}
}

// enter waits for the gate, until ctx ends or the wait passes; it reports
// whether the caller holds the gate, and must then leave it. A nil gate
// is always open.
func (g *writerGate) enter(ctx context.Context) (bool, error) {
	if g == nil {
		return false, nil
	}
	select {
	case g.slot <- struct{}{}:
		return true, nil
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slot <- struct{}{}:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, nil
	}
}

func (g *writerGate) leave() { <-g.slot }

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
	r, err := e.ExecContext(ctx, query, args)
	return r, c.note(err)
}

func (c *sqliteConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := q.QueryContext(ctx, query, args)
	return r, c.note(err)
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
	held, err := c.writers.enter(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		if held {
			c.writers.leave()
		}
		return nil, c.note(err)
	}
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

// leave leaves the gate once: database/sql may call Rollback after a
// failed Commit.
func (t *sqliteTx) leave() {
	if t.held {
		t.held = false
		t.conn.writers.leave()
	}
}
