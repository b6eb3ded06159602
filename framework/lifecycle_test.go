package framework_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/autoapi-go/autoapi/framework"
)

const (
	get       = http.MethodGet
	post      = http.MethodPost
	patch     = http.MethodPatch
	del       = http.MethodDelete
	textPlain = "text/plain"
)

// TestSoftDeleteLifecycle runs the list, get, create, update, delete,
// restore and no-leak scenarios for every soft-delete spelling.
func TestSoftDeleteLifecycle(t *testing.T) {
	t.Parallel()
	for _, m := range softDeleteModels {
		t.Run(m.resource, func(t *testing.T) {
			t.Parallel()
			runScenarios(t, softDeleteScenarios(m))
		})
	}
}

// softDeleteScenarios generates the lifecycle scenarios for one
// soft-delete model. Rows 1..3 (alpha, bravo, charlie) are live, row 4
// (delta) was deleted at seedDeleted.
func softDeleteScenarios(m modelSpec) []scenario {
	base := "/api/" + m.resource
	key := `"` + m.deletedKey + `"`
	st := m.deletion()
	stamp := key + ":" + st.deadJSON
	live3 := `"meta":{"total":3,"limit":20,"offset":0`
	row1 := `{"data":{"id":1,"name":"alpha","qty":10`

	s := []scenario{
		// ---- list
		{Name: "list/user sees live rows in key order",
			Request:            request{Token: userToken, Method: get, URL: base},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`{"data":[{"id":1,"name":"alpha","qty":10`, `"name":"bravo"`, `"name":"charlie"`, live3},
			NotExpectedContent: []string{`"name":"delta"`},
			After:              inOrder(`"id":1,`, `"id":2,`, `"id":3,`)},
		anon(m, scenario{Name: "list/anonymous sees live rows",
			Request:            request{Method: get, URL: base},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"name":"alpha"`, live3},
			NotExpectedContent: []string{`"name":"delta"`}}),
		{Name: "list/admin sees live rows with a null deletion column",
			Request:            request{Token: adminToken, Method: get, URL: base},
			ExpectedStatus:     200,
			ExpectedContent:    []string{key + ":" + st.liveJSON, live3},
			NotExpectedContent: []string{`"name":"delta"`}},
		{Name: "list/offset and limit page through live rows",
			Request:            request{Token: userToken, Method: get, URL: base + "?limit=2&offset=1"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"name":"bravo"`, `"name":"charlie"`, `"meta":{"total":3,"limit":2,"offset":1`},
			NotExpectedContent: []string{`"name":"alpha"`, `"name":"delta"`}},
		{Name: "list/limit 100 is allowed",
			Request:         request{Token: userToken, Method: get, URL: base + "?limit=100"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`"meta":{"total":3,"limit":100,"offset":0`}},
		{Name: "list/limit 0 is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?limit=0"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("limit")}},
		{Name: "list/limit 101 is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?limit=101"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("limit")}},
		{Name: "list/non-numeric limit is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?limit=abc"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("limit")}},
		{Name: "list/negative offset is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?offset=-1"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("offset")}},
		{Name: "list/equality filter on a string",
			Request:            request{Token: userToken, Method: get, URL: base + "?name=bravo"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"name":"bravo"`, `"total":1,`},
			NotExpectedContent: []string{`"name":"alpha"`, `"name":"charlie"`}},
		{Name: "list/equality filter on an integer",
			Request:            request{Token: userToken, Method: get, URL: base + "?qty=30"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"name":"charlie"`, `"total":1,`},
			NotExpectedContent: []string{`"name":"alpha"`}},
		{Name: "list/filter on a deleted row's values finds nothing",
			Request:            request{Token: userToken, Method: get, URL: base + "?name=delta"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`{"data":[],"meta":{"total":0,`},
			NotExpectedContent: []string{`"name":"delta"`}},
		{Name: "list/non-integer value for an integer field is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?qty=abc"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("qty"), "integer"}},
		{Name: "list/unknown field is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?nope=1"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("nope")}},
		{Name: "list/parameter given twice is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?name=alpha&name=bravo"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("name")}},
		{Name: "list/sort descending",
			Request:        request{Token: userToken, Method: get, URL: base + "?sort=-qty"},
			ExpectedStatus: 200,
			After:          inOrder(`"name":"charlie"`, `"name":"bravo"`, `"name":"alpha"`)},
		{Name: "list/sort ascending by name",
			Request:        request{Token: userToken, Method: get, URL: base + "?sort=name"},
			ExpectedStatus: 200,
			After:          inOrder(`"name":"alpha"`, `"name":"bravo"`, `"name":"charlie"`)},
		{Name: "list/sort on unknown field is rejected",
			Request:         request{Token: userToken, Method: get, URL: base + "?sort=nope"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("sort"), `nope`}},

		// ---- includeDeleted
		{Name: "includeDeleted/admin sees deleted rows with their timestamp",
			Request:         request{Token: adminToken, Method: get, URL: base + "?includeDeleted=true"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`"name":"delta"`, stamp, `"meta":{"total":4,`}},
		{Name: "includeDeleted/false is accepted for admin",
			Request:            request{Token: adminToken, Method: get, URL: base + "?includeDeleted=false"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{live3},
			NotExpectedContent: []string{`"name":"delta"`}},
		{Name: "includeDeleted/false is accepted for user",
			Request:            request{Token: userToken, Method: get, URL: base + "?includeDeleted=false"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{live3},
			NotExpectedContent: []string{`"name":"delta"`}},
		{Name: "includeDeleted/user is forbidden",
			Request:            request{Token: userToken, Method: get, URL: base + "?includeDeleted=true"},
			ExpectedStatus:     403,
			NotExpectedContent: []string{`"name":"delta"`}},
		{Name: "includeDeleted/anonymous must authenticate",
			Request:            request{Method: get, URL: base + "?includeDeleted=true"},
			ExpectedStatus:     401,
			ExpectedHeaders:    bearer,
			NotExpectedContent: []string{`"name":"delta"`}},
		{Name: "includeDeleted/wrong case parameter is unknown",
			Request:         request{Token: adminToken, Method: get, URL: base + "?includedeleted=true"},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("includedeleted")}},
	}
	for _, v := range []string{"TRUE", "1", "yes", ""} {
		s = append(s, scenario{Name: "includeDeleted/value " + quoteName(v) + " is rejected",
			Request:         request{Token: adminToken, Method: get, URL: base + "?includeDeleted=" + v},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("includeDeleted")}})
	}

	// ---- the soft-delete column is invisible to callers without read_deleted
	s = append(s,
		scenario{Name: "leak/user filter on the deletion column is an unknown field",
			Request:         request{Token: userToken, Method: get, URL: base + "?" + m.deletedKey + "=" + st.deadParam},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr(m.deletedKey), "unknown query parameter or field"}},
		scenario{Name: "leak/user null filter on the deletion column is an unknown field",
			Request:         request{Token: userToken, Method: get, URL: base + "?" + m.deletedKey + "[null]=false"},
			ExpectedStatus:  400,
			ExpectedContent: []string{"unknown query parameter or field"}},
		scenario{Name: "leak/user sort on the deletion column is an unknown field",
			Request:         request{Token: userToken, Method: get, URL: base + "?sort=" + m.deletedKey},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("sort"), `unknown field \"` + m.deletedKey + `\"`}},
		anon(m, scenario{Name: "leak/anonymous filter on the deletion column is an unknown field",
			Request:         request{Method: get, URL: base + "?" + m.deletedKey + "=" + st.deadParam},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr(m.deletedKey), "unknown query parameter or field"}}),
		anon(m, scenario{Name: "leak/anonymous sort on the deletion column is an unknown field",
			Request:         request{Method: get, URL: base + "?sort=-" + m.deletedKey},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("sort"), `unknown field \"` + m.deletedKey + `\"`}}),
		scenario{Name: "leak/admin filters on the deletion timestamp",
			Request:            request{Token: adminToken, Method: get, URL: base + "?includeDeleted=true&" + m.deletedKey + "=" + st.deadParam},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"name":"delta"`, `"total":1,`},
			NotExpectedContent: []string{`"name":"alpha"`}},
		scenario{Name: "leak/admin null filter on the deletion column",
			Request:            request{Token: adminToken, Method: get, URL: base + "?includeDeleted=true&" + st.deletedFilter},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"name":"delta"`, `"total":1,`},
			NotExpectedContent: []string{`"name":"alpha"`}},
		scenario{Name: "leak/admin filter on the deletion column cannot widen past live rows",
			Request:         request{Token: adminToken, Method: get, URL: base + "?" + m.deletedKey + "=" + st.deadParam},
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"data":[],"meta":{"total":0,`}},
		scenario{Name: "leak/admin sorts on the deletion column",
			Request:        request{Token: adminToken, Method: get, URL: base + "?includeDeleted=true&sort=-" + m.deletedKey},
			ExpectedStatus: 200,
			After:          inOrder(`"name":"delta"`, `"name":"alpha"`)},
	)

	// ---- get
	s = append(s,
		scenario{Name: "get/user gets a live record",
			Request:         request{Token: userToken, Method: get, URL: base + "/1"},
			ExpectedStatus:  200,
			ExpectedContent: []string{row1}},
		anon(m, scenario{Name: "get/anonymous gets a live record",
			Request:         request{Method: get, URL: base + "/1"},
			ExpectedStatus:  200,
			ExpectedContent: []string{row1}}),
		scenario{Name: "get/admin sees a null deletion column",
			Request:         request{Token: adminToken, Method: get, URL: base + "/1"},
			ExpectedStatus:  200,
			ExpectedContent: []string{row1, key + ":" + st.liveJSON}},
		scenario{Name: "get/missing record",
			Request:        request{Token: userToken, Method: get, URL: base + "/999"},
			ExpectedStatus: 404},
		scenario{Name: "get/id that cannot be a key",
			Request:        request{Token: userToken, Method: get, URL: base + "/abc"},
			ExpectedStatus: 404},
		scenario{Name: "get/user cannot see a deleted record",
			Request:            request{Token: userToken, Method: get, URL: base + "/4"},
			ExpectedStatus:     404,
			NotExpectedContent: []string{`"name":"delta"`}},
		anon(m, scenario{Name: "get/anonymous cannot see a deleted record",
			Request:            request{Method: get, URL: base + "/4"},
			ExpectedStatus:     404,
			NotExpectedContent: []string{`"name":"delta"`}}),
		scenario{Name: "get/admin sees a deleted record with its timestamp",
			Request:         request{Token: adminToken, Method: get, URL: base + "/4"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"data":{"id":4,"name":"delta","qty":40`, stamp}},
		scenario{Name: "get/admin asking includeDeleted=false gets 404 for a deleted record",
			Request:        request{Token: adminToken, Method: get, URL: base + "/4?includeDeleted=false"},
			ExpectedStatus: 404},
		scenario{Name: "get/user asking includeDeleted=true is forbidden",
			Request:        request{Token: userToken, Method: get, URL: base + "/4?includeDeleted=true"},
			ExpectedStatus: 403},
	)

	// ---- create
	s = append(s,
		scenario{Name: "create/user creates a record",
			Request:         request{Token: userToken, Method: post, URL: base, Body: `{"name":"echo","qty":5}`},
			ExpectedStatus:  201,
			ExpectedContent: []string{`{"data":{"id":5,"name":"echo","qty":5`},
			ExpectedHeaders: map[string]string{"Location": base + "/5"},
			After:           checkCreated},
		scenario{Name: "create/admin sees a null deletion column",
			Request:         request{Token: adminToken, Method: post, URL: base, Body: `{"name":"echo","qty":5}`},
			ExpectedStatus:  201,
			ExpectedContent: []string{`"id":5,`, key + ":" + st.liveJSON}},
		scenario{Name: "create/id is read-only",
			Request:         request{Token: userToken, Method: post, URL: base, Body: `{"id":9,"name":"echo","qty":5}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("id")}},
		scenario{Name: "create/deletion column is read-only",
			Request:         request{Token: adminToken, Method: post, URL: base, Body: `{"name":"echo","qty":5,` + key + `:"` + seedDeletedJSON + `"}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr(m.deletedKey)}},
		scenario{Name: "create/user setting the deletion column is rejected",
			Request:         request{Token: userToken, Method: post, URL: base, Body: `{"name":"echo","qty":5,` + key + `:null}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr(m.deletedKey)}},
		scenario{Name: "create/unknown field",
			Request:         request{Token: userToken, Method: post, URL: base, Body: `{"name":"echo","qty":5,"bogus":1}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("bogus"), "unknown field"}},
		scenario{Name: "create/wrong JSON type for an integer",
			Request:         request{Token: userToken, Method: post, URL: base, Body: `{"name":"echo","qty":"many"}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("qty")}},
		scenario{Name: "create/wrong JSON type for a string",
			Request:         request{Token: userToken, Method: post, URL: base, Body: `{"name":7,"qty":1}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("name")}},
		scenario{Name: "create/malformed JSON",
			Request:        request{Token: userToken, Method: post, URL: base, Body: `{"name":`},
			ExpectedStatus: 400},
		scenario{Name: "create/array body",
			Request:        request{Token: userToken, Method: post, URL: base, Body: `[{"name":"echo"}]`},
			ExpectedStatus: 400},
		scenario{Name: "create/string body",
			Request:        request{Token: userToken, Method: post, URL: base, Body: `"echo"`},
			ExpectedStatus: 400},
		scenario{Name: "create/null body",
			Request:        request{Token: userToken, Method: post, URL: base, Body: `null`},
			ExpectedStatus: 400},
		scenario{Name: "create/empty body",
			Request:        request{Token: userToken, Method: post, URL: base, Headers: map[string]string{"Content-Type": "application/json"}},
			ExpectedStatus: 400},
		scenario{Name: "create/wrong content type",
			Request:        request{Token: userToken, Method: post, URL: base, Body: `{"name":"echo","qty":5}`, Headers: map[string]string{"Content-Type": textPlain}},
			ExpectedStatus: 415},
		scenario{Name: "create/body over MaxBodyBytes",
			Request:        request{Token: userToken, Method: post, URL: base, Body: `{"name":"` + strings.Repeat("x", 300) + `","qty":5}`},
			Config:         func(c *framework.Config) { c.MaxBodyBytes = 128 },
			ExpectedStatus: 413},
		scenario{Name: "create/body under MaxBodyBytes",
			Request:        request{Token: userToken, Method: post, URL: base, Body: `{"name":"echo","qty":5}`},
			Config:         func(c *framework.Config) { c.MaxBodyBytes = 128 },
			ExpectedStatus: 201},
		scenario{Name: "create/anonymous must authenticate",
			Request:         request{Method: post, URL: base, Body: `{"name":"echo","qty":5}`},
			ExpectedStatus:  401,
			ExpectedHeaders: bearer},
		scenario{Name: "create/reader is forbidden",
			Request:        request{Token: readerToken, Method: post, URL: base, Body: `{"name":"echo","qty":5}`},
			ExpectedStatus: 403},
	)
	for _, k := range []string{m.createdKey, m.updatedKey} {
		if k == "" {
			continue
		}
		s = append(s,
			scenario{Name: "create/" + k + " is read-only",
				Request:         request{Token: userToken, Method: post, URL: base, Body: `{"name":"echo","qty":5,"` + k + `":"` + seedCreatedJSON + `"}`},
				ExpectedStatus:  400,
				ExpectedContent: []string{fieldErr(k)}},
			scenario{Name: "update/" + k + " is read-only",
				Request:         request{Token: userToken, Method: patch, URL: base + "/1", Body: `{"` + k + `":"` + seedCreatedJSON + `"}`},
				ExpectedStatus:  400,
				ExpectedContent: []string{fieldErr(k)}},
		)
	}

	// ---- update
	s = append(s,
		scenario{Name: "update/partial update",
			Request:         request{Token: userToken, Method: patch, URL: base + "/1", Body: `{"qty":99}`},
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"data":{"id":1,"name":"alpha","qty":99`},
			After:           checkPatched},
		scenario{Name: "update/empty patch changes nothing",
			Request:         request{Token: userToken, Method: patch, URL: base + "/1", Body: `{}`},
			ExpectedStatus:  200,
			ExpectedContent: []string{row1}},
		scenario{Name: "update/id is read-only",
			Request:         request{Token: userToken, Method: patch, URL: base + "/1", Body: `{"id":7}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("id")}},
		scenario{Name: "update/deletion column is read-only",
			Request:         request{Token: adminToken, Method: patch, URL: base + "/1", Body: `{` + key + `:"` + seedDeletedJSON + `"}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr(m.deletedKey)},
			After:           checkUnchanged("1", "alpha", 10, "")},
		scenario{Name: "update/unknown field",
			Request:         request{Token: userToken, Method: patch, URL: base + "/1", Body: `{"bogus":true}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("bogus")}},
		scenario{Name: "update/wrong JSON type",
			Request:         request{Token: userToken, Method: patch, URL: base + "/1", Body: `{"qty":"lots"}`},
			ExpectedStatus:  400,
			ExpectedContent: []string{fieldErr("qty")},
			After:           checkUnchanged("1", "alpha", 10, "")},
		scenario{Name: "update/a deleted record is not found and unchanged",
			Request:        request{Token: userToken, Method: patch, URL: base + "/4", Body: `{"qty":1,"name":"zulu"}`},
			ExpectedStatus: 404,
			After:          checkUnchanged("4", "delta", 40, seedDeletedJSON)},
		scenario{Name: "update/admin cannot patch a deleted record either",
			Request:        request{Token: adminToken, Method: patch, URL: base + "/4", Body: `{"qty":1}`},
			ExpectedStatus: 404,
			After:          checkUnchanged("4", "delta", 40, seedDeletedJSON)},
		scenario{Name: "update/missing record",
			Request:        request{Token: userToken, Method: patch, URL: base + "/999", Body: `{"qty":1}`},
			ExpectedStatus: 404},
		scenario{Name: "update/reader is forbidden",
			Request:        request{Token: readerToken, Method: patch, URL: base + "/1", Body: `{"qty":1}`},
			ExpectedStatus: 403,
			After:          checkUnchanged("1", "alpha", 10, "")},
	)

	// ---- delete
	s = append(s,
		scenario{Name: "delete/soft delete",
			Request:         request{Token: userToken, Method: del, URL: base + "/1"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"success":true,"softDeleted":true,"message":"Record marked as deleted"}`},
			After:           checkSoftDeleted},
		scenario{Name: "delete/an already deleted record is not found and keeps its timestamp",
			Request:        request{Token: userToken, Method: del, URL: base + "/4"},
			ExpectedStatus: 404,
			After:          checkUnchanged("4", "delta", 40, seedDeletedJSON)},
		scenario{Name: "delete/body over MaxBodyBytes is refused before anything happens",
			Request:        request{Token: userToken, Method: del, URL: base + "/1", Body: `{"pad":"` + strings.Repeat("x", 300) + `"}`},
			Config:         func(c *framework.Config) { c.MaxBodyBytes = 128 },
			ExpectedStatus: 413,
			After:          checkUnchanged("1", "alpha", 10, "")},
		scenario{Name: "delete/missing record",
			Request:        request{Token: userToken, Method: del, URL: base + "/999"},
			ExpectedStatus: 404},
		scenario{Name: "delete/anonymous must authenticate",
			Request:         request{Method: del, URL: base + "/1"},
			ExpectedStatus:  401,
			ExpectedHeaders: bearer,
			After:           checkUnchanged("1", "alpha", 10, "")},
		scenario{Name: "delete/reader is forbidden",
			Request:        request{Token: readerToken, Method: del, URL: base + "/1"},
			ExpectedStatus: 403,
			After:          checkUnchanged("1", "alpha", 10, "")},
	)

	// ---- restore
	s = append(s,
		scenario{Name: "restore/admin restores a deleted record",
			Request:         request{Token: adminToken, Method: post, URL: base + "/4/restore"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"data":{"id":4,"name":"delta","qty":40`, key + ":" + st.liveJSON, `"restored":true`},
			After:           checkRestored},
		scenario{Name: "restore/user without permission, deleted record",
			Request:        request{Token: userToken, Method: post, URL: base + "/4/restore"},
			ExpectedStatus: 403,
			After:          checkUnchanged("4", "delta", 40, seedDeletedJSON)},
		scenario{Name: "restore/user without permission, missing record",
			Request:        request{Token: userToken, Method: post, URL: base + "/999/restore"},
			ExpectedStatus: 403},
		scenario{Name: "restore/anonymous must authenticate",
			Request:         request{Method: post, URL: base + "/4/restore"},
			ExpectedStatus:  401,
			ExpectedHeaders: bearer,
			After:           checkUnchanged("4", "delta", 40, seedDeletedJSON)},
		scenario{Name: "restore/missing record",
			Request:        request{Token: adminToken, Method: post, URL: base + "/999/restore"},
			ExpectedStatus: 404},
		scenario{Name: "restore/id that cannot be a key",
			Request:        request{Token: adminToken, Method: post, URL: base + "/abc/restore"},
			ExpectedStatus: 404},
		scenario{Name: "restore/live record conflicts",
			Request:        request{Token: adminToken, Method: post, URL: base + "/1/restore"},
			ExpectedStatus: 409,
			After:          checkUnchanged("1", "alpha", 10, "")},
	)

	for i := range s {
		s[i].Name = m.resource + "/" + s[i].Name
		s[i].Subject = m
		// No successful answer to a caller without read_deleted may name
		// the soft-delete column.
		if s[i].Token != adminToken && s[i].ExpectedStatus < 400 {
			s[i].NotExpectedContent = append(s[i].NotExpectedContent, key)
		}
	}
	return s
}

