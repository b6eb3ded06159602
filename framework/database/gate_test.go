package database

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// openGated opens a SQLite database as Open does, with the given busy
// timeout, and returns it with its writer gate.
func openGated(t *testing.T, busy string) (*bun.DB, *writerGate) {
	t.Helper()
	c, err := newSQLiteConnector("file:" + filepath.Join(t.TempDir(), "app.db") + "?_pragma=busy_timeout(" + busy + ")")
	if err != nil {
		t.Fatal(err)
	}
	db := sqlitePool(c)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(context.Background(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	return db, c.writers
}

// TestWriterGateQueuesTransactions: 32 goroutines each run 20
// read-modify-write transactions at once; every one commits, none meets
// "database is locked", the sum is exact, and the gate is free at the end
// whether transactions committed, rolled back or failed to begin.
func TestWriterGateQueuesTransactions(t *testing.T) {
	db, gate := openGated(t, "10000")
	if gate == nil {
		t.Fatal("a database opened with _txlock=immediate has no writer gate")
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "INSERT INTO t (id, v) VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					var v int
					if err := tx.QueryRowContext(ctx, "SELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, "UPDATE t SET v = ? WHERE id = 1", v+1); err != nil {
						return err
					}
					if (g+i)%5 == 0 {
						return errRollBack
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollBack) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var v int
	if err := db.QueryRowContext(ctx, "SELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if want := 32 * 20 * 4 / 5; v != want {
		t.Errorf("v = %d after the committed increments, want %d", v, want)
	}
	// A transaction whose context is already done never begins.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.BeginTx(done, nil); err == nil {
		t.Error("a transaction began with a cancelled context")
	}
	if n := len(gate.slot); n != 0 {
		t.Errorf("the gate is still held (%d) after every transaction ended", n)
	}
}

var errRollBack = errors.New("roll back")

// TestWriterGateWaitsNoLongerThanTheBusyTimeout: a write that waits the
// busy timeout at the gate fails there, busy (with SQLITE_BUSY's code,
// which the handlers answer 503), instead of going on to wait as long
// again in SQLite; one that waits past its context's deadline gives up;
// and once the holder commits, the next write begins.
func TestWriterGateWaitsNoLongerThanTheBusyTimeout(t *testing.T) {
	db, _ := openGated(t, "100")
	ctx := context.Background()
	first, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	var busy errGateBusy
	// A transaction begun while the same goroutine holds another.
	if _, err := db.BeginTx(ctx, nil); !errors.As(err, &busy) || busy.Code() != 5 {
		t.Fatalf("a second transaction while the first holds the gate: %v", err)
	}
	// A write outside a transaction queues too; a read does not.
	if _, err := db.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)"); !errors.As(err, &busy) {
		t.Fatalf("an INSERT while a transaction holds the gate: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("a read while a transaction holds the gate: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := db.BeginTx(short, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a transaction waiting at the gate past its context's deadline: %v", err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	second, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("after the first committed: %v", err)
	}
	_ = second.Rollback()
}

// TestWriterGateLeftOpen: a read-only transaction, which SQLite begins
// deferred and which never writes, does not hold the gate; a write with
// RETURNING outside a transaction holds it until its rows are closed, and
// no longer.
func TestWriterGateLeftOpen(t *testing.T) {
	db, gate := openGated(t, "100")
	ctx := context.Background()
	ro, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(gate.slot); n != 0 {
		t.Errorf("a read-only transaction holds the gate")
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)"); err != nil {
		t.Fatalf("a write while a read-only transaction is open: %v", err)
	}
	_ = ro.Rollback()
	rows, err := db.QueryContext(ctx, "INSERT INTO t (v) VALUES (2) RETURNING id")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(gate.slot); n != 1 {
		t.Errorf("an INSERT ... RETURNING with open rows does not hold the gate")
	}
	_ = rows.Close()
	if n := len(gate.slot); n != 0 {
		t.Errorf("the gate is still held after the rows closed")
	}
}

func TestWrites(t *testing.T) {
	for q, want := range map[string]bool{
		"INSERT INTO t VALUES (1)": true,
		"  update t SET v = 1":     true,
		"DELETE FROM t":            true,
		"WITH x AS (SELECT 1) INSERT INTO t (v) SELECT 1 FROM x": true,
		"-- a note\nREPLACE INTO t VALUES (1)":                   true,
		"/* a note */ CREATE TABLE u (id INTEGER)":               true,
		"SELECT 1":                    false,
		"(SELECT 1)":                  false,
		"PRAGMA busy_timeout":         false,
		"VACUUM INTO 'x.db'":          false,
		"EXPLAIN QUERY PLAN SELECT 1": false,
	} {
		if got := writes(q); got != want {
			t.Errorf("writes(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestBusyTimeout(t *testing.T) {
	for _, tc := range []struct {
		pragmas []string
		want    time.Duration
	}{
		{[]string{"foreign_keys(1)", "busy_timeout(10000)"}, 10 * time.Second},
		{[]string{"BUSY_TIMEOUT( 250 )"}, 250 * time.Millisecond},
		{[]string{"journal_mode(WAL)"}, 0},
		{[]string{"busy_timeout(x)"}, 0},
	} {
		if got := busyTimeout(tc.pragmas); got != tc.want {
			t.Errorf("busyTimeout(%q) = %v, want %v", tc.pragmas, got, tc.want)
		}
	}
}
