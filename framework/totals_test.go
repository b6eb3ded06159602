package framework_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// ownPostsPolicy lets users read, write and count their own posts only.
const ownPostsPolicy = `
p, admin, *, *
p, user, oposts, read:own
p, user, oposts, create:own
p, user, oposts, update:own
p, user, oposts, delete:own
p, reader, oposts, read:own
`

// TestFilteredTotalsFollowEveryWrite: the total of a filtered list, kept
// by an instance between requests, is right after every kind of write to
// the table, made through the other instance or by hand, and is kept per
// caller: two callers who each see their own rows get their own totals.
// A repeated request, with nothing written in between, counts nothing.
func TestFilteredTotalsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	dbA, dbB := dbtest.OpenPair(t)
	queries := &capturedQueries{}
	dbA.AddQueryHook(queries)
	instance := func(db *bun.DB) *harness {
		return buildApp(t, appSpec{db: db, config: func(c *framework.Config) { c.Policy = ownPostsPolicy },
			models: []func(*framework.App) error{registered[OPost](), registered[OComment]()}})
	}
	a, b := instance(dbA), instance(dbB)
	for i := range 6 {
		token := userToken
		if i%2 == 1 {
			token = readerToken // user 3
		}
		if rec := b.Do(t, request{Token: adminToken, Method: http.MethodPost, URL: "/api/oposts", Body: fmt.Sprintf(`{"userId":%d,"title":"go %d"}`, map[string]int{userToken: 2, readerToken: 3}[token], i)}); rec.Code != http.StatusCreated {
			t.Fatalf("seed: %d %s", rec.Code, rec.Body)
		}
	}
	filter := "/api/oposts?filter=" + url.QueryEscape(`title ~ "go"`)
	total := func(h *harness, token string) int64 {
		t.Helper()
		rec := h.Do(t, request{Token: token, Method: http.MethodGet, URL: filter})
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", filter, rec.Code, rec.Body)
		}
		n, _ := metaObj(t, rec.Body.Bytes())["total"].(float64)
		return int64(n)
	}
	counts := func() int {
		queries.mu.Lock()
		defer queries.mu.Unlock()
		n := 0
		for _, q := range queries.sql {
			if strings.Contains(q, "count(*)") && strings.Contains(q, "oposts") {
				n++
			}
		}
		return n
	}
	want := func(step string, admin, user, reader int64) {
		t.Helper()
		for _, c := range []struct {
			token string
			n     int64
		}{{adminToken, admin}, {userToken, user}, {readerToken, reader}} {
			if got := total(a, c.token); got != c.n {
				t.Fatalf("%s: %s's total through A is %d, want %d", step, c.token, got, c.n)
			}
		}
		// Asked again, with nothing written: no count.
		before := counts()
		for _, token := range []string{adminToken, userToken, readerToken} {
			total(a, token)
		}
		if after := counts(); after != before {
			t.Fatalf("%s: totals asked again counted %d times", step, after-before)
		}
	}
	write := func(step string, h *harness, token, method, url, body string, status int) {
		t.Helper()
		if rec := h.Do(t, request{Token: token, Method: method, URL: url, Body: body}); rec.Code != status {
			t.Fatalf("%s: %s %s: %d %s", step, method, url, rec.Code, rec.Body)
		}
	}
	ctx := context.Background()
	want("seeded", 6, 3, 3)
	if counts() == 0 {
		t.Fatal("no count of oposts seen: the check of cached totals would prove nothing")
	}
	write("create through B", b, userToken, http.MethodPost, "/api/oposts", `{"title":"go on"}`, http.StatusCreated)
	want("create through B", 7, 4, 3)
	write("rename through B", b, userToken, http.MethodPatch, "/api/oposts/1", `{"title":"stop"}`, http.StatusOK)
	want("rename through B", 6, 3, 3)
	write("soft delete through B", b, readerToken, http.MethodDelete, "/api/oposts/2", "", http.StatusForbidden)
	write("soft delete through B", b, adminToken, http.MethodDelete, "/api/oposts/2", "", http.StatusOK)
	want("soft delete through B", 5, 3, 2)
	write("restore through B", b, adminToken, http.MethodPost, "/api/oposts/2/restore", "", http.StatusOK)
	want("restore through B", 6, 3, 3)
	if _, err := dbB.ExecContext(ctx, "UPDATE oposts SET title = 'by hand' WHERE id = 3"); err != nil {
		t.Fatal(err)
	}
	want("an UPDATE by hand", 5, 2, 3)
	if _, err := dbB.ExecContext(ctx, "UPDATE oposts SET user_id = 3 WHERE id = 5"); err != nil {
		t.Fatal(err)
	}
	want("an owner changed by hand", 5, 1, 4)
	write("permanent delete through B", b, adminToken, http.MethodDelete, "/api/oposts/4?permanent=true", "", http.StatusOK)
	want("permanent delete through B", 4, 1, 3)
	if _, err := dbB.ExecContext(ctx, "DELETE FROM oposts"); err != nil {
		t.Fatal(err)
	}
	want("a DELETE by hand", 0, 0, 0)
}

// TestFilteredTotalsUnderConcurrentWrites: while writers add matching rows
// through two instances, readers ask for the filtered total; every total
// read lies between the rows committed before the request and after it,
// and once the writers are done, every instance reads the exact total.
func TestFilteredTotalsUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	dbA, dbB := dbtest.OpenPair(t)
	instance := func(db *bun.DB) *harness {
		return buildApp(t, appSpec{db: db, models: []func(*framework.App) error{registered[BenchPost]()}})
	}
	a, b := instance(dbA), instance(dbB)
	filter := "/api/bench_posts?filter=" + url.QueryEscape(`title ~ "hit"`)
	read := func(h *harness) int64 {
		rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: filter})
		if rec.Code != http.StatusOK {
			t.Errorf("GET: %d %s", rec.Code, rec.Body)
			return -1
		}
		n, _ := metaObj(t, rec.Body.Bytes())["total"].(float64)
		return int64(n)
	}
	// Each harness moves the key sequences past the rows there on its
	// first request (apitest's SyncSequences); that must not happen while
	// the other one's writers insert.
	read(a)
	read(b)
	const writers, each = 4, 15
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		committed int64
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := []*harness{a, b}[w%2]
			for i := range each {
				body := fmt.Sprintf(`{"userId":1,"title":"hit %d-%d","views":1}`, w, i)
				if rec := h.Do(t, request{Token: adminToken, Method: http.MethodPost, URL: "/api/bench_posts", Body: body}); rec.Code != http.StatusCreated {
					t.Errorf("create: %d %s", rec.Code, rec.Body)
					return
				}
				mu.Lock()
				committed++
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		for _, h := range []*harness{a, b} {
			mu.Lock()
			low := committed
			mu.Unlock()
			got := read(h)
			mu.Lock()
			high := committed
			mu.Unlock()
			// A row is counted from its commit, which comes just before
			// the writer's response: one in flight per writer.
			if got < low || got > high+writers {
				t.Fatalf("a total read %d, with %d to %d rows committed", got, low, high)
			}
		}
	}
	for _, h := range []*harness{a, b, a, b} {
		if got := read(h); got != writers*each {
			t.Fatalf("after the writers: total %d, want %d", got, writers*each)
		}
	}
}
