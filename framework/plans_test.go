package framework_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestQueryPlansUseIndexes explains the queries that real requests ran,
// on the engine under test, and requires each to search an index rather
// than read the whole table (or sort it): these are the queries whose cost
// must stay flat as a table grows.
func TestQueryPlansUseIndexes(t *testing.T) {
	db := dbtest.Open(t)
	queries := &capturedQueries{}
	db.AddQueryHook(queries)
	h := buildApp(t, appSpec{db: db, models: []func(*framework.App) error{registered[BenchPost](), registered[Member]()}})
	ctx := context.Background()
	seedBenchPosts(t, db, 2000)
	members := make([]Member, 2000)
	for i := range members {
		members[i] = Member{Email: fmt.Sprintf("m%d@x.io", i), Team: "red", Badge: int64(i)}
	}
	if _, err := db.NewInsert().Model(&members).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if dbtest.Current() == dbtest.Postgres {
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, url, query string
		// indexes are those the plan may search, "" for the primary key.
		// The soft-delete index serves the live rows in key order as well
		// as the partial one: NULL first, then the key.
		indexes []string
		// oneRow: at most one row matches, so sorting it costs nothing.
		oneRow bool
	}{
		{"live list in key order", "/api/bench_posts?count=false", `IS NULL)) ORDER BY "id" ASC LIMIT 21`, []string{"idx_bench_posts_live", "idx_bench_posts_deleted_at"}, false},
		{"cursor page", "/api/bench_posts?count=false&sort=id&cursor=", `"id" > `, []string{"idx_bench_posts_live", "idx_bench_posts_deleted_at"}, false},
		{"trash view", "/api/bench_posts?onlyDeleted=true&count=false", `"deleted_at" IS NOT NULL`, []string{"idx_bench_posts_deleted_at"}, false},
		{"lookup by id", "/api/bench_posts/41", `"id" = 41`, []string{""}, true},
		{"lookup by a unique field", "/api/members?email=m7@x.io&count=false", `"email" = 'm7@x.io'`, []string{"uq_members_email"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := c.url
			if url == "/api/bench_posts?count=false&sort=id&cursor=" {
				url = "/api/bench_posts?count=false&sort=id&limit=100&cursor=" + nextCursor(t, h, "/api/bench_posts?count=false&sort=id&limit=100")
			}
			if rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: url}); rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", url, rec.Code, rec.Body.String())
			}
			q := queries.find(t, c.query)
			plan := dbtest.Explain(t, db, q)
			if !slices.ContainsFunc(c.indexes, plan.UsesIndex) || plan.Scans() || (plan.Sorts() && !c.oneRow) {
				t.Fatalf("%s: the plan does not search one of %q, without a scan or a sort:\n%s\nquery: %s", c.name, c.indexes, plan, q)
			}
		})
	}
}

// nextCursor returns the nextCursor of the list at url.
func nextCursor(t *testing.T, h *harness, url string) string {
	t.Helper()
	rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: url})
	next, ok := metaObj(t, rec.Body.Bytes())["nextCursor"].(string)
	if rec.Code != http.StatusOK || !ok {
		t.Fatalf("GET %s: %d %s", url, rec.Code, rec.Body.String())
	}
	return next
}

// TestSearchIndexServesContains: on PostgreSQL, Migrate gives a field
// tagged autoapi:"search" a trigram index, and a contains filter on it
// searches that index rather than reading the table, whatever the
// pattern starts with. (At a few thousand rows walking the live rows is
// cheaper, and the planner rightly does that: the table here is large
// enough for the index to matter.)
func TestSearchIndexServesContains(t *testing.T) {
	if dbtest.Current() != dbtest.Postgres {
		t.Skip("a trigram index is PostgreSQL's; SQLite's contains reads the table")
	}
	t.Parallel()
	db := dbtest.Open(t)
	queries := &capturedQueries{}
	db.AddQueryHook(queries)
	// Without the counts table's triggers, which would run per row of
	// the insert below.
	h := buildApp(t, appSpec{db: db, config: func(c *framework.Config) { c.ComputeCounts = true },
		models: []func(*framework.App) error{registered[BenchPost]()}})
	ctx := context.Background()
	var index string
	if err := db.NewRaw("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_bench_posts_title_trgm'").Scan(ctx, &index); err != nil {
		t.Fatalf("Migrate made no trigram index on title: %v", err)
	}
	if !strings.Contains(index, "USING gin") || !strings.Contains(index, "gin_trgm_ops") {
		t.Fatalf("the index on title is %s", index)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO bench_posts (user_id, title, views, created_at, updated_at, deleted_at)
		SELECT i % 7 + 1, 'post ' || i, i % 100, now(), now(), CASE WHEN i % 2 = 1 THEN now() END FROM generate_series(0, 19999) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE bench_posts"); err != nil {
		t.Fatal(err)
	}
	url := "/api/bench_posts?count=false&filter=" + url.QueryEscape(`title ~ "OST 1234"`)
	rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: url})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, rec.Code, rec.Body)
	}
	q := queries.find(t, `ILIKE '%OST 1234%'`)
	if plan := dbtest.Explain(t, db, q); !plan.UsesIndex("idx_bench_posts_title_trgm") {
		t.Fatalf("the plan does not search the trigram index:\n%s\nquery: %s", plan, q)
	}
}
