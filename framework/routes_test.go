package framework_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/autoapi-go/autoapi/framework"
)

// TestMethodsAndAllow: every path of the API answers OPTIONS with 204 and
// a method it does not serve with 405, both with the same Allow; HEAD is
// served wherever GET is; a sub-path that does not exist is a 404.
func TestMethodsAndAllow(t *testing.T) {
	app, db := newTestApp(t, nil)
	h := newHarness(app, db)
	const (
		item       = "DELETE, GET, HEAD, OPTIONS, PATCH"
		collection = "DELETE, GET, HEAD, OPTIONS, POST"
		restore    = "OPTIONS, POST"
		readOnly   = "GET, HEAD, OPTIONS"
	)
	for _, c := range []struct {
		method, url string
		status      int
		allow       string
	}{
		{"OPTIONS", "/api/widgets/1", 204, item},
		{"PUT", "/api/widgets/1", 405, item},
		{"POST", "/api/widgets/1", 405, item},
		{"OPTIONS", "/api/widgets", 204, collection},
		{"PUT", "/api/widgets", 405, collection},
		{"PATCH", "/api/widgets", 405, collection},
		{"GET", "/api/widgets/1/restore", 405, restore},
		{"DELETE", "/api/widgets/1/restore", 405, restore},
		{"OPTIONS", "/api/widgets/1/restore", 204, restore},
		{"GET", "/api/widgets/restore", 405, restore},
		{"PUT", "/api/widgets/permissions", 405, readOnly},
		{"OPTIONS", "/api/widgets/permissions", 204, readOnly},
		{"POST", "/api/permissions", 405, readOnly},
		{"OPTIONS", "/api/permissions", 204, readOnly},
		{"HEAD", "/api/widgets/1", 200, ""},
		{"HEAD", "/api/widgets", 200, ""},
		{"HEAD", "/api/widgets/999", 404, ""},
		{"GET", "/api/widgets/1/nothing", 404, ""},
		{"GET", "/api/widgets/1/restore/more", 404, ""},
		// Without soft deletes there is no restore route at all.
		{"POST", "/api/tags/1/restore", 404, ""},
		{"POST", "/api/tags/restore", 404, ""},
		{"OPTIONS", "/api/tags/1", 204, item},
		{"GET", "/api/nothing", 404, ""},
	} {
		rec := h.Do(t, request{Token: adminToken, Method: c.method, URL: c.url})
		if rec.Code != c.status || rec.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q (%s)", c.method, c.url, rec.Code, rec.Header().Get("Allow"), c.status, c.allow, rec.Body.String())
		}
	}
}

// TestEveryRouteChecksItsQuery: a parameter an operation does not take,
// or one given twice, is a 400 naming it, and the request changes
// nothing.
func TestEveryRouteChecksItsQuery(t *testing.T) {
	app, db := newTestApp(t, nil)
	h := newHarness(app, db)
	for _, c := range []struct {
		method, url, body, param string
	}{
		{"POST", "/api/widgets?x=1", `{"name":"new","qty":1}`, "x"},
		{"POST", "/api/widgets?userId=3", `{"name":"new","qty":1}`, "userId"},
		{"PATCH", "/api/widgets/1?name=z", `{"name":"changed"}`, "name"},
		{"PATCH", "/api/widgets/1?includeDeleted=true", `{"name":"changed"}`, "includeDeleted"},
		{"POST", "/api/widgets/4/restore?x=1", "", "x"},
		{"DELETE", "/api/widgets/1?x=1", "", "x"},
		{"DELETE", "/api/widgets/1?permanent=true&permanent=true", "", "permanent"},
		{"GET", "/api/widgets/permissions?x=1", "", "x"},
		{"GET", "/api/permissions?x=1", "", "x"},
		{"GET", "/api/permissions?a=1;b=2", "", ""},
	} {
		rec := h.Do(t, request{Token: adminToken, Method: c.method, URL: c.url, Body: c.body})
		if rec.Code != http.StatusBadRequest || (c.param != "" && !strings.Contains(rec.Body.String(), `"field":"`+c.param+`"`)) {
			t.Errorf("%s %s: %d %s, want 400 naming %q", c.method, c.url, rec.Code, rec.Body.String(), c.param)
		}
	}
	// Nothing changed: no new widget, widget 1 as seeded and live,
	// widget 4 still deleted.
	for _, where := range []string{"name = 'new'", "name = 'changed'", "id = 1 AND deleted_at IS NOT NULL", "id = 4 AND deleted_at IS NULL"} {
		n, err := db.NewSelect().Table("widgets").Where(where).Count(context.Background())
		if err != nil || n != 0 {
			t.Errorf("%d widgets where %s after refused requests (%v)", n, where, err)
		}
	}
}

