package framework_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autoapi-go/autoapi/framework/database"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestBackupUnderLoad backs the database up while writers keep creating
// rows through the API: the copy passes integrity_check and holds every
// create acknowledged before the backup began, and the writers are served
// throughout.
func TestBackupUnderLoad(t *testing.T) {
	app, e := opsApp(t, nil)
	ctx := context.Background()
	if dbtest.Current() != dbtest.SQLite {
		if err := app.Backup(ctx, filepath.Join(t.TempDir(), "x.db")); !errors.Is(err, database.ErrBackupUnsupported) {
			t.Errorf("Backup on PostgreSQL: %v", err)
		}
		return
	}
	type ack struct {
		id string
		at time.Time
	}
	var (
		mu    sync.Mutex
		acked []ack // each acknowledged create: its key and when
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rec := call{method: "POST", url: "/api/widgets", token: userToken, body: `{"name":"w","qty":1}`}.do(t, e)
				if rec.Code != 201 {
					t.Errorf("a create during the backup: %d %s", rec.Code, rec.Body)
					return
				}
				id := strings.TrimPrefix(rec.Header().Get("Location"), "/api/widgets/")
				mu.Lock()
				acked = append(acked, ack{id, time.Now()})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "backup.db")
	mu.Lock()
	var before []string // acknowledged before the backup began
	for _, a := range acked {
		before = append(before, a.id)
	}
	mu.Unlock()
	start := time.Now()
	err := app.Backup(ctx, path)
	end := time.Now()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	during, after := 0, 0
	for _, a := range acked {
		if a.at.After(start) {
			after++
			if a.at.Before(end) {
				during++
			}
		}
	}
	mu.Unlock()
	t.Logf("%d creates before the backup, %d while it ran (%v), %d after it began", len(before), during, end.Sub(start), after)
	if len(before) == 0 {
		t.Fatal("no create was acknowledged before the backup")
	}
	if after == 0 {
		t.Error("no create was served once the backup had begun")
	}

	db, err := database.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the copy: %q %v", check, err)
	}
	// Every create acknowledged before the backup began is in the copy.
	var missing []string
	for _, id := range before {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM widgets WHERE id = ?", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of the %d creates acknowledged before the backup are not in the copy: %v", len(missing), len(before), missing)
	}

	// Names SQLite would read as a URI or an in-memory database are files
	// like any other.
	t.Chdir(t.TempDir())
	for _, name := range []string{":memory:", "file:copy?mode=memory"} {
		if err := app.Backup(ctx, name); err != nil {
			t.Errorf("Backup to %q: %v", name, err)
		} else if _, err := os.Stat(name); err != nil {
			t.Errorf("Backup to %q wrote no such file: %v", name, err)
		}
	}
	// A file that exists is not overwritten; BackupTo streams the copy.
	if err := app.Backup(ctx, path); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a backup onto an existing file: %v", err)
	}
	var buf bytes.Buffer
	if err := app.BackupTo(ctx, &buf); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("SQLite format 3\x00")) {
		t.Errorf("BackupTo: %v, %d bytes", err, buf.Len())
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestCloseCheckpoints: database.Close leaves every committed write in
// the database file, with an empty write-ahead log.
func TestCloseCheckpoints(t *testing.T) {
	if dbtest.Current() != dbtest.SQLite {
		t.Skip("a SQLite file's checkpoint")
	}
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := database.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	if err := database.Close(ctx, db); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("the WAL holds %d bytes after Close", fi.Size())
	}
}
