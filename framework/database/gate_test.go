package database

import (
	"context"
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

// TestWriterGateWaitsNoLongerThanTheBusyTimeout: a transaction begun while
// the same goroutine holds another, which the gate alone would keep
// waiting forever, fails after the busy timeout as it would without the
// gate; and one that waits at the gate gives up when its context ends.
func TestWriterGateWaitsNoLongerThanTheBusyTimeout(t *testing.T) {
	db, _ := openGated(t, "100")
	ctx := context.Background()
	first, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if _, err := db.BeginTx(ctx, nil); err == nil {
		t.Fatal("a second transaction began while the first held the write lock")
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