// anon adapts an anonymous scenario to the model: when the policy does not
// let anonymous callers read it, the answer is a 401 with a challenge.
func anon(m modelSpec, s scenario) scenario {
	if !m.anonRead {
		s.ExpectedStatus = http.StatusUnauthorized
		s.ExpectedContent = nil
		s.ExpectedHeaders = bearer
		s.After = nil
	}
	return s
}

// quoteName makes a query value readable in a subtest name.
func quoteName(v string) string {
	if v == "" {
		return "empty"
	}
	return v
}

// checkCreated verifies that a record created as user 5 has its automatic
// timestamps set, a NULL deletion column in the database, and is visible.
func checkCreated(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
	m := h.Subject
	data := dataOf(t, rec.Body.Bytes())
	for _, k := range []string{m.createdKey, m.updatedKey} {
		if k == "" {
			continue
		}
		if ts := timeAt(t, data, k); !ts.After(seedCreated) || ts.After(time.Now()) {
			t.Errorf("%s = %v, want set by the server to the current time", k, ts)
		}
	}
	if m.createdKey != "" && m.updatedKey != "" && data[m.createdKey] != data[m.updatedKey] {
		t.Errorf("a new record's %s (%v) and %s (%v) differ", m.createdKey, data[m.createdKey], m.updatedKey, data[m.updatedKey])
	}
	if rows, deleted := deletedCount(t, h, 5); rows != 1 || deleted != 0 {
		t.Errorf("database: %d rows with id 5, %d with a non-NULL %s; want 1 live row", rows, deleted, m.deletedCol)
	}
	if got := h.Do(t, request{Token: userToken, Method: get, URL: "/api/" + m.resource + "/5"}); got.Code != 200 {
		t.Errorf("GET the new record: %d %s", got.Code, got.Body)
	}
	list := h.Do(t, request{Token: userToken, Method: get, URL: "/api/" + m.resource})
	if !strings.Contains(list.Body.String(), `"total":4,`) {
		t.Errorf("list after create: want 4 live rows, got %s", list.Body)
	}
}

