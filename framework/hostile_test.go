package framework_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostileInput sends what a hostile or careless client would: each
// gets a clear 4xx naming the culprit, never a 500, and changes nothing.
func TestHostileInput(t *testing.T) {
	nots := strings.Repeat("!", 999)
	runScenarios(t, []scenario{
		{Name: "duplicate JSON key", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","name":"b","qty":1}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name"), "more than once"}},
		{Name: "NUL in a body string", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a\u0000b","qty":1}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name"), "NUL"}},
		{Name: "NUL in a patch", Request: request{Token: userToken, Method: "PATCH", URL: "/api/widgets/1", Body: `{"name":"\u0000"}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name")}},
		{Name: "trailing data after the object", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1} {}`},
			ExpectedStatus: 400},
		{Name: "invalid UTF-8", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: "{\"name\":\"\xff\",\"qty\":1}"},
			ExpectedStatus: 400, ExpectedContent: []string{"UTF-8"}},
		{Name: "no content type", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1}`, Headers: map[string]string{"Content-Type": ""}},
			ExpectedStatus: 415},
		{Name: "form content type", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1}`, Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
			ExpectedStatus: 415},
		{Name: "latin1 charset", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1}`, Headers: map[string]string{"Content-Type": "application/json; charset=latin1"}},
			ExpectedStatus: 415},
		{Name: "integer out of range", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":9223372036854775808}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("qty")}},
		{Name: "number too large for any type", Request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1e400}`},
			ExpectedStatus: 400},
		{Name: "NUL in a filter value", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?name=a%00b"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name")}},
		{Name: "NUL in a like pattern", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?name%5Blike%5D=a%00"},
			ExpectedStatus: 400},
		{Name: "NUL in an expression string", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?filter=name%3D%22a%00b%22"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("filter")}},
		{Name: "a thousand nots", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?filter=" + nots + "id%3D1"},
			ExpectedStatus: 400, ExpectedContent: []string{"nested deeper"}},
		{Name: "too many in values", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?id%5Bin%5D=" + strings.Repeat("1,", 150) + "1"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("id[in]")}},
		{Name: "id with a leading zero", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets/01"},
			ExpectedStatus: 404},
		{Name: "id with a plus sign", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets/+1"},
			ExpectedStatus: 404},
		{Name: "limit with a plus sign", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?limit=+5"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("limit")}},
		{Name: "SQL in a value", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?name=alpha%27%20OR%201%3D1%20--"},
			ExpectedStatus: 200, ExpectedContent: []string{`"total":0`}},
		{Name: "SQL as a field name", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?sort=name;DROP%20TABLE%20widgets"},
			ExpectedStatus: 400},
		{Name: "includeDeleted as 1", Request: request{Token: adminToken, Method: "GET", URL: "/api/widgets?includeDeleted=1"},
			ExpectedStatus: 400},
		{Name: "includeDeleted with a space", Request: request{Token: adminToken, Method: "GET", URL: "/api/widgets?includeDeleted=true%20"},
			ExpectedStatus: 400},
		{Name: "empty cursor", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?cursor="},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("cursor")}},
		{Name: "empty include", Request: request{Token: userToken, Method: "GET", URL: "/api/widgets?include="},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("include")}},
		{Name: "include_deleted", Request: request{Token: adminToken, Method: "GET", URL: "/api/widgets?include_deleted=true"},
			ExpectedStatus: 400},
	})
}

// TestContentEncoding checks that a body in a content coding the server
// does not decode is a 415 naming the coding, never read as if it were
// plain JSON, and that nothing is written.
func TestContentEncoding(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(`{"name":"zeta","qty":1}`))
	w.Close()
	const plain = `{"name":"zeta","qty":1}`
	// nothingWritten checks that no widget named zeta exists and widget 1
	// kept its name.
	nothingWritten := func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
		t.Helper()
		var n int
		if err := h.DB.NewSelect().TableExpr("widgets").ColumnExpr("count(*)").Where("name = ?", "zeta").Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d widgets named zeta were written", n)
		}
		if got := rec.Header().Get("Content-Type"); got != "application/problem+json" {
			t.Errorf("Content-Type %q, want application/problem+json", got)
		}
		if got := rec.Header().Get("Accept-Encoding"); got != "identity" {
			t.Errorf("Accept-Encoding %q, want identity", got)
		}
	}
	var cases []scenario
	for _, c := range []struct {
		name, method, url, body, coding, detail string
	}{
		{"gzip body", "POST", "/api/widgets", gz.String(), "gzip", `"detail":"Content-Encoding \"gzip\" is not supported; send the body unencoded"`},
		{"plain JSON labelled gzip", "POST", "/api/widgets", plain, "gzip", `Content-Encoding \"gzip\"`},
		{"br on a patch", "PATCH", "/api/widgets/1", `{"name":"zeta"}`, "br", `Content-Encoding \"br\"`},
		{"deflate", "POST", "/api/widgets", plain, "deflate", `Content-Encoding \"deflate\"`},
		{"identity then gzip", "POST", "/api/widgets", plain, "identity, gzip", `Content-Encoding \"gzip\"`},
		{"an unknown coding", "POST", "/api/widgets", plain, "x-made-up", `Content-Encoding \"x-made-up\"`},
	} {
		cases = append(cases, scenario{Name: c.name,
			Request:         request{Token: userToken, Method: c.method, URL: c.url, Body: c.body, Headers: map[string]string{"Content-Encoding": c.coding}},
			ExpectedStatus:  415,
			ExpectedContent: []string{c.detail},
			After:           nothingWritten})
	}
	for _, coding := range []string{"identity", "IDENTITY"} {
		cases = append(cases, scenario{Name: "Content-Encoding " + coding + " is read",
			Request:        request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: plain, Headers: map[string]string{"Content-Encoding": coding}},
			ExpectedStatus: 201, ExpectedContent: []string{`"name":"zeta"`}})
	}
	cases = append(cases, scenario{Name: "a coding on a request without a body is not looked at",
		Request:        request{Token: userToken, Method: "GET", URL: "/api/widgets/1", Headers: map[string]string{"Content-Encoding": "gzip"}},
		ExpectedStatus: 200})
	runScenarios(t, cases)
}
