package framework_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
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

// TestCountsExactUnderConcurrentWrites: 16 writers on two instances
// create, soft-delete, restore and permanently delete rows of one table at
// once. Afterwards the totals read from the counts table are the counted
// ones, and on PostgreSQL the writes were spread over more than one of
// the table's rows there, which is what lets them commit side by side.
func TestCountsExactUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	dbA, dbB := dbtest.OpenPair(t)
	models := []func(*framework.App) error{registered[BenchPost]()}
	a := buildApp(t, appSpec{db: dbA, models: models})
	b := buildApp(t, appSpec{db: dbB, models: models})
	counted := buildApp(t, appSpec{db: dbA, models: models, config: func(cfg *framework.Config) { cfg.ComputeCounts = true }})
	// Each harness moves the key sequences on at its first request.
	for _, h := range []*harness{a, b, counted} {
		h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: "/api/bench_posts"})
	}
	const writers, each = 16, 12
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := []*harness{a, b}[w%2]
			do := func(method, url string) {
				if rec := h.Do(t, request{Token: adminToken, Method: method, URL: url}); rec.Code >= 300 {
					t.Errorf("%s %s: %d %s", method, url, rec.Code, rec.Body)
				}
			}
			for i := range each {
				rec := h.Do(t, request{Token: adminToken, Method: http.MethodPost, URL: "/api/bench_posts",
					Body: fmt.Sprintf(`{"userId":1,"title":"w%d-%d","views":1}`, w, i)})
				if rec.Code != http.StatusCreated {
					t.Errorf("create: %d %s", rec.Code, rec.Body)
					return
				}
				var created struct{ Data struct{ ID int64 } }
				if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
					t.Error(err)
					return
				}
				url := "/api/bench_posts/" + strconv.FormatInt(created.Data.ID, 10)
				switch i % 4 {
				case 1:
					do(http.MethodDelete, url)
				case 2:
					do(http.MethodDelete, url)
					do(http.MethodPost, url+"/restore")
				case 3:
					do(http.MethodDelete, url+"?permanent=true")
				}
			}
		}()
	}
	wg.Wait()
	for _, url := range []string{"/api/bench_posts", "/api/bench_posts?includeDeleted=true", "/api/bench_posts?onlyDeleted=true"} {
		want := metaObj(t, counted.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: url}).Body.Bytes())["total"]
		for _, h := range []*harness{a, b} {
			if got := metaObj(t, h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: url}).Body.Bytes())["total"]; got != want {
				t.Errorf("%s: total %v from the counts table, %v counted", url, got, want)
			}
		}
	}
	if want := float64(writers * each / 2); metaObj(t, counted.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: "/api/bench_posts"}).Body.Bytes())["total"] != want {
		t.Errorf("live total is not %v", want)
	}
	if dbtest.Current() == dbtest.Postgres {
		// Shards other than 0 start at version 0; a write raises one.
		var written int
		if err := dbA.NewRaw(`SELECT count(*) FROM `+framework.CountsTable+` WHERE tbl = 'bench_posts' AND shard <> 0 AND version <> 0`).
			Scan(context.Background(), &written); err != nil {
			t.Fatal(err)
		}
		if written == 0 {
			t.Errorf("every write went to shard 0 of the counts table")
		}
	}
}

// TestCountsTableOfAnEarlierShape: a counts table of an earlier shape (one
// row per table, no shards), holding wrong numbers, is made anew by
// Migrate, and the totals read from it are right.
func TestCountsTableOfAnEarlierShape(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	for _, stmt := range []string{
		`CREATE TABLE ` + framework.CountsTable + ` (tbl varchar(255) PRIMARY KEY, live bigint NOT NULL, deleted bigint NOT NULL, version bigint NOT NULL DEFAULT 0)`,
		`INSERT INTO ` + framework.CountsTable + ` VALUES ('bench_posts', 99, 99, 5)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	h := buildApp(t, appSpec{db: db, models: []func(*framework.App) error{registered[BenchPost]()}})
	if !slices.Contains(dbtest.Columns(t, db, framework.CountsTable), "shard") {
		t.Fatalf("the counts table has no shard column: %v", dbtest.Columns(t, db, framework.CountsTable))
	}
	for _, body := range []string{`{"userId":1,"title":"a","views":1}`, `{"userId":1,"title":"b","views":1}`} {
		if rec := h.Do(t, request{Token: adminToken, Method: http.MethodPost, URL: "/api/bench_posts", Body: body}); rec.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
	}
	if rec := h.Do(t, request{Token: adminToken, Method: http.MethodDelete, URL: "/api/bench_posts/1"}); rec.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	for url, want := range map[string]float64{"/api/bench_posts": 1, "/api/bench_posts?onlyDeleted=true": 1} {
		if got := metaObj(t, h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: url}).Body.Bytes())["total"]; got != want {
			t.Errorf("%s: total %v, want %v", url, got, want)
		}
	}
}

// TestCountsMigrateKeepsToItsSchema: on PostgreSQL, Migrate looks at and
// rebuilds only the counts table of the schema it creates its tables in,
// never one of an earlier shape further along the search path, which
// another app's triggers may still write.
func TestCountsMigrateKeepsToItsSchema(t *testing.T) {
	if dbtest.Current() != dbtest.Postgres {
		return // one schema per SQLite file
	}
	t.Parallel()
	ctx := context.Background()
	other := dbtest.Open(t)
	var otherSchema string
	if err := other.NewRaw("SELECT current_schema()").Scan(ctx, &otherSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(ctx, `CREATE TABLE `+framework.CountsTable+` (tbl varchar(255) PRIMARY KEY, live bigint NOT NULL, deleted bigint NOT NULL, version bigint NOT NULL DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	db := dbtest.Open(t)
	// One connection, so that the search path set here is the one
	// Migrate runs with: this app's schema, then the other one.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `SELECT set_config('search_path', current_schema() || ', `+otherSchema+`', false)`); err != nil {
		t.Fatal(err)
	}
	buildApp(t, appSpec{db: db, models: []func(*framework.App) error{registered[BenchPost]()}})
	if cols := dbtest.Columns(t, other, framework.CountsTable); slices.Contains(cols, "shard") || len(cols) == 0 {
		t.Errorf("the other schema's counts table was rebuilt or dropped: columns %v", cols)
	}
	if !slices.Contains(dbtest.Columns(t, db, framework.CountsTable), "shard") {
		t.Errorf("this schema has no counts table of the current shape")
	}
}