// checkPatched verifies that PATCH {"qty":99} on row 1 changed qty only,
// bumped the update timestamp and kept the creation timestamp.
func checkPatched(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
	m := h.Subject
	data := dataOf(t, rec.Body.Bytes())
	if m.updatedKey != "" {
		if ts := timeAt(t, data, m.updatedKey); !ts.After(seedCreated) {
			t.Errorf("%s = %v, want later than %v", m.updatedKey, ts, seedCreated)
		}
	}
	if m.createdKey != "" {
		if ts := timeAt(t, data, m.createdKey); !ts.Equal(seedCreated) {
			t.Errorf("%s = %v, want unchanged %v", m.createdKey, ts, seedCreated)
		}
	}
	after := h.Do(t, request{Token: userToken, Method: get, URL: "/api/" + m.resource + "/1"})
	got := dataOf(t, after.Body.Bytes())
	if got["name"] != "alpha" || got["qty"] != float64(99) {
		t.Errorf("after PATCH: %s, want name alpha and qty 99", after.Body)
	}
	if m.updatedKey != "" && got[m.updatedKey] != data[m.updatedKey] {
		t.Errorf("GET shows %s %v, PATCH answered %v", m.updatedKey, got[m.updatedKey], data[m.updatedKey])
	}
}

// checkUnchanged returns a check that record id still holds the seeded
// name and qty and, when deletedJSON is not "", still carries that deletion
// timestamp (else is live). It looks as admin, who sees deleted rows.
func checkUnchanged(id, name string, qty int, deletedJSON string) func(*testing.T, *harness, *httptest.ResponseRecorder) {
	return func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
		t.Helper()
		m := h.Subject
		d := adminGet(t, h, id)
		if d == nil {
			t.Fatalf("admin GET %s/%s failed", m.resource, id)
		}
		if d["name"] != name || d["qty"] != float64(qty) {
			t.Errorf("record %s changed: name %v qty %v, want %s %d", id, d["name"], d["qty"], name, qty)
		}
		if m.updatedKey != "" && d[m.updatedKey] != seedCreatedJSON {
			t.Errorf("record %s: %s = %v, want untouched %s", id, m.updatedKey, d[m.updatedKey], seedCreatedJSON)
		}
		st := m.deletion()
		raw := st.liveJSON
		if deletedJSON != "" {
			raw = st.deadJSON
		}
		var want any
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		if d[m.deletedKey] != want {
			t.Errorf("record %s: %s = %v, want %v", id, m.deletedKey, d[m.deletedKey], want)
		}
	}
}

