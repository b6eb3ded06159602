package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/autoapi-go/autoapi/auth"
)

func TestResolve(t *testing.T) {
	tokens := auth.StaticTokens{"t1": {ID: "1", Roles: []string{"admin"}}}
	custom := auth.AuthenticatorFunc(func(r *http.Request) (auth.Principal, error) {
		if r.Header.Get("X-Service") == "" {
			return auth.Principal{}, auth.ErrNoCredentials
		}
		return auth.Principal{Roles: []string{"service"}}, nil
	})
	chain := auth.Chain(custom, tokens)
	cases := []struct {
		name    string
		headers map[string]string
		id      string
		anon    bool
		status  int
	}{
		{name: "no credentials", anon: true},
		{name: "a known token", headers: map[string]string{"Authorization": "Bearer t1"}, id: "1"},
		{name: "an unknown token", headers: map[string]string{"Authorization": "Bearer nope"}, status: 401},
		{name: "another scheme", headers: map[string]string{"Authorization": "Basic dTpw"}, status: 401},
		{name: "an empty bearer", headers: map[string]string{"Authorization": "Bearer "}, status: 401},
		{name: "the first authenticator answers", headers: map[string]string{"X-Service": "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			p, err := auth.Resolve(chain, r)
			if tc.status != 0 {
				var ae *auth.Error
				if !errors.As(err, &ae) || ae.StatusCode() != tc.status || ae.ProblemHeaders().Get("WWW-Authenticate") != "Bearer" {
					t.Fatalf("error %v, want a %d with a Bearer challenge", err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != tc.id || p.Anonymous() != tc.anon {
				t.Fatalf("principal %+v", p)
			}
		})
	}
}

func TestEnforcer(t *testing.T) {
	e, err := auth.NewEnforcer(auth.EnforcerConfig{Policy: `
p, admin, *, *
p, user, posts, read
p, anonymous, tags, read
g, editor, user
`})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		p                auth.Principal
		resource, action string
		want             bool
	}{
		{auth.Principal{ID: "1", Roles: []string{"admin"}}, "anything", "hard_delete", true},
		{auth.Principal{ID: "2", Roles: []string{"user"}}, "posts", "read", true},
		{auth.Principal{ID: "2", Roles: []string{"user"}}, "posts", "delete", false},
		{auth.Principal{ID: "3", Roles: []string{"editor"}}, "posts", "read", true},
		{auth.Principal{ID: "4", Roles: []string{"guest", "user"}}, "posts", "read", true},
		{auth.Principal{}, "tags", "read", true},
		{auth.Principal{}, "posts", "read", false},
		{auth.Principal{Roles: []string{"user"}}, "posts", "read", true},
	}
	for _, tc := range cases {
		got, err := e.Allowed(tc.p, tc.resource, tc.action)
		if err != nil || got != tc.want {
			t.Errorf("%+v %s %s: %v %v, want %v", tc.p, tc.resource, tc.action, got, err, tc.want)
		}
	}
	if _, err := auth.NewEnforcer(auth.EnforcerConfig{}); err == nil {
		t.Error("an enforcer without a policy source should fail")
	}
}
