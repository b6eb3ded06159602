package framework_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
)

// TestHardDelete covers the model without a soft-delete column.
func TestHardDelete(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{Name: "tags/delete removes the row",
			Request:         request{Token: userToken, Method: del, URL: "/api/tags/1"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"success":true,"softDeleted":false,"message":"Record permanently deleted"}`},
			After: func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				if rows, _ := rowCount(t, h.DB, "tags", "", 1); rows != 0 {
					t.Errorf("row 1 still in the database")
				}
				for _, tok := range []string{userToken, adminToken} {
					if got := h.Do(t, request{Token: tok, Method: get, URL: "/api/tags/1"}); got.Code != 404 {
						t.Errorf("GET after delete as %s: %d", tok, got.Code)
					}
				}
				if got := h.Do(t, request{Token: userToken, Method: del, URL: "/api/tags/1"}); got.Code != 404 {
					t.Errorf("second DELETE: %d, want 404", got.Code)
				}
			}},
		{Name: "tags/delete missing record",
			Request:        request{Token: userToken, Method: del, URL: "/api/tags/999"},
			ExpectedStatus: 404},
		{Name: "tags/there is no restore route",
			Request:        request{Token: adminToken, Method: post, URL: "/api/tags/1/restore"},
			ExpectedStatus: 404},
		// A generated restore would answer 403 or 401 before anything else.
		{Name: "tags/there is no restore route for a user either",
			Request:        request{Token: userToken, Method: post, URL: "/api/tags/1/restore"},
			ExpectedStatus: 404},
		{Name: "tags/there is no restore route for anonymous either",
			Request:        request{Method: post, URL: "/api/tags/1/restore"},
			ExpectedStatus: 404},
		{Name: "tags/admin list has no deletion column",
			Request:            request{Token: adminToken, Method: get, URL: "/api/tags"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`{"data":[{"id":1,"name":"alpha","qty":10}`, `"meta":{"total":3,"limit":20,"offset":0`},
			NotExpectedContent: []string{"deleted"}},
		{Name: "tags/create and patch",
			Request:         request{Token: userToken, Method: post, URL: "/api/tags", Body: `{"name":"echo","qty":1}`},
			ExpectedStatus:  201,
			ExpectedContent: []string{`{"data":{"id":4,"name":"echo","qty":1}}`},
			ExpectedHeaders: map[string]string{"Location": "/api/tags/4"},
			After: func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				got := h.Do(t, request{Token: userToken, Method: patch, URL: "/api/tags/4", Body: `{"name":"foxtrot"}`})
				if got.Code != 200 || got.Body.String() != `{"data":{"id":4,"name":"foxtrot","qty":1}}` {
					t.Errorf("PATCH: %d %s", got.Code, got.Body)
				}
			}},
		{Name: "tags/unique violation is a conflict naming the field",
			Request:            request{Token: userToken, Method: post, URL: "/api/tags", Body: `{"name":"alpha","qty":1}`},
			ExpectedStatus:     409,
			ExpectedContent:    []string{fieldErr("name")},
			NotExpectedContent: []string{"UNIQUE", "constraint", "tags.name"}},
		{Name: "countries/default order is the primary key ascending",
			Request:         request{Token: userToken, Method: get, URL: "/api/countries"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"data":[{"code":"de","name":"Germany"}`},
			After:           inOrder(`"code":"de"`, `"code":"fr"`, `"code":"se"`)},
		{Name: "countries/sort by another field still works",
			Request:        request{Token: userToken, Method: get, URL: "/api/countries?sort=-name"},
			ExpectedStatus: 200,
			After:          inOrder(`"code":"se"`, `"code":"de"`, `"code":"fr"`)},
		{Name: "countries/client-chosen string key",
			Request:         request{Token: userToken, Method: post, URL: "/api/countries", Body: `{"code":"it","name":"Italy"}`},
			ExpectedStatus:  201,
			ExpectedHeaders: map[string]string{"Location": "/api/countries/it"},
			ExpectedContent: []string{`{"data":{"code":"it","name":"Italy"}}`}},
	})
}