// checkSoftDeleted follows DELETE of row 1: the row is hidden from users,
// kept in the database with a deletion timestamp, a second DELETE is a 404
// and does not re-stamp it.
func checkSoftDeleted(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
	m := h.Subject
	url := "/api/" + m.resource + "/1"
	if got := h.Do(t, request{Token: userToken, Method: get, URL: url}); got.Code != 404 {
		t.Errorf("user GET after delete: %d, want 404", got.Code)
	}
	if rows, deleted := deletedCount(t, h, 1); rows != 1 || deleted != 1 {
		t.Errorf("database: %d rows, %d deleted; want the row kept and marked deleted", rows, deleted)
	}
	before := adminGet(t, h, "1")
	if before == nil {
		t.Fatalf("admin GET after delete failed")
	}
	if stamp, ok := m.deletion().stamp(t, before); !ok {
		if before[m.deletedKey] != true {
			t.Errorf("%s = %v after the delete, want true", m.deletedKey, before[m.deletedKey])
		}
	} else if !stamp.After(seedDeleted) || stamp.After(time.Now()) {
		t.Errorf("deletion timestamp %v is not the time of the delete", stamp)
	}
	if m.updatedKey != "" && before[m.updatedKey] == seedCreatedJSON {
		t.Errorf("%s not bumped by the delete", m.updatedKey)
	}
	again := h.Do(t, request{Token: userToken, Method: del, URL: url})
	if again.Code != 404 {
		t.Errorf("second DELETE: %d %s, want 404", again.Code, again.Body)
	}
	after := adminGet(t, h, "1")
	if after == nil || after[m.deletedKey] != before[m.deletedKey] {
		t.Errorf("second DELETE re-stamped the row: before %v, after %v", before[m.deletedKey], after)
	}
	list := h.Do(t, request{Token: userToken, Method: get, URL: "/api/" + m.resource})
	if !strings.Contains(list.Body.String(), `"total":2,`) || strings.Contains(list.Body.String(), `"name":"alpha"`) {
		t.Errorf("list after delete: %s", list.Body)
	}
}

