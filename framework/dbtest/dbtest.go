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

	// pgx through database/sql, as the example opens PostgreSQL.
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
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
	admin, pgDSN = db, dsn
	return nil
}

// Current is the engine of the run in progress.
func Current() Engine { return current }

// Open returns a new, empty database on the current engine, closed and
// removed when t ends.
func Open(t testing.TB) *bun.DB {
	t.Helper()
	if current == Postgres {
		return openPostgres(t)
	}
	return openSQLite(t)
}

// openSQLite returns a new SQLite database in t's temporary directory,
// with foreign keys on, WAL and a busy timeout, as an app would open it.
func openSQLite(t testing.TB) *bun.DB {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	path := filepath.Join(t.TempDir(), "test.db")
	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatalf("dbtest: open sqlite: %v", err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openPostgres creates a schema of t's own and returns a database whose
// connections all search it first, so that tables of the same name in
// parallel tests never meet. The schema is dropped when t ends.
func openPostgres(t testing.TB) *bun.DB {
	schema := "t_" + strings.ToLower(rand.Text())
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("dbtest: create schema: %v", err)
	}
	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	// pgx sends parameters it does not know itself to the server as
	// run-time settings of every connection it opens.
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	sqldb, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatalf("dbtest: open postgres: %v", err)
	}
	// Parallel tests share one server; a pool per test keeps within its
	// connection limit.
	sqldb.SetMaxOpenConns(20)
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() {
		_ = db.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dbtest: drop schema: %v", err)
		}
	})
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
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND ? = ? ORDER BY name`
	if current == Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND ? = ? ORDER BY tablename`
	}
	return names(t, db, q, 1, 1)
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
