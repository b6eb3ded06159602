package database

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// writerGate queues a pool's writes in the process: its transactions,
// which all write (they take SQLite's write lock at BEGIN) unless they
// are read-only, and its writing statements run outside a transaction. A
// write waits here for the one before it to end, and starts as soon as it
// has, in the order they came. Without it, they would all ask SQLite at
// once, and those that found the database locked would sleep in SQLite's
// busy handler, for 1 ms, then 2, 5, 10 and up to 100 ms at a time,
// whether or not the lock came free meanwhile: under 32 concurrent
// writers the slowest 1% of writes took 5 to 8 times as long as with it
// (see docs/benchmarks.md). Writers in other processes, or through
// another pool on the same file, still meet busy_timeout. Statements
// prepared with database/sql's Prepare are not queued: bun never
// prepares.
type writerGate struct {
	slot chan struct{}
	// wait is SQLite's busy timeout: a write that waits this long at the
	// gate fails as SQLite would have failed it, busy (a transaction begun
	// while the same goroutine holds another would otherwise wait here
	// forever).
	wait time.Duration
}

// newWriterGate returns a gate whose waits last at most wait.
func newWriterGate(wait time.Duration) *writerGate {
	return &writerGate{slot: make(chan struct{}, 1), wait: wait}
}

// errGateBusy is the answer to a write that waited the busy timeout at
// the gate. It has SQLite's SQLITE_BUSY code, so that whoever tells a busy
// database from other failures (the handlers answer 503) tells this one
// too.
type errGateBusy struct{ wait time.Duration }

func (e errGateBusy) Error() string {
	return fmt.Sprintf("database is locked: waited %v for the other writes of this process (SQLITE_BUSY)", e.wait)
}

// Code is SQLITE_BUSY.
func (errGateBusy) Code() int { return 5 }

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
		return false, errGateBusy{g.wait}
	}
}

func (g *writerGate) leave() { <-g.slot }

// gatedRows leaves the gate when the rows of a writing statement close.
type gatedRows struct {
	driver.Rows
	gate *writerGate
	done bool
}

func (r *gatedRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		r.gate.leave()
	}
	return err
}

// writes reports whether a statement run outside a transaction may write:
// its first keyword is one that changes the database (INSERT, UPDATE,
// DELETE, REPLACE, a CTE, DDL), so that only reads (SELECT, PRAGMA,
// EXPLAIN, VACUUM INTO) run past the gate. A CTE counts as a write: it may
// end in one, and a read that waits its turn is only slower.
func writes(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	for strings.HasPrefix(q, "--") || strings.HasPrefix(q, "/*") {
		end := "\n"
		if strings.HasPrefix(q, "/*") {
			end = "*/"
		}
		i := strings.Index(q, end)
		if i < 0 {
			return false
		}
		q = strings.TrimLeft(q[i+len(end):], " \t\r\n(")
	}
	word := q
	if i := strings.IndexAny(q, " \t\r\n("); i >= 0 {
		word = q[:i]
	}
	switch strings.ToUpper(word) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "CREATE", "DROP", "ALTER":
		return true
	}
	return false
}