// checkRestored follows the restore of row 4: users see it again and the
// database column is NULL.
func checkRestored(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
	m := h.Subject
	got := h.Do(t, request{Token: userToken, Method: get, URL: "/api/" + m.resource + "/4"})
	if got.Code != 200 {
		t.Errorf("user GET after restore: %d %s", got.Code, got.Body)
	}
	if rows, deleted := deletedCount(t, h, 4); rows != 1 || deleted != 0 {
		t.Errorf("database after restore: %d rows, %d deleted", rows, deleted)
	}
	if m.updatedKey != "" {
		if ts := timeAt(t, dataOf(t, got.Body.Bytes()), m.updatedKey); !ts.After(seedCreated) {
			t.Errorf("restore did not bump %s: %v", m.updatedKey, ts)
		}
	}
	again := h.Do(t, request{Token: adminToken, Method: post, URL: "/api/" + m.resource + "/4/restore"})
	if again.Code != 409 {
		t.Errorf("second restore: %d, want 409", again.Code)
	}
}

// deletionState says how a soft-delete convention's columns read in
// responses, are filtered on, are seeded and look in the database.
type deletionState struct {
	liveJSON, deadJSON string // the deletion key's JSON on a live row and on the seeded deleted one
	deadParam          string // the seeded deleted value as a query parameter
	deletedFilter      string // a filter that matches deleted rows only
	deletedSQL         string // the row is deleted, on the raw table
	inconsistentSQL    string // the columns disagree, on the raw table; "" when one column
	seed               func(deleted bool) map[string]any
	// stamp is the deletion time a record shows; ok is false when the
	// convention records none.
	stamp func(t *testing.T, obj map[string]any) (time.Time, bool)
}

