// Package dbtest opens the databases of a test suite that must pass on
// every engine autoapi supports: SQLite always, and PostgreSQL when the
// AUTOAPI_TEST_POSTGRES environment variable holds a DSN.
//
// A package opts in from its TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// and its tests open each database with Open, which gives every test a
// database of its own (a SQLite file, or a PostgreSQL schema), so tests can
// run in parallel.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework/database"
)

// EnvPostgres names the environment variable holding the DSN of the
// PostgreSQL server to run the suite against.
const EnvPostgres = "AUTOAPI_TEST_POSTGRES"

// Engine is the database engine a run of the suite uses.
type Engine string

// The engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// The suite runs once per engine, one after the other, so the engine of
// the current run is the state of the test binary, as testing's own flags
// are.
var (
	current = SQLite
	admin   *sql.DB // the PostgreSQL server, for creating and dropping schemas
	pgDSN   string
)

// Main runs the package's tests on SQLite, then again on PostgreSQL when
// EnvPostgres is set, and exits. Without the variable it says once how to
// enable the PostgreSQL run; with it set but the server unreachable, the
// run fails rather than skipping, so that a broken CI set-up shows.
func Main(m *testing.M) {
	code := m.Run()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		fmt.Fprintf(os.Stderr, "dbtest: PostgreSQL run skipped; set %s=postgres://user@127.0.0.1:5432/db?sslmode=disable to run the suite on PostgreSQL too\n", EnvPostgres)
		os.Exit(code)
	}
	if err := connect(dsn); err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %s is set but the server is unreachable: %v\n", EnvPostgres, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "dbtest: the suite again, on PostgreSQL\n")
	current = Postgres
	if pg := m.Run(); pg != 0 {
		code = pg
	}
	_ = admin.Close()
	os.Exit(code)
}

func connect(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return err
	}
	// An extension belongs to the database, not to a test's schema:
	// created here, in the default schema, every test's Migrate finds it,
	// and dropping one test's schema never drops it under another test.
	// Where it cannot be created, Migrate says so and goes on.
	_, _ = db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
	admin, pgDSN = db, dsn
	return nil
}

// Current is the engine of the run in progress.
func Current() Engine { return current }

// Open returns a new, empty database on the current engine, closed and
// removed when t ends.
func Open(t testing.TB) *bun.DB {
	t.Helper()
	return open(t, newDSN(t))
}

// OpenPair returns two connection pools on one new, empty database, as two
// app instances (or processes) sharing a database would hold them.
func OpenPair(t testing.TB) (*bun.DB, *bun.DB) {
	t.Helper()
	dsn := newDSN(t)
	return open(t, dsn), open(t, dsn)
}

// newDSN creates a new database on the current engine and returns its
// DSN: a SQLite file in t's temporary directory, or a PostgreSQL schema
// of t's own, dropped when t ends, that every connection searches first
// (pgx sends parameters it does not know itself to the server as run-time
// settings), so that tables of the same name in parallel tests never meet.
func newDSN(t testing.TB) string {
	t.Helper()
	if current != Postgres {
		return filepath.Join(t.TempDir(), "test.db")
	}
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("dbtest: create schema: %v", err)
	}
	// Registered before open's cleanups, so it runs after them, once
	// every pool on the schema is closed.
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dbtest: drop schema: %v", err)
		}
	})
	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// open opens dsn as an app would, closing it when t ends.
