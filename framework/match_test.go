package framework_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestContainsIgnoresCaseAsTheEngineDoes: ~ and [like] ignore the case of
// ASCII letters on both engines. Beyond ASCII, SQLite's LIKE respects case
// ("É" is not "é"); PostgreSQL's ILIKE folds as the database's LC_CTYPE
// does, which the test asks the database (a C locale folds ASCII only).
func TestContainsIgnoresCaseAsTheEngineDoes(t *testing.T) {
	t.Parallel()
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[BenchPost]()}})
	for _, title := range []string{"Hello World", "École d'été", "straße"} {
		rec := h.Do(t, request{Token: adminToken, Method: http.MethodPost, URL: "/api/bench_posts", Body: `{"userId":1,"title":"` + title + `","views":1}`})
		if rec.Code != http.StatusCreated {
			t.Fatalf("create %q: %d %s", title, rec.Code, rec.Body)
		}
	}
	foldsBeyondASCII := false
	if dbtest.Current() == dbtest.Postgres {
		if err := h.DB.NewRaw("SELECT lower('É') = 'é'").Scan(context.Background(), &foldsBeyondASCII); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{"filter=" + url.QueryEscape(`title ~ "hello"`), 1},
		{"filter=" + url.QueryEscape(`title ~ "WORLD"`), 1},
		{"filter=" + url.QueryEscape(`title !~ "WORLD"`), 2},
		{"title[like]=" + url.QueryEscape("hELLO*"), 1},
		{"filter=" + url.QueryEscape(`title ~ "COLE D"`), 1},
		{"filter=" + url.QueryEscape(`title ~ "école"`), map[bool]int{false: 0, true: 1}[foldsBeyondASCII]},
		{"filter=" + url.QueryEscape(`title ~ "ÉTÉ"`), map[bool]int{false: 0, true: 1}[foldsBeyondASCII]},
		{"filter=" + url.QueryEscape(`title ~ "École"`), 1},
		{"filter=" + url.QueryEscape(`title ~ "STRASSE"`), 0}, // no engine expands ß
		{"filter=" + url.QueryEscape(`title ~ "%"`), 0},       // LIKE's wildcards are literal
		{"title[like]=" + url.QueryEscape("*_*"), 0},
	} {
		rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: "/api/bench_posts?count=false&" + c.query})
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.query, rec.Code, rec.Body)
		}
		if got := len(listOf(t, rec.Body.Bytes())); got != c.want {
			t.Errorf("%s (engine %v, folds beyond ASCII %v): %d rows, want %d: %s", c.query, dbtest.Current(), foldsBeyondASCII, got, c.want, rec.Body)
		}
	}
}