// TestHiddenField checks that a json:"-" field can neither be set nor
// seen. (checkEnvelope also rejects any response with a seeded secret.)
func TestHiddenField(t *testing.T) {
	t.Parallel()
	var cases []scenario
	for _, key := range []string{"secret", "Secret"} {
		cases = append(cases,
			scenario{Name: "create with " + key,
				Request:         request{Token: adminToken, Method: post, URL: "/api/widgets", Body: `{"name":"echo","qty":1,"` + key + `":"x"}`},
				ExpectedStatus:  400,
				ExpectedContent: []string{fieldErr(key), "unknown field"}},
			scenario{Name: "patch with " + key,
				Request:         request{Token: adminToken, Method: patch, URL: "/api/widgets/1", Body: `{"` + key + `":"x"}`},
				ExpectedStatus:  400,
				ExpectedContent: []string{fieldErr(key), "unknown field"}},
			scenario{Name: "filter on " + key,
				Request:        request{Token: adminToken, Method: get, URL: "/api/widgets?" + key + "=x"},
				ExpectedStatus: 400},
			scenario{Name: "sort on " + key,
				Request:        request{Token: adminToken, Method: get, URL: "/api/widgets?sort=" + key},
				ExpectedStatus: 400},
		)
	}
	for _, c := range []struct {
		r      request
		status int
	}{
		{request{Token: adminToken, Method: get, URL: "/api/widgets?includeDeleted=true"}, 200},
		{request{Token: adminToken, Method: get, URL: "/api/widgets/4"}, 200},
		{request{Token: adminToken, Method: post, URL: "/api/widgets", Body: `{"name":"echo","qty":1}`}, 201},
		{request{Token: adminToken, Method: patch, URL: "/api/widgets/1", Body: `{"qty":2}`}, 200},
		{request{Token: adminToken, Method: post, URL: "/api/widgets/4/restore"}, 200},
	} {
		cases = append(cases, scenario{Name: "never shown: " + c.r.Method + " " + c.r.URL,
			Request:            c.r,
			ExpectedStatus:     c.status,
			NotExpectedContent: []string{"secret", "Secret", secretPrefix}})
	}
	runScenarios(t, cases)
}

// TestListLimits checks the default and maximum page sizes, built in and
// configured.
func TestListLimits(t *testing.T) {
	t.Parallel()
	moreTags := func(t *testing.T, _ *framework.App, db *bun.DB) {
		for i := 4; i <= 130; i++ {
			row := map[string]any{"id": i, "name": fmt.Sprintf("tag-%03d", i), "qty": i}
			if _, err := db.NewInsert().Model(&row).TableExpr("tags").Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(n int) func(*testing.T, *harness, *httptest.ResponseRecorder) {
		return func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
			if got := len(listOf(t, rec.Body.Bytes())); got != n {
				t.Errorf("got %d rows, want %d", got, n)
			}
		}
	}
	small := func(c *framework.Config) { c.DefaultLimit, c.MaxLimit = 2, 3 }
	runScenarios(t, []scenario{
		{Name: "default limit is 20",
			Request: request{Token: userToken, Method: get, URL: "/api/tags"}, Setup: moreTags,
			ExpectedStatus: 200, ExpectedContent: []string{`"meta":{"total":130,"limit":20,"offset":0`}, After: count(20)},
		{Name: "limit 100 is the maximum",
			Request: request{Token: userToken, Method: get, URL: "/api/tags?limit=100"}, Setup: moreTags,
			ExpectedStatus: 200, ExpectedContent: []string{`"meta":{"total":130,"limit":100,"offset":0`}, After: count(100)},
		{Name: "limit 101 is too many",
			Request: request{Token: userToken, Method: get, URL: "/api/tags?limit=101"}, Setup: moreTags,
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("limit")}},
		{Name: "last page",
			Request: request{Token: userToken, Method: get, URL: "/api/tags?limit=100&offset=100"}, Setup: moreTags,
			ExpectedStatus: 200, ExpectedContent: []string{`"meta":{"total":130,"limit":100,"offset":100`}, After: count(30)},
		{Name: "configured default limit",
			Request: request{Token: userToken, Method: get, URL: "/api/tags"}, Config: small,
			ExpectedStatus: 200, ExpectedContent: []string{`"meta":{"total":3,"limit":2,"offset":0`}, After: count(2)},
		{Name: "configured maximum is allowed",
			Request: request{Token: userToken, Method: get, URL: "/api/tags?limit=3"}, Config: small,
			ExpectedStatus: 200, ExpectedContent: []string{`"meta":{"total":3,"limit":3,"offset":0`}, After: count(3)},
		{Name: "above the configured maximum",
			Request: request{Token: userToken, Method: get, URL: "/api/tags?limit=4"}, Config: small,
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("limit")}},
	})
}

