package framework_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// countingAuthorizer is the App's casbin enforcer, counting the questions
// it is asked.
type countingAuthorizer struct {
	*auth.Enforcer
	mu    sync.Mutex
	asked map[string]int
}

func (c *countingAuthorizer) Allowed(p auth.Principal, resource, action string) (bool, error) {
	c.mu.Lock()
	if c.asked != nil {
		c.asked[resource+" "+action]++
	}
	c.mu.Unlock()
	return c.Enforcer.Allowed(p, resource, action)
}

// TestARequestAsksEachGrantOnce: along one request (a list with an
// include, its next page by cursor, a get, an update), the authorizer is
// asked each action on each resource at most once.
func TestARequestAsksEachGrantOnce(t *testing.T) {
	enforcer, err := auth.NewEnforcer(auth.EnforcerConfig{Policy: `
p, user, othreads, read
p, user, othreads, read_deleted:own
p, user, othreads, create:own
p, user, oreplies, read
p, user, oreplies, read_deleted
p, user, oreplies, create
p, user, oreplies, update
`})
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingAuthorizer{Enforcer: enforcer}
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy, cfg.Authorizer, cfg.Authenticator = "", counter, ownerTokens
		},
		models: []func(*framework.App) error{registered[OThread](), registered[OReply]()},
	})
	playSteps(t, h, []step{
		{"a thread", "u3", "POST", "/api/othreads", `{"title":"t"}`, 201, "", ""},
		{"a reply", "u3", "POST", "/api/oreplies", `{"threadId":1,"body":"r1"}`, 201, "", ""},
		{"another", "u3", "POST", "/api/oreplies", `{"threadId":1,"body":"r2"}`, 201, "", ""},
	})
	ask := func(name, method, target, body string) *http.Response {
		t.Helper()
		counter.mu.Lock()
		counter.asked = map[string]int{}
		counter.mu.Unlock()
		// Served directly: the harness's conformance check asks the
		// caller's document, which is another request.
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, target, rd)
		req.Header.Set("Authorization", "Bearer u3")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.E.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
		counter.mu.Lock()
		defer counter.mu.Unlock()
		for q, n := range counter.asked {
			if n > 1 {
				t.Errorf("%s: asked %q %d times", name, q, n)
			}
		}
		if len(counter.asked) == 0 {
			t.Errorf("%s: the authorizer was not asked", name)
		}
		return rec.Result()
	}
	first := ask("list with include", "GET", "/api/oreplies?include=thread&limit=1&includeDeleted=true", "")
	var page struct {
		Meta struct {
			NextCursor string `json:"nextCursor"`
		} `json:"meta"`
	}
	if err := json.NewDecoder(first.Body).Decode(&page); err != nil || page.Meta.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, page.Meta.NextCursor)
	}
	ask("next page", "GET", "/api/oreplies?include=thread&limit=1&includeDeleted=true&cursor="+url.QueryEscape(page.Meta.NextCursor), "")
	ask("get with include", "GET", "/api/oreplies/1?include=thread", "")
	ask("update", "PATCH", "/api/oreplies/1", `{"body":"changed"}`)
}
