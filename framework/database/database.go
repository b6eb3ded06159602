// Package database opens the bun database an autoapi app runs on, from one
// DSN: a SQLite file, embedded, for a single machine, or a PostgreSQL
// server, for several app instances sharing one database.
package database

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	// pgx through database/sql is the PostgreSQL driver: bun's own pgdriver
	// has no release for bun v1.3, and pgx is the maintained driver of the
	// Go ecosystem. Its errors carry the SQLSTATE, table and column that
	// the handlers classify.
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/autoapi-go/autoapi/internal/counts"
)

// sqlitePragmas are the settings Open gives every SQLite connection unless
// the DSN sets the same pragma itself:
//
//   - foreign_keys: SQLite enforces foreign keys only when asked;
//   - journal_mode WAL: readers run alongside the writer and do not block
//     it;
//   - synchronous NORMAL: with WAL, commits no longer wait for the disk;
//     a crash of the process loses nothing, a power loss may lose the
//     last commits, and neither can corrupt the database;
//   - busy_timeout: a writer that finds the database locked waits up to
//     10 seconds instead of failing at once (behind another write of the
//     same pool, it waits at the pool's writer gate instead, as long);
//   - mmap_size 256 MiB: connections read the file through a shared
//     memory map instead of each copying pages into its own small cache
//     with a system call per page. A query that scans a large table (a
//     count of a filter over a million rows) then costs, at 8 at once on
//     2 cores, about the 4x of sharing the CPU rather than 11x; it uses
//     address space, not memory, as the pages are the operating system's
//     file cache;
//   - counts.SQLitePragma: the setting the counts table's triggers need,
//     which that package owns and documents.
var sqlitePragmas = []string{
	"foreign_keys(1)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"busy_timeout(10000)",
	"mmap_size(268435456)",
	counts.SQLitePragma,
}

// SQLiteMaxConns is the size of the connection pool Open gives a SQLite
// database: readers beyond it wait for a connection. Change it with
// db.SetMaxOpenConns and db.SetMaxIdleConns.
const SQLiteMaxConns = 16

// IsPostgres reports whether dsn names a PostgreSQL server
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database dsn names: a PostgreSQL server for a
// postgres:// or postgresql:// URL, otherwise a SQLite file (a path, or a
// file: URI whose _pragma parameters override sqlitePragmas, and whose
// _txlock overrides "immediate"), created if missing. With _txlock
// immediate or exclusive, the pool's writes (its transactions that are not
// read-only, which then all write, and its writing statements outside a
// transaction) run one at a time through the pool's writer gate. It does
// not connect: the first query does, or db.PingContext.
func Open(dsn string) (*bun.DB, error) {
	if IsPostgres(dsn) {
		return openPostgres(dsn)
	}
	return openSQLite(dsn)
}

func openPostgres(dsn string) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	// bun writes every value into the SQL text itself, so each statement
	// is new to the server: pgx's default, preparing and caching each
	// one, would cost a round trip more per query and break behind a
	// pooler in transaction mode. The simple protocol sends each in one
	// message. A DSN that sets default_query_exec_mode keeps its own.
	if !strings.Contains(dsn, "default_query_exec_mode") {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	sqldb := stdlib.OpenDB(*cfg)
	// database/sql keeps only two idle connections by default, so a busy
	// server would open and close connections all the time.
	sqldb.SetMaxOpenConns(32)
	sqldb.SetMaxIdleConns(32)
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

func openSQLite(dsn string) (*bun.DB, error) {
	c, err := newSQLiteConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sqlitePool(c), nil
}

// newSQLiteConnector returns the connector of the database dsn names, with
// the framework's pragmas and transaction mode where dsn sets none.
func newSQLiteConnector(dsn string) (*sqliteConnector, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("database: SQLite DSN %q: %w", dsn, err)
	}
	set := map[string]bool{}
	for _, p := range q["_pragma"] {
		name, _, _ := strings.Cut(p, "(")
		set[strings.ToLower(strings.TrimSpace(name))] = true
	}
	for _, p := range sqlitePragmas {
		if name, _, _ := strings.Cut(p, "("); !set[name] {
			q.Add("_pragma", p)
		}
	}
	if !q.Has("_txlock") {
		// Every transaction the framework opens writes. Taking the write
		// lock at BEGIN makes it wait its turn under busy_timeout; a
		// deferred one that read first could not upgrade its lock after
		// another writer committed, and would fail at once.
		q.Set("_txlock", "immediate")
	}
	if err := checkSQLiteDir(path, q); err != nil {
		return nil, err
	}
	drv := sqliteshim.Driver()
	connector := &sqliteConnector{drv: drv, dsn: "file:" + path + "?" + q.Encode(), open: drv.Open}
	if lock := strings.ToLower(q.Get("_txlock")); lock == "immediate" || lock == "exclusive" {
		connector.writers = newWriterGate(busyTimeout(q["_pragma"]))
	}
	return connector, nil
}

// sqlitePool returns the pool of c's connections.
func sqlitePool(c *sqliteConnector) *bun.DB {
	sqldb := sql.OpenDB(c)
	// WAL lets every connection read while one writes; keeping them open
	// spares a busy server from opening a connection (and running the
	// pragmas) per request, which database/sql's default of two idle
	// connections would not.
	sqldb.SetMaxOpenConns(SQLiteMaxConns)
	sqldb.SetMaxIdleConns(SQLiteMaxConns)
	return bun.NewDB(sqldb, sqlitedialect.New())
}

// busyTimeout is the busy_timeout among SQLite pragmas, or 0.
func busyTimeout(pragmas []string) time.Duration {
	for _, p := range pragmas {
		name, arg, _ := strings.Cut(p, "(")
		if strings.EqualFold(strings.TrimSpace(name), "busy_timeout") {
			if ms, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(arg, ")"))); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	return 0
}

// checkSQLiteDir refuses a database path whose directory does not exist,
// which SQLite would report as "unable to open database file: out of
// memory (14)" at the first query.
func checkSQLiteDir(path string, q url.Values) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, ":memory:") || q.Get("mode") == "memory" {
		return nil
	}
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database: SQLite file %s: the directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("database: SQLite file %s: %w", path, err)
	case !info.IsDir():
		return fmt.Errorf("database: SQLite file %s: %s is not a directory", path, dir)
	}
	return nil
}
