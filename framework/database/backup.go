package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// ErrBackupUnsupported is Backup's error on a database that is not SQLite:
// PostgreSQL is backed up with its own tools (pg_dump, or a base backup
// with WAL archiving for point-in-time recovery).
var ErrBackupUnsupported = errors.New("database: online backup is for SQLite; back PostgreSQL up with pg_dump or pg_basebackup")

// Backup writes a consistent copy of the SQLite database db to path, a
// new file, while db keeps serving reads and writes. It runs VACUUM INTO,
// which reads one snapshot of the database and writes it out compacted:
// every write committed before Backup began is in the copy, and no write
// is half in it.
func Backup(ctx context.Context, db *bun.DB, path string) error {
	if db.Dialect().Name() != dialect.SQLite {
		return ErrBackupUnsupported
	}
	// SQLite reads the target as a URI when it starts with "file:", and
	// ":memory:" as no file at all; an absolute path is always a file.
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("database: backup: %w", err)
	}
	if _, err := os.Stat(abs); err == nil {
		return fmt.Errorf("database: backup: %s exists; give a new file", path)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		return fmt.Errorf("database: backup to %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("database: backup: no file was written at %s: %w", path, err)
	}
	return nil
}

// BackupTo writes a consistent copy of the SQLite database db to w, as
// Backup does, through a temporary file in dir (os.TempDir() when empty),
// which it removes.
func BackupTo(ctx context.Context, db *bun.DB, w io.Writer, dir string) error {
	tmp, err := os.MkdirTemp(dir, "autoapi-backup-")
	if err != nil {
		return fmt.Errorf("database: backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "backup.db")
	if err := Backup(ctx, db, path); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("database: backup: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("database: backup: %w", err)
	}
	return nil
}

// Close closes db. On SQLite it first moves the write-ahead log into the
// database file and empties it (a TRUNCATE checkpoint), so that the file
// alone holds every committed write when the process has stopped, ready
// to copy. ctx bounds the checkpoint.
func Close(ctx context.Context, db *bun.DB) error {
	var cerr error
	if db.Dialect().Name() == dialect.SQLite {
		if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			cerr = fmt.Errorf("database: checkpoint: %w", err)
		}
	}
	return errors.Join(cerr, db.Close())
}
