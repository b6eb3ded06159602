package framework_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// The benchmarks serve the same requests through the generated routes and
// through hand-written Echo + bun handlers doing the same SQL and writing
// the same JSON, each side on a database of its own seeded alike, in one
// run:
//
//	go test -run '^$' -bench BenchmarkAPI -benchmem -count 10 ./framework/ > api.txt
//	go run ./example/benchtable < api.txt
//	go tool benchstat -col /side api.txt
//
// Each operation is measured on both sides one after the other, and the
// side that goes first alternates from one count to the next, so that
// drift over the run (the machine's, or a table and its log growing)
// falls on both sides alike rather than on the one measured later.

// BenchPost is the benchmarks' model.
type BenchPost struct {
	bun.BaseModel `bun:"table:bench_posts"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64      `bun:"user_id,notnull" json:"userId"`
	Title     string     `bun:"title,notnull" json:"title" autoapi:"search"`
	Views     int64      `bun:"views,notnull" json:"views"`
	CreatedAt time.Time  `bun:"created_at,notnull" json:"createdAt"`
	UpdatedAt time.Time  `bun:"updated_at,notnull" json:"updatedAt"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt,omitempty"`
}

// benchRow is what both sides write for a caller without read_deleted.
type benchRow struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"userId"`
	Title     string    `json:"title"`
	Views     int64     `json:"views"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func toRow(p *BenchPost) benchRow {
	return benchRow{p.ID, p.UserID, p.Title, p.Views, p.CreatedAt, p.UpdatedAt}
}

const benchRows = 2000

func benchSetup(b *testing.B) (generated, hand *echo.Echo) {
	b.Helper()
	app, _ := benchDatabase(b, false)
	_, handDB := benchDatabase(b, false)
	return app.NewEcho(), handWritten(handDB)
}

// benchDatabase returns the generated side's app on a new database,
// migrated (the same tables, indexes and triggers for both sides) and
// seeded with benchRows posts; anonymous callers may do anything to them.
// computeCounts is Config.ComputeCounts.
func benchDatabase(b *testing.B, computeCounts bool, configure ...func(*framework.Config)) (*framework.App, *bun.DB) {
	b.Helper()
	db := dbtest.Open(b)
	cfg := framework.Config{DB: db, Policy: "p, anonymous, bench_posts, *", Logger: quietLogger(), ComputeCounts: computeCounts}
	for _, c := range configure {
		c(&cfg)
	}
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
	seedBenchPosts(b, db, benchRows)
	return app, db
}

// handWritten is what a developer would write by hand for the same routes,
// with the two middlewares every production Echo server has and the
// generated routes have too: panic recovery and request ids.
func handWritten(db *bun.DB) *echo.Echo {
	e := echo.New()
	e.Use(middleware.Recover(), middleware.RequestID())
	e.GET("/api/bench_posts/:id", func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			return echo.ErrNotFound
		}
		var p BenchPost
		err = db.NewSelect().Model(&p).Where("id = ?", id).Where("deleted_at IS NULL").Scan(c.Request().Context())
		if errors.Is(err, sql.ErrNoRows) {
			return echo.ErrNotFound
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"data": toRow(&p)})
	})
	e.GET("/api/bench_posts", func(c echo.Context) error {
		var posts []BenchPost
		q := db.NewSelect().Model(&posts).Where("deleted_at IS NULL")
		if v := c.QueryParam("views[gte]"); v != "" {
			n, _ := strconv.ParseInt(v, 10, 64)
			q = q.Where("views >= ?", n).Where("user_id = ?", c.QueryParam("userId"))
		}
		q = q.Order("id ASC").Limit(20)
		var total int64
		var err error
		if c.QueryParam("count") == "false" {
			err = q.Scan(c.Request().Context())
		} else {
			total, err = q.ScanAndCount(c.Request().Context())
		}
		if err != nil {
			return err
		}
		data := make([]benchRow, len(posts))
		for i := range posts {
			data[i] = toRow(&posts[i])
		}
		return c.JSON(http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"total": total, "limit": 20, "offset": 0}})
	})
	e.POST("/api/bench_posts", func(c echo.Context) error {
		var p BenchPost
		if err := json.NewDecoder(c.Request().Body).Decode(&p); err != nil {
			return echo.ErrBadRequest
		}
		p.CreatedAt = time.Now().UTC()
		p.UpdatedAt = p.CreatedAt
		if _, err := db.NewInsert().Model(&p).Returning("*").Exec(c.Request().Context()); err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, map[string]any{"data": toRow(&p)})
	})
	e.DELETE("/api/bench_posts/:id", func(c echo.Context) error {
		now := time.Now().UTC()
		r, err := db.NewUpdate().Model((*BenchPost)(nil)).Set("deleted_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", c.Param("id")).Where("deleted_at IS NULL").Exec(c.Request().Context())
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return echo.ErrNotFound
		}
		return c.JSON(http.StatusOK, map[string]any{"success": true, "softDeleted": true, "message": "Record marked as deleted"})
	})
	e.POST("/api/bench_posts/:id/restore", func(c echo.Context) error {
		var p BenchPost
		_, err := db.NewUpdate().Model(&p).Set("deleted_at = NULL").Set("updated_at = ?", time.Now().UTC()).
			Where("id = ?", c.Param("id")).Where("deleted_at IS NOT NULL").Returning("*").Exec(c.Request().Context())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"data": toRow(&p), "restored": true})
	})
	return e
}

func serve(b *testing.B, e *echo.Echo, method, url, body string, want int) {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, url, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, url, nil)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, url, rec.Code, rec.Body.String())
	}
}

