package framework_test

import "testing"

func TestPermissionsEndpoint(t *testing.T) {
	runScenarios(t, []scenario{
		{Name: "admin may do everything, restore only where there are soft deletes",
			Request:            request{Token: adminToken, Method: "GET", URL: "/api/permissions"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"widgets":{"create":"all","delete":"all","hard_delete":"all","read":"all","read_deleted":"all","restore":"all","update":"all"}`, `"tags":{"create":"all","delete":"all","hard_delete":"all","read":"all","update":"all"}`},
			NotExpectedContent: []string{`"tags":{"create":"all","delete":"all","hard_delete":"all","read":"all","read_deleted"`}},
		{Name: "a user sees their actions",
			Request:            request{Token: userToken, Method: "GET", URL: "/api/widgets/permissions"},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`{"data":{"create":"all","delete":"all","read":"all","update":"all"}}`},
			NotExpectedContent: []string{"restore", "read_deleted", "hard_delete"}},
		{Name: "anonymous callers get their own answer, not a 401",
			Request:         request{Method: "GET", URL: "/api/permissions"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`"widgets":{"read":"all"}`, `"ledgers":{}`}},
		{Name: "a bad token is still a 401",
			Request:        request{Token: "nope", Method: "GET", URL: "/api/permissions"},
			ExpectedStatus: 401},
	})
}
