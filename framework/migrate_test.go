package framework_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Receipt has a soft-delete column and records who deleted it.
type Receipt struct {
	bun.BaseModel `bun:"table:receipts"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Name      string     `bun:"name,notnull" json:"name"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
	DeletedBy *int64     `bun:"deleted_by" json:"deletedBy"`
}

// capturedQueries records the SQL bun runs, so a test can explain the
// very query a request used.
type capturedQueries struct {
	mu  sync.Mutex
	sql []string
}

func (q *capturedQueries) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (q *capturedQueries) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sql = append(q.sql, e.Query)
}

func (q *capturedQueries) find(t *testing.T, substr string) string {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range q.sql {
		if strings.HasPrefix(s, "SELECT ") && strings.Contains(s, substr) {
			return s
		}
	}
	t.Fatalf("no query containing %q among %q", substr, q.sql)
	return ""
}

func TestMigrateAddsMissingDeletionColumnsOnce(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	legacy := `CREATE TABLE receipts (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR NOT NULL)`
	if dbtest.Current() == dbtest.Postgres {
		legacy = `CREATE TABLE receipts (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL)`
	}
	if _, err := db.ExecContext(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO receipts (name) VALUES ('legacy')`); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := baseConfig(db)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Receipt](app); err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"column=deleted_at", "column=deleted_by", "index=idx_receipts_deleted_at"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not mention %s: %s", want, logs.String())
		}
	}
	if columns := dbtest.Columns(t, db, "receipts"); strings.Join(columns, ",") != "id,name,deleted_at,deleted_by" {
		t.Fatalf("columns %v", columns)
	}
	if indexes := dbtest.Indexes(t, db, "receipts"); !slices.Contains(indexes, "idx_receipts_deleted_at") {
		t.Fatalf("indexes %v", indexes)
	}

	logs.Reset()
	if err := app.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if logs.Len() != 0 {
		t.Fatalf("second migrate changed something: %s", logs.String())
	}
	// The legacy row is live: the added column is NULL.
	h := newHarness(app, db)
	rec := h.Do(t, request{Token: userToken, Method: http.MethodGet, URL: "/api/receipts"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "legacy") {
		t.Fatalf("list after migrate: %d %s", rec.Code, rec.Body.String())
	}
}

func TestDeletedByIsRecordedAndHidden(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[Receipt]()}})
	playSteps(t, h, []step{
		{"create", userToken, "POST", "/api/receipts", `{"name":"r1"}`, 201, "", "deleted"},
		{"cannot set it", userToken, "POST", "/api/receipts", `{"name":"r2","deletedBy":1}`, 400, `"field":"deletedBy","message":"unknown field"`, ""},
		{"admin cannot set it either", adminToken, "POST", "/api/receipts", `{"name":"r2","deletedBy":1}`, 400, `"field":"deletedBy","message":"read-only field"`, ""},
		{"delete by the user", userToken, "DELETE", "/api/receipts/1", "", 200, "", ""},
		{"admin sees who", adminToken, "GET", "/api/receipts/1", "", 200, `"deletedBy":2`, ""},
		{"admin sorts on it", adminToken, "GET", "/api/receipts?includeDeleted=true&sort=deletedBy&fields=id,deletedBy", "", 200, `"deletedBy":2`, ""},
		{"user may not filter on it", userToken, "GET", "/api/receipts?deletedBy=2", "", 400, fieldErr("deletedBy"), ""},
		{"user may not sort on it", userToken, "GET", "/api/receipts?sort=deletedBy", "", 400, "", ""},
		{"user may not select it", userToken, "GET", "/api/receipts?fields=deletedBy", "", 400, "", ""},
		{"restore clears it", adminToken, "POST", "/api/receipts/1/restore", "", 200, `"deletedAt":null,"deletedBy":null},"restored":true`, ""},
	})
}

func TestDeletedByRegistrationErrors(t *testing.T) {
	type NoSoftDelete struct {
		bun.BaseModel `bun:"table:nosd"`
		ID            int64  `bun:"id,pk,autoincrement"`
		DeletedBy     *int64 `bun:"deleted_by"`
	}
	type NotNullable struct {
		bun.BaseModel `bun:"table:notnullable"`
		ID            int64      `bun:"id,pk,autoincrement"`
		DeletedAt     *time.Time `bun:"deleted_at"`
		DeletedBy     int64      `bun:"deleted_by"`
	}
	app, err := framework.New(baseConfig(dbtest.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"NoSoftDelete": framework.Register[NoSoftDelete](app),
		"NotNullable":  framework.Register[NotNullable](app),
	} {
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "DeletedBy") {
			t.Errorf("%s: error %v does not name the model and field", name, err)
		}
	}
}

// TestTrashViewUsesTheSoftDeleteIndex explains the query the trash view
// really ran: it must search the index Migrate created, not scan the table.
func TestTrashViewUsesTheSoftDeleteIndex(t *testing.T) {
	db := dbtest.Open(t)
	queries := &capturedQueries{}
	db.AddQueryHook(queries)
	h := buildApp(t, appSpec{db: db, models: []func(*framework.App) error{registered[Receipt]()}})
	rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: "/api/receipts?onlyDeleted=true&count=false"})
	if rec.Code != http.StatusOK {
		t.Fatalf("trash view: %d %s", rec.Code, rec.Body.String())
	}
	trash := queries.find(t, `"deleted_at" IS NOT NULL`)
	if text := dbtest.Explain(t, db, trash); !text.UsesIndex("idx_receipts_deleted_at") {
		t.Fatalf("the trash view does not use the soft-delete index: %s\nquery: %s", text, trash)
	}
}

// TestMigrateCreatesParentsFirst registers children before their parents:
// Migrate still creates every table, each with its foreign key (which
// PostgreSQL only accepts once the referenced table exists).
func TestMigrateCreatesParentsFirst(t *testing.T) {
	db := dbtest.Open(t)
	db.RegisterModel((*BookLabel)(nil))
	h := buildApp(t, appSpec{db: db, models: []func(*framework.App) error{
		registered[Chapter](), registered[Book](), registered[Author](),
	}})
	playSteps(t, h, []step{
		{"author", adminToken, "POST", "/api/authors", `{"name":"ann","email":"ann@x.io"}`, 201, "", ""},
		{"book", adminToken, "POST", "/api/books", `{"authorId":1,"title":"Go","qty":1,"price":1,"inStock":true}`, 201, "", ""},
		{"chapter", adminToken, "POST", "/api/chapters", `{"bookId":1,"title":"Intro"}`, 201, "", ""},
	})
	// The foreign keys are there: the database refuses to remove a
	// referenced author.
	if _, err := h.DB.NewDelete().TableExpr("authors").Where("id = 1").Exec(context.Background()); err == nil {
		t.Fatal("an author with books was removed: the foreign key is missing")
	}
}