// TestErrors checks that every kind of failure is problem+json and says
// nothing about the server's internals.
func TestErrors(t *testing.T) {
	t.Parallel()
	dropWidgets := func(t *testing.T, _ *framework.App, db *bun.DB) {
		if _, err := db.NewDropTable().Table("widgets").Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	internals := []string{"SELECT", "select", "INSERT", "UPDATE", "no such table", "sqlite", "SQL"}
	panicky := func(t *testing.T, app *framework.App, _ *bun.DB) {
		err := app.Override("widgets", framework.OpGet, func(*framework.Context) error {
			panic("kaboom: secret internal state")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	failing := func(t *testing.T, app *framework.App, _ *bun.DB) {
		err := app.Override("widgets", framework.OpList, func(*framework.Context) error {
			return errors.New("dial tcp 10.0.0.7:5432: connection refused")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	runScenarios(t, []scenario{
		{Name: "unknown route under the prefix",
			Request: request{Token: userToken, Method: get, URL: "/api/nope"}, ExpectedStatus: 404},
		{Name: "unknown route outside the prefix",
			Request: request{Method: get, URL: "/elsewhere"}, ExpectedStatus: 404},
		{Name: "PUT on an item is not allowed",
			Request: request{Token: userToken, Method: http.MethodPut, URL: "/api/widgets/1", Body: `{"name":"x"}`}, ExpectedStatus: 405},
		{Name: "PUT on the collection is not allowed",
			Request: request{Token: userToken, Method: "PUT", URL: "/api/widgets"}, ExpectedStatus: 405},
		{Name: "DELETE on the collection needs a filter",
			Request: request{Token: userToken, Method: del, URL: "/api/widgets"}, ExpectedStatus: 400,
			ExpectedContent: []string{"at least one filter"}},
		{Name: "a panicking handler is a 500 without the panic",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets/1"}, Setup: panicky,
			ExpectedStatus: 500, NotExpectedContent: []string{"kaboom", "secret", "goroutine", ".go:", "PANIC", "panic"}},
		{Name: "an error returned by an override is a 500 without its text",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets"}, Setup: failing,
			ExpectedStatus: 500, NotExpectedContent: []string{"10.0.0.7", "refused", "dial"}},
		{Name: "database error on list",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets"}, Setup: dropWidgets,
			ExpectedStatus: 500, NotExpectedContent: internals},
		{Name: "database error on get",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets/1"}, Setup: dropWidgets,
			ExpectedStatus: 500, NotExpectedContent: internals},
		{Name: "database error on create",
			Request: request{Token: userToken, Method: post, URL: "/api/widgets", Body: `{"name":"x","qty":1}`}, Setup: dropWidgets,
			ExpectedStatus: 500, NotExpectedContent: internals},
		{Name: "database error on update",
			Request: request{Token: userToken, Method: patch, URL: "/api/widgets/1", Body: `{"qty":2}`}, Setup: dropWidgets,
			ExpectedStatus: 500, NotExpectedContent: internals},
		{Name: "database error on delete",
			Request: request{Token: userToken, Method: del, URL: "/api/widgets/1"}, Setup: dropWidgets,
			ExpectedStatus: 500, NotExpectedContent: internals},
		{Name: "database error on restore",
			Request: request{Token: adminToken, Method: post, URL: "/api/widgets/4/restore"}, Setup: dropWidgets,
			ExpectedStatus: 500, NotExpectedContent: internals},
		{Name: "the caller's request id is echoed",
			Request:         request{Token: userToken, Method: get, URL: "/api/nope", Headers: map[string]string{"X-Request-Id": "req-42"}},
			ExpectedStatus:  404,
			ExpectedHeaders: map[string]string{"X-Request-Id": "req-42"}},
	})
}

// TestRequestIDs checks which request ids a caller may choose: an
// acceptable one is echoed, anything longer than 128 bytes or outside
// [A-Za-z0-9._:-] is replaced by a generated one.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	generated := regexp.MustCompile(`^[A-Z2-7]{26}$`)
	var cases []scenario
	for _, c := range []struct {
		name, id string
		kept     bool
	}{
		{"plain", "req-42", true},
		{"every allowed character", "Az09._:-", true},
		{"a UUID", "6f1c2b9e-3d4a-4f5b-8c7d-0e1f2a3b4c5d", true},
		{"128 bytes", strings.Repeat("a", 128), true},
		{"129 bytes", strings.Repeat("a", 129), false},
		{"very long", strings.Repeat("x", 8000), false},
		{"a space", "req 42", false},
		{"a newline", "req\nX-Admin: 1", false},
		{"a carriage return", "req\r42", false},
		{"escaped newlines", `req\r\n42`, false},
		{"percent-escaped newlines", "req%0d%0a42", false},
		{"a tab", "req\t42", false},
		{"unicode", "réq-42", false},
		{"a quote", `req"42`, false},
		{"a slash", "req/42", false},
	} {
		cases = append(cases, scenario{Name: c.name,
			Request:        request{Method: get, URL: "/api/tags", Headers: map[string]string{"X-Request-Id": c.id}},
			ExpectedStatus: 200,
			After: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				got := rec.Header().Values("X-Request-Id")
				switch {
				case len(got) != 1:
					t.Errorf("X-Request-Id %q, want one value", got)
				case c.kept && got[0] != c.id:
					t.Errorf("X-Request-Id %q, want the caller's %q", got[0], c.id)
				case !c.kept && !generated.MatchString(got[0]):
					t.Errorf("X-Request-Id %q, want a generated one in place of %q", got[0], c.id)
				}
			}})
	}
	cases = append(cases, scenario{Name: "none sent",
		Request:        request{Method: get, URL: "/api/tags"},
		ExpectedStatus: 200,
		After: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
			if got := rec.Header().Get("X-Request-Id"); !generated.MatchString(got) {
				t.Errorf("X-Request-Id %q, want a generated one", got)
			}
		}})
	runScenarios(t, cases)
}

// TestAuth covers authentication failures and the 401/403 split.
func TestAuth(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{Name: "unknown bearer token",
			Request:        request{Token: "no-such-token", Method: get, URL: "/api/widgets"},
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "unknown bearer token on a public read is still rejected",
			Request:        request{Token: "no-such-token", Method: get, URL: "/api/tags"},
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "Basic credentials are malformed here",
			Request:        request{Method: get, URL: "/api/widgets", Headers: map[string]string{"Authorization": "Basic abc"}},
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "Bearer without a token",
			Request:        request{Method: get, URL: "/api/widgets", Headers: map[string]string{"Authorization": "Bearer "}},
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "anonymous denied is 401",
			Request:        request{Method: get, URL: "/api/ledgers"},
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "anonymous denied on a write is 401",
			Request:        request{Method: patch, URL: "/api/tags/1", Body: `{"qty":1}`},
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "authenticated denied is 403",
			Request:        request{Token: readerToken, Method: post, URL: "/api/tags", Body: `{"name":"x","qty":1}`},
			ExpectedStatus: 403, NotExpectedContent: []string{"Bearer"}},
		{Name: "anonymous allowed read on a granted resource",
			Request:        request{Method: get, URL: "/api/tags"},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"alpha"`}},
		{Name: "anonymous allowed item read on a granted resource",
			Request:        request{Method: get, URL: "/api/countries/de"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"code":"de","name":"Germany"}}`}},
		{Name: "reader reads what anonymous may not",
			Request:        request{Token: readerToken, Method: get, URL: "/api/ledgers/1"},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"alpha"`}},
	})
}

// TestRestoreNoExistenceOracle checks that a caller who may not restore
// gets the same answer whether or not the record exists.
func TestRestoreNoExistenceOracle(t *testing.T) {
	t.Parallel()
	for _, m := range softDeleteModels {
		t.Run(m.resource, func(t *testing.T) {
			t.Parallel()
			app, db := newTestApp(t, nil)
			h := newHarness(app, db)
			h.Subject = m
			for _, tok := range []string{userToken, ""} {
				var bodies []string
				for _, id := range []string{"4", "1", "999", "abc"} {
					rec := h.Do(t, request{Token: tok, Method: post, URL: "/api/" + m.resource + "/" + id + "/restore"})
					want := 403
					if tok == "" {
						want = 401
					}
					if rec.Code != want {
						t.Errorf("token %q, id %s: status %d, want %d", tok, id, rec.Code, want)
					}
					bodies = append(bodies, rec.Body.String())
				}
				for i := 1; i < len(bodies); i++ {
					if bodies[i] != bodies[0] {
						t.Errorf("token %q: answers differ by id:\n%s\n%s", tok, bodies[0], bodies[i])
					}
				}
			}
		})
	}
}

// TestPrefix checks that a custom Config.Prefix is used for every route.
func TestPrefix(t *testing.T) {
	t.Parallel()
	v1 := func(c *framework.Config) { c.Prefix = "/v1" }
	runScenarios(t, []scenario{
		{Name: "list under the prefix", Config: v1,
			Request:        request{Token: userToken, Method: get, URL: "/v1/widgets"},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"alpha"`}},
		{Name: "the default prefix is gone", Config: v1,
			Request:        request{Token: userToken, Method: get, URL: "/api/widgets"},
			ExpectedStatus: 404},
		{Name: "Location uses the prefix", Config: v1,
			Request:        request{Token: userToken, Method: post, URL: "/v1/widgets", Body: `{"name":"echo","qty":1}`},
			ExpectedStatus: 201, ExpectedHeaders: map[string]string{"Location": "/v1/widgets/5"}},
		{Name: "restore under the prefix", Config: v1,
			Request:        request{Token: adminToken, Method: post, URL: "/v1/widgets/4/restore"},
			ExpectedStatus: 200, ExpectedContent: []string{`"restored":true`}},
		{Name: "trailing slash is trimmed", Config: func(c *framework.Config) { c.Prefix = "/v2/" },
			Request:        request{Token: userToken, Method: get, URL: "/v2/widgets/1"},
			ExpectedStatus: 200},
	})
}

