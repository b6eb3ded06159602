package framework_test

import (
	"strings"
	"testing"
)

// TestHostileInput sends what a hostile or careless client would: each
// gets a clear 4xx naming the culprit, never a 500, and changes nothing.
func TestHostileInput(t *testing.T) {
	nots := strings.Repeat("!", 999)
	runScenarios(t, []scenario{
		{Name: "duplicate JSON key", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","name":"b","qty":1}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name"), "more than once"}},
		{Name: "NUL in a body string", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a\u0000b","qty":1}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name"), "NUL"}},
		{Name: "NUL in a patch", request: request{Token: userToken, Method: "PATCH", URL: "/api/widgets/1", Body: `{"name":"\u0000"}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name")}},
		{Name: "trailing data after the object", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1} {}`},
			ExpectedStatus: 400},
		{Name: "invalid UTF-8", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: "{\"name\":\"\xff\",\"qty\":1}"},
			ExpectedStatus: 400, ExpectedContent: []string{"UTF-8"}},
		{Name: "no content type", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1}`, Headers: map[string]string{"Content-Type": ""}},
			ExpectedStatus: 415},
		{Name: "form content type", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1}`, Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
			ExpectedStatus: 415},
		{Name: "latin1 charset", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1}`, Headers: map[string]string{"Content-Type": "application/json; charset=latin1"}},
			ExpectedStatus: 415},
		{Name: "integer out of range", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":9223372036854775808}`},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("qty")}},
		{Name: "number too large for any type", request: request{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"a","qty":1e400}`},
			ExpectedStatus: 400},
		{Name: "NUL in a filter value", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?name=a%00b"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("name")}},
		{Name: "NUL in a like pattern", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?name%5Blike%5D=a%00"},
			ExpectedStatus: 400},
		{Name: "NUL in an expression string", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?filter=name%3D%22a%00b%22"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("filter")}},
		{Name: "a thousand nots", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?filter=" + nots + "id%3D1"},
			ExpectedStatus: 400, ExpectedContent: []string{"nested deeper"}},
		{Name: "too many in values", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?id%5Bin%5D=" + strings.Repeat("1,", 150) + "1"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("id[in]")}},
		{Name: "id with a leading zero", request: request{Token: userToken, Method: "GET", URL: "/api/widgets/01"},
			ExpectedStatus: 404},
		{Name: "id with a plus sign", request: request{Token: userToken, Method: "GET", URL: "/api/widgets/+1"},
			ExpectedStatus: 404},
		{Name: "limit with a plus sign", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?limit=+5"},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("limit")}},
		{Name: "SQL in a value", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?name=alpha%27%20OR%201%3D1%20--"},
			ExpectedStatus: 200, ExpectedContent: []string{`"total":0`}},
		{Name: "SQL as a field name", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?sort=name;DROP%20TABLE%20widgets"},
			ExpectedStatus: 400},
		{Name: "includeDeleted as 1", request: request{Token: adminToken, Method: "GET", URL: "/api/widgets?includeDeleted=1"},
			ExpectedStatus: 400},
		{Name: "includeDeleted with a space", request: request{Token: adminToken, Method: "GET", URL: "/api/widgets?includeDeleted=true%20"},
			ExpectedStatus: 400},
		{Name: "empty cursor", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?cursor="},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("cursor")}},
		{Name: "empty include", request: request{Token: userToken, Method: "GET", URL: "/api/widgets?include="},
			ExpectedStatus: 400, ExpectedContent: []string{fieldErr("include")}},
		{Name: "include_deleted", request: request{Token: adminToken, Method: "GET", URL: "/api/widgets?include_deleted=true"},
			ExpectedStatus: 400},
	})
}