// TestClientChosenKeys: a string key is required on create, not empty,
// never a route name the framework uses, and never changed by a PATCH.
func TestClientChosenKeys(t *testing.T) {
	app, db := newTestApp(t, nil)
	h := newHarness(app, db)
	playSteps(t, h, []step{
		{"a key is required", adminToken, "POST", "/api/countries", `{"name":"Norway"}`, 422, `"field":"code","message":"is required: the key is chosen by the client"`, ""},
		{"not empty", adminToken, "POST", "/api/countries", `{"code":"","name":"Norway"}`, 422, `"field":"code","message":"must not be empty"`, ""},
		{"not a route name", adminToken, "POST", "/api/countries", `{"code":"permissions","name":"P"}`, 422, `"field":"code"`, ""},
		{"nor the other", adminToken, "POST", "/api/countries", `{"code":"restore","name":"R"}`, 422, `"field":"code"`, ""},
		{"not one a path must escape", adminToken, "POST", "/api/countries", `{"code":"a/b","name":"S"}`, 422, `"field":"code","message":"must be usable in a URL path as it is`, ""},
		{"nor an escape itself", adminToken, "POST", "/api/countries", `{"code":"a%2Fb","name":"S"}`, 422, `"field":"code"`, ""},
		{"nor a space", adminToken, "POST", "/api/countries", `{"code":"a b","name":"S"}`, 422, `"field":"code"`, ""},
		{"nor a dot segment", adminToken, "POST", "/api/countries", `{"code":".","name":"S"}`, 422, `"field":"code","message":"must not be \".\", which clients remove from paths"`, ""},
		{"nor two", adminToken, "POST", "/api/countries", `{"code":"..","name":"S"}`, 422, `"field":"code"`, ""},
		{"a good key", adminToken, "POST", "/api/countries", `{"code":"no","name":"Norway"}`, 201, `"code":"no"`, ""},
		{"the permissions route stays the permissions", adminToken, "GET", "/api/countries/permissions", "", 200, `"read":"all"`, "Norway"},
		{"a key never changes", adminToken, "PATCH", "/api/countries/no", `{"code":"nn"}`, 400, `"field":"code","message":"read-only field"`, ""},
		{"not even to itself", adminToken, "PATCH", "/api/countries/no", `{"code":"no","name":"Noreg"}`, 400, `"field":"code"`, ""},
		{"the row is as it was", adminToken, "GET", "/api/countries/no", "", 200, `"name":"Norway"`, ""},
	})
}

// TestRoutesComeFromTheTable: every route Echo has is an operation of the
// table, the HEAD of a GET one, or one the table's paths imply (OPTIONS,
// the 405s, the 404 catch-alls); and every operation of the table answers
// with a status the table lists for it.
func TestRoutesComeFromTheTable(t *testing.T) {
	app, db := newTestApp(t, nil)
	h := newHarness(app, db)
	table := framework.TableOf(app)
	inTable := map[string]bool{}
	paths := map[string]bool{}
	for _, r := range table {
		inTable[r.Method+" "+r.Path] = true
		paths[r.Path] = true
	}
	for _, r := range h.E.Routes() {
		key := r.Method + " " + r.Path
		switch {
		case inTable[key]:
		case r.Method == http.MethodHead && inTable["GET "+r.Path]:
		case paths[r.Path] && strings.HasSuffix(r.Name, "addMethodRoutes.func1") && r.Method == http.MethodOptions:
		case paths[r.Path] && strings.Contains(r.Name, "addMethodRoutes.func2"):
		case strings.HasSuffix(r.Name, "framework.notFound"):
			// POST /R/restore of a resource without soft deletes, and
			// RouteNotFound for /R/:id/*: both answer 404 and serve nothing.
		default:
			t.Errorf("route %s (%s) is not in the table", key, r.Name)
		}
	}
	for _, r := range table {
		url := strings.ReplaceAll(r.Path, ":id", "1")
		if (r.Method == http.MethodDelete || strings.HasSuffix(r.Path, "/restore")) && !strings.Contains(r.Path, ":id") {
			url += "?id=3" // a bulk operation needs a filter
		}
		body := ""
		if r.Method == http.MethodPost && !strings.HasSuffix(r.Path, "restore") || r.Method == http.MethodPatch {
			body = `{}`
		}
		rec := h.Do(t, request{Token: adminToken, Method: r.Method, URL: url, Body: body})
		if !slices.Contains(r.Statuses, rec.Code) {
			t.Errorf("%s %s: %d, which the table does not list (%v): %s", r.Method, url, rec.Code, r.Statuses, rec.Body)
		}
	}
}
