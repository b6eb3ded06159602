package framework_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestCountsTableStaysExact drives every kind of write (create, delete,
// restore, cascades, bulk, permanent delete, purge, SQL from outside the
// app, SQLite's INSERT OR REPLACE, PostgreSQL's TRUNCATE, a table dropped
// and migrated again) and after each one compares the totals read from the counts
// table with the totals an app counting every time gives, on the same
// database, for each view of the rows.
func TestCountsTableStaysExact(t *testing.T) {
	models := []func(*framework.App) error{
		registered[Thread](), registered[Reply](framework.Cascade("reactions")), registered[Reaction](), registered[Watcher](), registered[Tag](),
	}
	kept := buildApp(t, appSpec{models: models})
	counted := buildApp(t, appSpec{db: kept.DB, models: models, config: func(cfg *framework.Config) { cfg.ComputeCounts = true }})
	total := func(h *harness, url string) int64 {
		rec := h.Do(t, request{Token: adminToken, Method: "GET", URL: url})
		var body struct{ Meta struct{ Total *int64 } }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Meta.Total == nil {
			t.Fatalf("GET %s: %d %s", url, rec.Code, rec.Body.String())
		}
		return *body.Meta.Total
	}
	check := func(after string) {
		t.Helper()
		for _, url := range []string{
			"/api/threads", "/api/threads?includeDeleted=true", "/api/threads?onlyDeleted=true",
			"/api/replies", "/api/replies?includeDeleted=true", "/api/replies?onlyDeleted=true",
			"/api/reactions?onlyDeleted=true", "/api/tags",
		} {
			if got, want := total(kept, url), total(counted, url); got != want {
				t.Fatalf("after %s: %s total %d from the counts table, %d counted", after, url, got, want)
			}
		}
	}
	check("nothing")
	steps := []request{
		{Token: userToken, Method: "POST", URL: "/api/threads", Body: `{"title":"a"}`},
		{Token: userToken, Method: "POST", URL: "/api/threads", Body: `{"title":"b"}`},
		{Token: userToken, Method: "POST", URL: "/api/replies", Body: `{"threadId":1,"body":"r1"}`},
		{Token: userToken, Method: "POST", URL: "/api/replies", Body: `{"threadId":1,"body":"r2"}`},
		{Token: userToken, Method: "POST", URL: "/api/reactions", Body: `{"replyId":1,"emoji":"+1"}`},
		{Token: userToken, Method: "POST", URL: "/api/tags", Body: `{"name":"t","qty":1}`},
		{Token: userToken, Method: "PATCH", URL: "/api/threads/1", Body: `{"title":"a2"}`},
		{Token: userToken, Method: "DELETE", URL: "/api/threads/1"},
		{Token: adminToken, Method: "POST", URL: "/api/threads/1/restore"},
		{Token: userToken, Method: "DELETE", URL: "/api/replies/2"},
		{Token: userToken, Method: "DELETE", URL: "/api/threads?title=b"},
		{Token: adminToken, Method: "POST", URL: "/api/threads/restore?title=b"},
		{Token: userToken, Method: "DELETE", URL: "/api/threads/2"},
		{Token: adminToken, Method: "DELETE", URL: "/api/threads/2?permanent=true"},
		{Token: userToken, Method: "DELETE", URL: "/api/tags/1"},
	}
	for _, r := range steps {
		if rec := kept.Do(t, r); rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", r.Method, r.URL, rec.Code, rec.Body.String())
		}
		check(r.Method + " " + r.URL)
	}
	ctx := context.Background()
	if _, err := kept.DB.ExecContext(ctx, `INSERT INTO threads (title) VALUES ('from outside')`); err != nil {
		t.Fatal(err)
	}
	check("an INSERT from outside the app")
	if _, err := kept.DB.ExecContext(ctx, `UPDATE threads SET deleted_at = CURRENT_TIMESTAMP WHERE title = 'from outside'`); err != nil {
		t.Fatal(err)
	}
	check("an UPDATE from outside the app")
	if _, err := kept.App.Purge(ctx, framework.PurgeOptions{Resource: "threads"}); err != nil {
		t.Fatal(err)
	}
	check("a purge")

	// Writes that bypass row-by-row DML.
	for _, r := range []request{
		{Token: userToken, Method: "POST", URL: "/api/tags", Body: `{"name":"u","qty":1}`},
		{Token: userToken, Method: "POST", URL: "/api/tags", Body: `{"name":"v","qty":1}`},
	} {
		if rec := kept.Do(t, r); rec.Code != 201 {
			t.Fatalf("%s %s: %d %s", r.Method, r.URL, rec.Code, rec.Body.String())
		}
	}
	replace := `INSERT OR REPLACE INTO tags (id, name, qty) SELECT id, name, 9 FROM tags WHERE name = 'u'`
	if dbtest.Current() == dbtest.Postgres {
		replace = `TRUNCATE tags`
	}
	if _, err := kept.DB.ExecContext(ctx, replace); err != nil {
		t.Fatal(err)
	}
	check(replace)

	// A table dropped and created again by Migrate starts from its true
	// count, not the old row.
	if _, err := kept.DB.ExecContext(ctx, `DROP TABLE tags`); err != nil {
		t.Fatal(err)
	}
	if err := kept.App.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check("tags dropped and migrated again")

	// Without the counts table at all (a schema this app did not migrate),
	// totals are counted.
	if _, err := kept.DB.ExecContext(ctx, `DROP TABLE `+framework.CountsTable); err != nil {
		t.Fatal(err)
	}
	check("the counts table dropped")
}
