package database_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/autoapi-go/autoapi/framework/database"
)

// TestSQLiteSettings opens SQLite files as an app would and reads back the
// settings every connection has: the server defaults, and a DSN's own
// pragma winning over its default.
func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, dsn string
		want      map[string]string
	}{
		{"defaults", "app.db", map[string]string{
			"journal_mode": "wal", "synchronous": "1", "busy_timeout": "10000", "foreign_keys": "1", "recursive_triggers": "1", "mmap_size": "268435456",
		}},
		{"a DSN's own pragma wins", "file:app.db?_pragma=synchronous(FULL)&_pragma=busy_timeout(250)", map[string]string{
			"journal_mode": "wal", "synchronous": "2", "busy_timeout": "250", "foreign_keys": "1",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := filepath.Join(dir, c.dsn)
			if c.dsn[:5] == "file:" {
				dsn = "file:" + filepath.Join(dir, c.dsn[5:])
			}
			db, err := database.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := db.Stats().MaxOpenConnections; got != database.SQLiteMaxConns {
				t.Errorf("pool of %d connections, want %d", got, database.SQLiteMaxConns)
			}
			for pragma, want := range c.want {
				var got string
				if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s = %s, want %s", pragma, got, want)
				}
			}
		})
	}
}

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db": true, "postgresql://u@h/db": true, "app.db": false, "file:app.db?mode=rwc": false,
	} {
		if got := database.IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v", dsn, got)
		}
	}
}
