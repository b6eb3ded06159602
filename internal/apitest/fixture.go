package apitest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/database"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Fixture is an app and the rows it starts with. Its database is built
// once per engine and run, migrated and seeded, as a template that every
// test copies (PocketBase's test app does the same with a data
// directory): migrating and seeding cost more than most requests, and a
// suite builds hundreds of apps of a few fixtures.
//
// A fixture describes its app by Config and Register, which App uses, and
// its rows by Seed; the template is an app of them migrated and seeded.
// A suite that builds its apps itself sets Prepare instead, and takes
// copies of the template from DB.
type Fixture struct {
	// Name names the template in failure messages.
	Name string
	// Config returns the Config of an app of the fixture on db.
	Config func(db *bun.DB) framework.Config
	// Register registers the fixture's models on app, and any model bun
	// alone must know (a many-to-many junction) on db.
	Register func(app *framework.App, db *bun.DB) error
	// Seed runs after Migrate: it creates what Migrate does not and
	// inserts the rows.
	Seed func(t testing.TB, db *bun.DB)
	// Prepare, when set, migrates and seeds the new, empty database of
	// the template in place of Config, Register and Seed.
	Prepare func(t testing.TB, db *bun.DB)
}

// templates holds the built template of each fixture, per engine, for the
// whole run.
var templates sync.Map // templateKey -> *template

type templateKey struct {
	f      *Fixture
	engine dbtest.Engine
}

// template is a fixture's database once migrated and seeded: on SQLite
// the bytes of the file; on PostgreSQL the statements that built it.
//
// PostgreSQL has no cheap copy of a schema. CREATE DATABASE ... TEMPLATE
// copies a whole database (a checkpoint or every page through the WAL,
// some tens of milliseconds even when small) and refuses while anyone is
// connected to the template; cloning a schema with CREATE TABLE ... LIKE
// loses foreign keys and triggers and shares sequences; truncating and
// reseeding one schema would serialise the parallel tests. Replaying the
// recorded statements of one migration into the test's new schema, in one
// round trip, leaves the same tables, indexes, triggers and rows without
// the migration's catalog probes and its many round trips.
type template struct {
	once   sync.Once
	ok     bool
	file   []byte
	stmts  string
	schema string // the template's schema, which stmts may name
}

// App returns an app of f on a copy of f's template database, its models
// registered and its routes not mounted yet, so the caller may still add
// overrides. configure, if not nil, adjusts the Config; it must not change
// what Migrate would create (Config.ComputeCounts): the template was
// migrated without it.
func (f *Fixture) App(t testing.TB, configure func(*framework.Config)) (*framework.App, *bun.DB) {
	t.Helper()
	db := f.DB(t)
	return f.newApp(t, db, configure), db
}

// DB returns a new database, closed and removed when t ends, holding a
// copy of f's template: its tables migrated and its rows seeded.
func (f *Fixture) DB(t testing.TB) *bun.DB {
	t.Helper()
	tpl := f.template(t)
	var db *bun.DB
	if dbtest.Current() == dbtest.Postgres {
		db = dbtest.Open(t)
		// The count triggers name their table with its schema: in the
		// copy, that is the copy's.
		stmts := strings.ReplaceAll(tpl.stmts, `"`+tpl.schema+`".`, `"`+currentSchema(t, db)+`".`)
		// Through database/sql, so that query hooks a test adds later
		// never see it; without arguments pgx sends the statements in
		// one simple-protocol message.
		if _, err := db.DB.ExecContext(context.Background(), stmts); err != nil {
			t.Fatalf("apitest: %s: replay the template: %v", f.Name, err)
		}
	} else {
		path := filepath.Join(t.TempDir(), "test.db")
		if err := os.WriteFile(path, tpl.file, 0o600); err != nil {
			t.Fatalf("apitest: %s: copy the template: %v", f.Name, err)
		}
		var err error
		if db, err = database.Open(path); err != nil {
			t.Fatalf("apitest: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
	}
	dbtest.SyncSequences(t, db)
	return db
}

// newApp builds an app of f on db and registers its models.
func (f *Fixture) newApp(t testing.TB, db *bun.DB, configure func(*framework.Config)) *framework.App {
	t.Helper()
	cfg := f.Config(db)
	counts := cfg.ComputeCounts
	if configure != nil {
		configure(&cfg)
	}
	if cfg.ComputeCounts != counts {
		t.Fatalf("apitest: %s: configure changes ComputeCounts, which the template was migrated without; build that app with Migrate", f.Name)
	}
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatalf("framework.New: %v", err)
	}
	if err := f.Register(app, db); err != nil {
		t.Fatalf("register: %v", err)
	}
	return app
}

// template returns f's template on the current engine, building it in t
// the first time.
func (f *Fixture) template(t testing.TB) *template {
	t.Helper()
	v, _ := templates.LoadOrStore(templateKey{f, dbtest.Current()}, &template{})
	tpl := v.(*template)
	tpl.once.Do(func() { f.build(t, tpl) })
	if !tpl.ok {
		t.Fatalf("apitest: %s: the template could not be built (see the test that built it)", f.Name)
	}
	return tpl
}

// build migrates and seeds a new database as f's template and keeps what
// copies are made from.
func (f *Fixture) build(t testing.TB, tpl *template) {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Open(t)
	rec := &recorder{}
	if dbtest.Current() == dbtest.Postgres {
		db.AddQueryHook(rec)
	}
	if f.Prepare != nil {
		f.Prepare(t, db)
	} else {
		app := f.newApp(t, db, nil)
		if err := app.Migrate(ctx); err != nil {
			t.Fatalf("apitest: %s: migrate: %v", f.Name, err)
		}
		f.Seed(t, db)
	}
	if dbtest.Current() == dbtest.Postgres {
		tpl.stmts, tpl.schema = rec.script(), currentSchema(t, db)
	} else {
		// VACUUM INTO writes one self-contained file, whatever is still
		// in the write-ahead log.
		path := filepath.Join(t.TempDir(), "template.db")
		if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
			t.Fatalf("apitest: %s: %v", f.Name, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("apitest: %s: %v", f.Name, err)
		}
		tpl.file = b
	}
	tpl.ok = true
}

// recorder keeps the statements that change a database, in order, to
// replay them elsewhere.
type recorder struct {
	mu    sync.Mutex
	stmts []string
}

func (r *recorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (r *recorder) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if e.Err != nil {
		return // a probe or an attempt that changed nothing
	}
	q := strings.TrimSpace(e.Query)
	switch strings.ToUpper(strings.SplitN(q, " ", 2)[0]) {
	case "SELECT", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE":
		return
	}
	r.mu.Lock()
	r.stmts = append(r.stmts, q)
	r.mu.Unlock()
}

func (r *recorder) script() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.stmts, ";\n")
}

// currentSchema is the schema db's tables are made in.
func currentSchema(t testing.TB, db *bun.DB) string {
	t.Helper()
	var schema string
	if err := db.NewRaw("SELECT current_schema()").Scan(context.Background(), &schema); err != nil {
		t.Fatalf("apitest: %v", err)
	}
	return schema
}
