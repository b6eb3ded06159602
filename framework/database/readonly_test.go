package database_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework/database"
)

// TestWritesResumeOnceWritable opens a SQLite file while it cannot be
// written, which makes SQLite open every connection of the pool read-only,
// then makes it writable again: from then on every write succeeds, in
// bursts as wide as the pool, because no read-only connection is reused.
func TestWritesResumeOnceWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root writes a file whatever its mode, so the test runs where
		// file permissions hold: in a copy of itself as an ordinary user.
		runUnprivileged(t)
		return
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "app.db")
	setup, err := database.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.ExecContext(ctx, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := setup.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every connection of the pool opens now, while the file is
	// read-only: reads work on them, writes fail.
	burst(t, database.SQLiteMaxConns, func() error {
		var n int
		return db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&n)
	})
	_, err = db.ExecContext(ctx, `INSERT INTO notes (body) VALUES ('while read-only')`)
	var se interface{ Code() int }
	if !errors.As(err, &se) || se.Code()&0xff != 8 {
		t.Fatalf("a write to the read-only file: %v, want SQLITE_READONLY", err)
	}

	// As an operator would: SQLite created the -shm file (and may have
	// created the -wal file) with the mode of the database file, so those
	// are unwritable now too.
	files, err := filepath.Glob(path + "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 4
	for range rounds {
		burst(t, database.SQLiteMaxConns, func() error {
			_, err := db.ExecContext(ctx, `INSERT INTO notes (body) VALUES ('writable again')`)
			return err
		})
		// Writes inside transactions, and with RETURNING, as the
		// handlers make them.
		burst(t, database.SQLiteMaxConns, func() error {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				var id int64
				return tx.QueryRowContext(ctx, `INSERT INTO notes (body) VALUES ('in a transaction') RETURNING id`).Scan(&id)
			})
		})
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := 2 * rounds * database.SQLiteMaxConns; n != want {
		t.Errorf("%d rows, want %d", n, want)
	}
}

// burst runs f n times at once and fails the test for every error, so that
// each call takes a connection of its own from the pool.
func burst(t *testing.T, n int, f func() error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range n {
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d calls failed, the first: %v", len(errs), n, errs[0])
	}
}

// runUnprivileged runs the calling test again in a child process as the
// user nobody, from a copy of the test binary that user can execute, and
// fails when the child does.
func runUnprivileged(t *testing.T) {
	t.Helper()
	// Not t.TempDir, whose parent only its owner may enter. The child
	// makes its own temporary files here.
	dir, err := os.MkdirTemp("", "unprivileged")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "database.test")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+dir, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s as the user nobody: %v\n%s", t.Name(), err, out)
	}
	t.Logf("ran as the user nobody:\n%s", out)
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