// rounds is how many times the side-by-side benchmarks run every case on
// both sides. -count cannot interleave them: it repeats each
// sub-benchmark in a row, so that all of one side's counts of a case would
// run before any of the other's.
var rounds = flag.Int("rounds", 1, "rounds of the side-by-side benchmarks (pool them with benchstat -ignore /round)")

// sideBySide runs every case on both sides, one side right after the
// other, in -rounds rounds, and the side that goes first alternates from
// one round to the next, so that drift during a run (the machine's, a
// table and its log growing) falls on both sides alike. A result is named
// "<case>/round=<r>/<key>=<side name>": benchstat -col /<key> -ignore
// /round compares the sides over all rounds, and example/benchtable takes
// their medians.
func sideBySide(b *testing.B, key string, sides [2]string, cases []string, run func(b *testing.B, c, side int)) {
	for r := 1; r <= *rounds; r++ {
		order := [2]int{0, 1}
		if r%2 == 0 {
			order = [2]int{1, 0}
		}
		for c, name := range cases {
			for _, sd := range order {
				b.Run(fmt.Sprintf("%s/round=%d/%s=%s", name, r, key, sides[sd]), func(b *testing.B) { run(b, c, sd) })
			}
		}
	}
}

func BenchmarkAPI(b *testing.B) {
	generated, hand := benchSetup(b)
	sides := [2]*echo.Echo{generated, hand}
	type call struct {
		method, url, body string
		status            int
	}
	cases := []struct {
		name  string
		calls []call // one operation: a delete and its restore are measured as one
	}{
		{"GetByID", []call{{"GET", "/api/bench_posts/41", "", 200}}},
		{"List20", []call{{"GET", "/api/bench_posts", "", 200}}},
		{"List20NoCount", []call{{"GET", "/api/bench_posts?count=false", "", 200}}},
		{"ListFiltered", []call{{"GET", "/api/bench_posts?views%5Bgte%5D=10&userId=3", "", 200}}},
		{"Create", []call{{"POST", "/api/bench_posts", `{"userId":1,"title":"new","views":0}`, 201}}},
		{"DeleteRestore", []call{{"DELETE", "/api/bench_posts/101", "", 200}, {"POST", "/api/bench_posts/101/restore", "", 200}}},
	}
	names := make([]string, len(cases))
	for i, tc := range cases {
		names[i] = tc.name
	}
	sideBySide(b, "side", [2]string{"Generated", "HandWritten"}, names, func(b *testing.B, c, sd int) {
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range cases[c].calls {
				serve(b, sides[sd], r.method, r.url, r.body, r.status)
			}
		}
	})
}

// BenchmarkObserved measures what the access log (a JSON handler writing
// to io.Discard), the metrics and rate limits (a limit no request reaches)
// add to a request, against the same routes with them off; each side has
// a database of its own, and the first side alternates.
func BenchmarkObserved(b *testing.B) {
	plainApp, _ := benchDatabase(b, false)
	observedApp, _ := benchDatabase(b, false, func(c *framework.Config) {
		c.AccessLog = framework.AccessLogConfig{On: true, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		c.Metrics.On = true
		c.RateLimit.Reads = framework.Rate{PerSecond: 1e9, Burst: 1e9}
	})
	sides := [2]*echo.Echo{plainApp.NewEcho(), observedApp.NewEcho()}
	urls := []string{"/api/bench_posts/41", "/api/bench_posts?count=false"}
	sideBySide(b, "side", [2]string{"Off", "On"}, []string{"GetByID", "List20NoCount"}, func(b *testing.B, c, sd int) {
		b.ReportAllocs()
		for b.Loop() {
			serve(b, sides[sd], "GET", urls[c], "", 200)
		}
	})
}

// BenchmarkConcurrentWrites measures writes from 16 clients at once (8 per
// core on 2 cores), with the counts table's triggers and without them
// (Config.ComputeCounts), to show what keeping the counts costs writers:
// each write to a table also updates one of its rows in autoapi_counts,
// and holds it until commit. Each side has a database of its own, and the
// sides alternate (sideBySide).
//
//	AUTOAPI_TEST_POSTGRES=... go test -run '^$' -bench BenchmarkConcurrentWrites ./framework/ -args -rounds 6
func BenchmarkConcurrentWrites(b *testing.B) {
	var sides [2]*echo.Echo
	for i, compute := range []bool{false, true} {
		app, _ := benchDatabase(b, compute)
		sides[i] = app.NewEcho()
	}
	var next [2]atomic.Int64
	sideBySide(b, "counts", [2]string{"table", "computed"}, []string{"op=create", "op=update"}, func(b *testing.B, c, sd int) {
		e := sides[sd]
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if c == 0 {
					serveParallel(b, e, "POST", "/api/bench_posts", `{"userId":1,"title":"new","views":0}`, 201)
					continue
				}
				// Live rows have odd ids: the seed deletes every other row,
				// from the second.
				id := 1 + 2*(next[sd].Add(1)%(benchRows/2))
				serveParallel(b, e, "PATCH", "/api/bench_posts/"+strconv.FormatInt(id, 10), `{"views":7}`, 200)
			}
		})
	})
}

// serveParallel is serve for RunParallel's goroutines, which may report a
// failure but not stop the benchmark.
func serveParallel(b *testing.B, e *echo.Echo, method, url, body string, want int) {
	r := httptest.NewRequest(method, url, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	if rec.Code != want {
		b.Errorf("%s %s: %d %s", method, url, rec.Code, rec.Body.String())
	}
}
