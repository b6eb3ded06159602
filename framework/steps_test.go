package framework_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"
)

// step is one request of a sequence played against one app and database,
// and what its answer must (not) contain.
type step struct {
	name, token, method, url, body string
	status                         int
	want, never                    string
}

// playSteps runs steps in order against h; each sees the effects of those
// before it, and the first failure stops the sequence.
func playSteps(t *testing.T, h *harness, steps []step) {
	t.Helper()
	for _, s := range steps {
		rec := h.do(t, request{Token: s.token, Method: s.method, URL: s.url, Body: s.body})
		body := rec.Body.String()
		if rec.Code != s.status || !strings.Contains(body, s.want) || (s.never != "" && strings.Contains(body, s.never)) {
			t.Fatalf("%s: %s %s: %d %s, want %d with %q and without %q", s.name, s.method, s.url, rec.Code, body, s.status, s.want, s.never)
		}
	}
}

// explain returns SQLite's query plan for query, one detail per step.
func explain(t *testing.T, db *bun.DB, query string) string {
	t.Helper()
	var plan []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := db.NewRaw("EXPLAIN QUERY PLAN "+query).Scan(context.Background(), &plan); err != nil {
		t.Fatal(err)
	}
	details := make([]string, len(plan))
	for i, p := range plan {
		details[i] = p.Detail
	}
	return strings.Join(details, "; ")
}
