package framework

import (
	"context"
	"io"

	"github.com/autoapi-go/autoapi/framework/database"
)

// Backup writes a consistent copy of the App's SQLite database to path, a
// new file, while the App keeps serving (see database.Backup). On
// PostgreSQL it returns database.ErrBackupUnsupported: use pg_dump.
func (a *App) Backup(ctx context.Context, path string) error {
	return database.Backup(ctx, a.cfg.DB, path)
}

// BackupTo writes the copy Backup makes to w, for example an HTTP
// response or an object store's upload, through a temporary file.
func (a *App) BackupTo(ctx context.Context, w io.Writer) error {
	return database.BackupTo(ctx, a.cfg.DB, w, "")
}
