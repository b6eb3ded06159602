package framework_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// BenchmarkScale serves the same list requests from tables of growing
// size, half of each soft-deleted, to show which costs stay flat:
//
//	go test -run '^$' -bench BenchmarkScale -benchmem ./framework/
//
// AUTOAPI_BENCH_ROWS sets the sizes (default 10000,100000,1000000).
// Counted* cases compare the counts table with counting each time
// (Config.ComputeCounts, over the live-rows index).
func BenchmarkScale(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000}
	if env := os.Getenv("AUTOAPI_BENCH_ROWS"); env != "" {
		sizes = nil
		for _, s := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				b.Fatalf("AUTOAPI_BENCH_ROWS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
			db := dbtest.Open(b)
			kept := scaleApp(b, db, false)
			computed := scaleApp(b, db, true)
			seedBenchPosts(b, db, size)
			live := size / 2
			middle := middleCursor(b, kept, live/2)
			for _, c := range []struct {
				name string
				e    *echo.Echo
				url  string
			}{
				{"ListLive", kept, "/api/bench_posts?count=false"},
				{"ListFiltered", kept, "/api/bench_posts?views%5Bgte%5D=10&userId=3&count=false"},
				{"Trash", kept, "/api/bench_posts?onlyDeleted=true&count=false"},
				{"CursorMiddle", kept, "/api/bench_posts?count=false&sort=id&cursor=" + middle},
				{"OffsetMiddle", kept, "/api/bench_posts?count=false&offset=" + strconv.Itoa(live/2)},
				{"CountedCountsTable", kept, "/api/bench_posts"},
				{"CountedComputed", computed, "/api/bench_posts"},
				{"CountedFiltered", kept, "/api/bench_posts?views%5Bgte%5D=10&userId=3"},
				// Counted on every request, as the first request after a
				// write to the table is.
				{"CountedFilteredComputed", computed, "/api/bench_posts?views%5Bgte%5D=10&userId=3"},
				{"CountedExprFilteredComputed", computed, "/api/bench_posts?filter=" + url.QueryEscape(`views > 50 && title ~ "post 1"`)},
				// The shape of the comparison with PocketBase.
				{"ExprFiltered", kept, "/api/bench_posts?count=false&filter=" + url.QueryEscape(`views > 50 && title ~ "post 1"`)},
				{"CountedExprFiltered", kept, "/api/bench_posts?filter=" + url.QueryEscape(`views > 50 && title ~ "post 1"`)},
			} {
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						serve(b, c.e, "GET", c.url, "", 200)
					}
				})
			}
		})
	}
}

// scaleApp serves bench_posts from db, counting totals from the counts
// table or, with compute, each time.
func scaleApp(b *testing.B, db *bun.DB, compute bool) *echo.Echo {
	b.Helper()
	cfg := framework.Config{DB: db, Policy: "p, anonymous, bench_posts, read\np, anonymous, bench_posts, read_deleted",
		Logger: quietLogger(), ComputeCounts: compute, MaxLimit: 100}
	app, err := framework.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := framework.Register[BenchPost](app); err != nil {
		b.Fatal(err)
	}
	if err := app.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return app.NewEcho()
}

// seedBenchPosts inserts n posts, every other one soft-deleted, in
// batches inside one transaction.
func seedBenchPosts(b testing.TB, db *bun.DB, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		const batch = 2000
		rows := make([]BenchPost, 0, batch)
		for i := 0; i < n; i++ {
			p := BenchPost{UserID: int64(i%7 + 1), Title: fmt.Sprintf("post %d", i), Views: int64(i % 100), CreatedAt: now, UpdatedAt: now}
			if i%2 == 1 {
				p.DeletedAt = &now
			}
			rows = append(rows, p)
			if len(rows) == batch || i == n-1 {
				if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
					return err
				}
				rows = rows[:0]
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if dbtest.Current() == dbtest.Postgres {
		if _, err := db.ExecContext(ctx, "ANALYZE bench_posts"); err != nil {
			b.Fatal(err)
		}
	}
}

// middleCursor walks the live list 100 rows a page until skip rows are
// behind it and returns the cursor of the next page.
func middleCursor(b *testing.B, e *echo.Echo, skip int) string {
	b.Helper()
	url := "/api/bench_posts?count=false&sort=id&limit=100"
	cursor := ""
	for seen := 0; seen < skip; seen += 100 {
		u := url
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
		const key = `"nextCursor":"`
		body := rec.Body.String()
		i := strings.Index(body, key)
		if rec.Code != 200 || i < 0 {
			b.Fatalf("GET %s: %d %s", u, rec.Code, body[:min(len(body), 300)])
		}
		rest := body[i+len(key):]
		cursor = rest[:strings.IndexByte(rest, '"')]
	}
	return cursor
}