// timestampAt reads an RFC 3339 deletion time from key.
func timestampAt(key string) func(*testing.T, map[string]any) (time.Time, bool) {
	return func(t *testing.T, obj map[string]any) (time.Time, bool) { return timeAt(t, obj, key), true }
}

var (
	// flagState is a boolean is_deleted alone.
	flagState = &deletionState{liveJSON: "false", deadJSON: "true", deadParam: "true", deletedFilter: "isDeleted=true",
		deletedSQL: "is_deleted = TRUE",
		seed:       func(deleted bool) map[string]any { return map[string]any{"is_deleted": deleted} },
		stamp:      func(*testing.T, map[string]any) (time.Time, bool) { return time.Time{}, false }}
	// flagBesideTimeState is is_deleted beside a nullable deleted_at.
	flagBesideTimeState = &deletionState{liveJSON: "null", deadJSON: `"` + seedDeletedJSON + `"`, deadParam: seedDeletedJSON, deletedFilter: "is_deleted=true",
		deletedSQL: "is_deleted = TRUE", inconsistentSQL: "(is_deleted = TRUE) <> (deleted_at IS NOT NULL)",
		seed: func(deleted bool) map[string]any {
			if deleted {
				return map[string]any{"is_deleted": true, "deleted_at": seedDeleted}
			}
			return map[string]any{"is_deleted": false, "deleted_at": nil}
		},
		stamp: timestampAt("deletedAt")}
	// unixState is an int64 deleted_at of Unix seconds, 0 while live.
	unixState = &deletionState{liveJSON: "0", deadJSON: strconv.FormatInt(seedDeleted.Unix(), 10), deadParam: strconv.FormatInt(seedDeleted.Unix(), 10), deletedFilter: "deletedAt[gt]=0",
		deletedSQL: "deleted_at <> 0",
		seed: func(deleted bool) map[string]any {
			if deleted {
				return map[string]any{"deleted_at": seedDeleted.Unix()}
			}
			return map[string]any{"deleted_at": 0}
		},
		stamp: func(t *testing.T, obj map[string]any) (time.Time, bool) {
			n, ok := obj["deletedAt"].(float64)
			if !ok {
				t.Fatalf("deletedAt is %v, want Unix seconds", obj["deletedAt"])
			}
			return time.Unix(int64(n), 0), n != 0
		}}
)

