package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun/driver/sqliteshim"
)

// TestSQLiteConnectionsInTroubleLeaveThePool: while the file cannot be
// written, writes fail with a storage fault; once it can, every following
// write succeeds, because no connection that opened read-only (or met a
// storage fault) stayed in the pool. Running as root, the suite cannot
// make a file unwritable with permissions, so the connector opens the
// first connections as SQLite does then: read-only (mode=ro, the very
// state SQLite falls back to; TestWritesResumeOnceWritable makes the file
// itself unwritable), or writable but refusing writes with
// the same SQLITE_READONLY (query_only), which only the pool discarding
// the connection cures.
func TestSQLiteConnectionsInTroubleLeaveThePool(t *testing.T) {
	for _, trouble := range []string{"mode=ro", "_pragma=query_only(1)"} {
		t.Run(trouble, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "app.db")
			setup, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := setup.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
				t.Fatal(err)
			}
			setup.Close()

			var broken atomic.Bool
			broken.Store(true)
			connector := &sqliteConnector{drv: sqliteshim.Driver()}
			connector.dsn = "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
			var opening atomic.Int32
			connector.open = func(dsn string) (driver.Conn, error) {
				opening.Add(1)
				defer opening.Add(-1)
				if broken.Load() {
					dsn += "&" + trouble
				}
				return connector.drv.Open(dsn)
			}
			pool := sql.OpenDB(connector)
			defer pool.Close()
			pool.SetMaxOpenConns(SQLiteMaxConns)
			pool.SetMaxIdleConns(SQLiteMaxConns)

			// A burst while the file is "not writable": every write fails
			// with a storage fault, and the pool fills with connections.
			var last error
			burst := func() (failed int, other error) {
				var (
					wg sync.WaitGroup
					mu sync.Mutex
				)
				for i := 0; i < 4*SQLiteMaxConns; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := pool.ExecContext(ctx, "INSERT INTO t (v) VALUES ('x')")
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
						case IsStorageFault(err):
							failed++
							last = err
						default:
							other = err
						}
					}()
				}
				wg.Wait()
				return failed, other
			}
			if failed, other := burst(); other != nil || failed != 4*SQLiteMaxConns {
				t.Fatalf("writes while broken: %d storage faults of %d, other error %v", failed, 4*SQLiteMaxConns, other)
			}
			// database/sql also opens connections in the background for
			// waiting requests; the file is fixed only once every
			// connection opened while it was not has been tried and
			// thrown away, as it would be in a server that kept serving.
			for i := 0; pool.Stats().OpenConnections > 0 || opening.Load() > 0; i++ {
				if i > 10000 {
					t.Fatalf("connections opened while broken stay in the pool: %+v", pool.Stats())
				}
				if _, err := pool.ExecContext(ctx, "INSERT INTO t (v) VALUES ('x')"); err == nil || !IsStorageFault(err) {
					t.Fatalf("write while broken: %v", err)
				}
			}
			broken.Store(false)
			last = nil
			for round := 0; round < 3; round++ {
				if failed, other := burst(); failed != 0 || other != nil {
					t.Fatalf("round %d after the fix: %d writes failed (other error %v; %v)", round, failed, other, last)
				}
			}
		})
	}
}

// TestIsStorageFault: the SQLite codes of a read-only database, full disk
// and I/O trouble, extended codes included, are storage faults; a
// constraint failure is not.
func TestIsStorageFault(t *testing.T) {
	for code, want := range map[int]bool{8: true, 8 | 5<<8: true, 10: true, 10 | 3<<8: true, 13: true, 14: true, 19: false, 2067: false, 5: false} {
		if got := IsStorageFault(codeErr(code)); got != want {
			t.Errorf("code %d: %v, want %v", code, got, want)
		}
	}
	if IsStorageFault(errors.New("x")) {
		t.Error("a plain error is a storage fault")
	}
}

type codeErr int

func (e codeErr) Error() string { return "sqlite error" }
func (e codeErr) Code() int     { return int(e) }

// TestMissingDirectory: a SQLite path in a directory that does not exist
// fails Open, naming the path and the directory.
func TestMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	path := filepath.Join(dir, "app.db")
	for _, dsn := range []string{path, "file:" + path + "?_pragma=synchronous(FULL)"} {
		_, err := Open(dsn)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "the directory "+dir+" does not exist") {
			t.Errorf("Open(%q): %v", dsn, err)
		}
	}
}
