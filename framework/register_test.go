package framework_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Models that break a convention; Register must refuse each one.

type KeylessThing struct {
	bun.BaseModel `bun:"table:keyless_things"`
	Label         string `bun:"label"`
}

type PairKeyed struct {
	bun.BaseModel `bun:"table:pair_keyed"`
	First         int64  `bun:"first,pk"`
	Second        int64  `bun:"second,pk"`
	Label         string `bun:"label"`
}

type TextTomb struct {
	bun.BaseModel `bun:"table:text_tombs"`
	ID            int64  `bun:"id,pk,autoincrement"`
	DeletedAt     string `bun:"deleted_at"`
}

type CounterTomb struct {
	bun.BaseModel `bun:"table:counter_tombs"`
	ID            int64  `bun:"id,pk,autoincrement"`
	DeletedDate   *int64 `bun:"deleted_date"` // an int64 would be Unix seconds; a pointer is neither convention
}

type DoubleTomb struct {
	bun.BaseModel `bun:"table:double_tombs"`
	ID            int64        `bun:"id,pk,autoincrement"`
	DeletedAt     time.Time    `bun:"deleted_at"`
	DeletedDate   sql.NullTime `bun:"deleted_date"`
}

// register calls framework.Register[T] and turns a panic into a test
// failure, so a bad model can never crash the program.
func register[T any](t *testing.T, app *framework.App, opts ...framework.Option) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Register[%T] panicked: %v", *new(T), p)
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return framework.Register[T](app, opts...)
}

func newBareApp(t *testing.T) *framework.App {
	t.Helper()
	app, err := framework.New(baseConfig(dbtest.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestRegisterErrors checks that every broken convention is an error
// naming the model and the field at fault.
func TestRegisterErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		register func(*testing.T, *framework.App, ...framework.Option) error
		want     []string
	}{
		{"no primary key", register[KeylessThing], []string{"KeylessThing", "primary key"}},
		{"composite primary key", register[PairKeyed], []string{"PairKeyed", "First", "Second", "composite"}},
		{"string soft-delete column", register[TextTomb], []string{"TextTomb", "DeletedAt", "string"}},
		{"integer soft-delete column", register[CounterTomb], []string{"CounterTomb", "DeletedDate", "int64"}},
		{"two soft-delete candidates", register[DoubleTomb], []string{"DoubleTomb", "DeletedAt", "DeletedDate"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			app := newBareApp(t)
			err := c.register(t, app)
			if err == nil {
				t.Fatalf("Register succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestRegisterDuplicateName checks that a resource name can be registered
// once only, whether it comes from the table name or WithName.
func TestRegisterDuplicateName(t *testing.T) {
	t.Parallel()
	app := newBareApp(t)
	if err := register[Widget](t, app); err != nil {
		t.Fatal(err)
	}
	err := register[Widget](t, app)
	if err == nil || !strings.Contains(err.Error(), "Widget") || !strings.Contains(err.Error(), `"widgets"`) {
		t.Errorf("second Register[Widget]: %v, want an error naming Widget and \"widgets\"", err)
	}
	err = register[Gadget](t, app, framework.WithName("widgets"))
	if err == nil || !strings.Contains(err.Error(), "Gadget") || !strings.Contains(err.Error(), "Widget") || !strings.Contains(err.Error(), `"widgets"`) {
		t.Errorf("Register[Gadget] as widgets: %v, want an error naming Gadget, Widget and \"widgets\"", err)
	}
	// WithName gives the same model a second, distinct resource.
	if err := register[Widget](t, app, framework.WithName("widgets-again")); err != nil {
		t.Errorf("Register[Widget] as widgets-again: %v", err)
	}
	if err := register[Gadget](t, app, framework.WithName("Bad Name")); err == nil || !strings.Contains(err.Error(), "Gadget") {
		t.Errorf("Register with an invalid name: %v", err)
	}
	if r, ok := framework.ResourceOf(app, "widgets"); !ok || r.ModelName != "Widget" {
		t.Errorf("resource widgets is %v", r)
	}
}

// TestWithNameRoutes checks that WithName changes the URL and the casbin
// object.
func TestWithNameRoutes(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	cfg := baseConfig(db)
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Tag](app, framework.WithName("labels")); err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(app, db)
	if rec := h.Do(t, request{Token: userToken, Method: get, URL: "/api/labels"}); rec.Code != 200 {
		t.Errorf("GET /api/labels: %d %s", rec.Code, rec.Body)
	}
	if rec := h.Do(t, request{Token: userToken, Method: get, URL: "/api/tags"}); rec.Code != 404 {
		t.Errorf("GET /api/tags: %d, want 404", rec.Code)
	}
	// The policy grants anonymous read on "tags", not on "labels".
	if rec := h.Do(t, request{Method: get, URL: "/api/labels"}); rec.Code != 401 {
		t.Errorf("anonymous GET /api/labels: %d, want 401", rec.Code)
	}
}

// TestConfigErrors checks that New refuses an unusable configuration.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	for _, c := range []struct {
		name string
		cfg  framework.Config
		want string
	}{
		{"no database", framework.Config{Policy: testPolicy}, "DB"},
		{"default limit above max", framework.Config{DB: db, Policy: testPolicy, DefaultLimit: 50, MaxLimit: 10}, "DefaultLimit"},
		{"default limit above built-in max", framework.Config{DB: db, Policy: testPolicy, DefaultLimit: 101}, "DefaultLimit"},
		{"negative limit", framework.Config{DB: db, Policy: testPolicy, MaxLimit: -1}, "MaxLimit"},
		{"no policy source", framework.Config{DB: db}, "policy"},
		{"prefix without slash", framework.Config{DB: db, Policy: testPolicy, Prefix: "v1"}, "Prefix"},
		{"negative body limit", framework.Config{DB: db, Policy: testPolicy, MaxBodyBytes: -1}, "MaxBodyBytes"},
	} {
		app, err := framework.New(c.cfg)
		if err == nil {
			t.Errorf("%s: New succeeded", c.name)
			continue
		}
		if app != nil {
			t.Errorf("%s: New returned an App with its error", c.name)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %s", c.name, err, c.want)
		}
	}
	if _, err := framework.New(framework.Config{DB: db, Policy: testPolicy, DefaultLimit: 100}); err != nil {
		t.Errorf("DefaultLimit equal to the built-in MaxLimit: %v", err)
	}
}

// TestMigrate checks that Migrate creates every table and soft-delete
// index, and can run again on an existing schema.
func TestMigrate(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	app, err := framework.New(baseConfig(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := registerAll(app, nil); err != nil {
		t.Fatalf("register: %v", err)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := app.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	tables := dbtest.Tables(t, db)
	for _, table := range []string{"widgets", "gadgets", "ledgers", "notes", "tags", "countries"} {
		if !slices.Contains(tables, table) {
			t.Errorf("table %s missing from %v", table, tables)
		}
	}
	for _, m := range softDeleteModels {
		if name := "idx_" + m.table + "_" + m.deletedCol; !slices.Contains(dbtest.Indexes(t, db, m.table), name) {
			t.Errorf("index %s missing", name)
		}
	}
	// Data survives a further Migrate.
	seed(t, db)
	if err := app.Migrate(ctx); err != nil {
		t.Fatalf("Migrate on a populated schema: %v", err)
	}
	if rows, _ := rowCount(t, db, "widgets", "", 1); rows != 1 {
		t.Errorf("Migrate lost data")
	}
}