// deletion is how m's soft-delete columns behave: m.state, or a nullable
// timestamp's ways.
func (m modelSpec) deletion() deletionState {
	if m.state != nil {
		return *m.state
	}
	return deletionState{liveJSON: "null", deadJSON: `"` + seedDeletedJSON + `"`, deadParam: seedDeletedJSON, deletedFilter: m.deletedKey + "[null]=false",
		deletedSQL: m.deletedCol + " IS NOT NULL",
		seed: func(deleted bool) map[string]any {
			if deleted {
				return map[string]any{m.deletedCol: seedDeleted}
			}
			return map[string]any{m.deletedCol: nil}
		},
		stamp: timestampAt(m.deletedKey)}
}

// seedColumns are the deletion columns of a seeded row.
func (m modelSpec) seedColumns(deleted bool) map[string]any { return m.deletion().seed(deleted) }

// deletedCount counts the rows with key id of the harness's model, and of
// those the deleted ones, on the raw table; it fails when the model's
// deletion columns disagree.
func deletedCount(t *testing.T, h *harness, id any) (rows, deleted int) {
	t.Helper()
	m, st := h.Subject, h.Subject.deletion()
	ctx := context.Background()
	count := func(cond string) (n int) {
		q := h.DB.NewSelect().TableExpr(m.table).ColumnExpr("count(*)").Where("id = ?", id)
		if cond != "" {
			q = q.Where(cond)
		}
		if err := q.Scan(ctx, &n); err != nil {
			t.Fatalf("count %s: %v", m.table, err)
		}
		return n
	}
	if st.inconsistentSQL != "" && count(st.inconsistentSQL) != 0 {
		t.Errorf("%s %v: the deletion columns disagree", m.table, id)
	}
	return count(""), count(st.deletedSQL)
}