// TestBodyLimitWithoutContentLength checks that a body of unknown length
// is cut off at Config.MaxBodyBytes too.
func TestBodyLimitWithoutContentLength(t *testing.T) {
	t.Parallel()
	app, db := newTestApp(t, func(c *framework.Config) { c.MaxBodyBytes = 128 })
	e := app.NewEcho()
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"name":"` + strings.Repeat("x", 300) + `","qty":5}`, 413},
		{`{"name":"echo","qty":5}`, 201},
	} {
		// A reader that is neither *bytes.Reader nor *strings.Reader
		// leaves ContentLength unknown (-1), as a chunked upload would.
		req := httptest.NewRequest(post, "/api/widgets", io.MultiReader(strings.NewReader(c.body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+userToken)
		if req.ContentLength != -1 {
			t.Fatalf("ContentLength %d, want unknown", req.ContentLength)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		checkEnvelope(t, rec)
		if rec.Code != c.want {
			t.Errorf("%d-byte body of unknown length: %d %s, want %d", len(c.body), rec.Code, clip(rec.Body.String()), c.want)
		}
	}
	n, err := db.NewSelect().TableExpr("widgets").Where("length(name) > 100").Count(context.Background())
	if err != nil || n != 0 {
		t.Errorf("the oversized body was stored (%d rows, %v)", n, err)
	}
}

// TestConcurrentDeletesStampOnce checks that racing DELETEs of one row
// soft-delete it exactly once: one 200, the rest 404.
func TestConcurrentDeletesStampOnce(t *testing.T) {
	t.Parallel()
	app, db := newTestApp(t, nil)
	h := newHarness(app, db)
	h.Subject = widgets
	const n = 8
	codes := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			req := httptest.NewRequest(del, "/api/widgets/2", nil)
			req.Header.Set("Authorization", "Bearer "+userToken)
			rec := httptest.NewRecorder()
			h.E.ServeHTTP(rec, req)
			codes <- rec.Code
		}()
	}
	got := map[int]int{}
	for i := 0; i < n; i++ {
		got[<-codes]++
	}
	if got[200] != 1 || got[404] != n-1 {
		t.Errorf("status counts %v, want one 200 and %d 404s", got, n-1)
	}
	if d := adminGet(t, h, "2"); d == nil || d["deletedAt"] == nil {
		t.Errorf("row 2 not soft-deleted: %v", d)
	}
	if !strings.Contains(h.Do(t, request{Token: userToken, Method: get, URL: "/api/widgets"}).Body.String(), `"total":2,`) {
		t.Errorf("list after concurrent deletes is not 2 rows")
	}
}