func open(t testing.TB, dsn string) *bun.DB {
	t.Helper()
	db, err := database.Open(dsn)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if current == Postgres {
		// Parallel tests share one server; a small pool per test keeps
		// within its connection limit.
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(4)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// SyncSequences moves every PostgreSQL sequence behind a serial column of
// db's schema past the largest value in its column. Fixtures that insert
// rows with explicit keys call it before the app creates rows of its own:
// SQLite's autoincrement follows explicit keys, PostgreSQL's sequences do
// not. On SQLite it does nothing.
func SyncSequences(t testing.TB, db *bun.DB) {
	t.Helper()
	if current != Postgres {
		return
	}
	// Through database/sql, so that query hooks counting the app's queries
	// do not see it.
	_, err := db.DB.ExecContext(context.Background(), `DO $$
DECLARE r record;
BEGIN
	FOR r IN
		SELECT table_name AS tab, column_name AS col,
			pg_get_serial_sequence(quote_ident(table_name), column_name) AS seq
		FROM information_schema.columns
		WHERE table_schema = current_schema()
	LOOP
		IF r.seq IS NOT NULL THEN
			EXECUTE format('SELECT setval(%L, COALESCE((SELECT max(%I) FROM %I), 0) + 1, false)', r.seq, r.col, r.tab);
		END IF;
	END LOOP;
END $$`)
	if err != nil {
		t.Fatalf("dbtest: sync sequences: %v", err)
	}
}

// Columns lists the columns of table in db, in table order.
func Columns(t testing.TB, db *bun.DB, table string) []string {
	t.Helper()
	q := `SELECT name FROM pragma_table_info(?)`
	if current == Postgres {
		q = `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`
	}
	return names(t, db, q, table)
}

// Indexes lists the names of the indexes on table in db.
func Indexes(t testing.TB, db *bun.DB, table string) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`
	if current == Postgres {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ? ORDER BY indexname`
	}
	return names(t, db, q, table)
}

// Tables lists the names of the tables in db.
func Tables(t testing.TB, db *bun.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if current == Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	return names(t, db, q)
}

func names(t testing.TB, db *bun.DB, query string, args ...any) []string {
	t.Helper()
	var out []string
	if err := db.NewRaw(query, args...).Scan(context.Background(), &out); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return out
}

// Plan is the query plan the current engine chooses for a statement, one
// line per step: SQLite's EXPLAIN QUERY PLAN details, or PostgreSQL's
// EXPLAIN text.
type Plan string

// Explain returns the plan for query. On PostgreSQL sequential scans are
// switched off for it: the tables of a test hold a handful of rows, which
// the planner rightly scans; with scans off it shows whether an index can
// serve the query at all, which is what a plan test asks.
func Explain(t testing.TB, db *bun.DB, query string) Plan {
	t.Helper()
	ctx := context.Background()
	if current == Postgres {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		var lines []string
		if err := tx.NewRaw("EXPLAIN "+query).Scan(ctx, &lines); err != nil {
			t.Fatalf("dbtest: explain: %v", err)
		}
		return Plan(strings.Join(lines, "\n"))
	}
	var steps []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := db.NewRaw("EXPLAIN QUERY PLAN "+query).Scan(ctx, &steps); err != nil {
		t.Fatalf("dbtest: explain: %v", err)
	}
	lines := make([]string, len(steps))
	for i, s := range steps {
		lines[i] = s.Detail
	}
	return Plan(strings.Join(lines, "\n"))
}

// UsesIndex reports whether the plan searches the named index (or, for
// "", the table's primary key) rather than scanning the table.
func (p Plan) UsesIndex(name string) bool {
	s := string(p)
	if name == "" {
		return strings.Contains(s, "USING INTEGER PRIMARY KEY") || strings.Contains(s, "USING PRIMARY KEY") ||
			strings.Contains(s, "_pkey")
	}
	for _, form := range []string{
		"USING INDEX " + name + " ", "USING COVERING INDEX " + name + " ", // SQLite
		"using " + name + " on ", "Bitmap Index Scan on " + name + " ", // PostgreSQL
	} {
		if strings.Contains(s+" ", form) {
			return true
		}
	}
	return false
}

// Scans reports whether the plan reads a whole table.
func (p Plan) Scans() bool {
	s := string(p)
	for _, line := range strings.Split(s, "\n") {
		if (strings.HasPrefix(strings.TrimSpace(line), "SCAN ") && !strings.Contains(line, " USING ")) ||
			strings.Contains(line, "Seq Scan") {
			return true
		}
	}
	return false
}

// Sorts reports whether the plan sorts rows itself rather than reading
// them in order from an index.
func (p Plan) Sorts() bool {
	s := string(p)
	return strings.Contains(s, "TEMP B-TREE") || strings.Contains(s, "Sort  (") || strings.Contains(s, "Sort Key")
}
