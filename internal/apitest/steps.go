package apitest

import (
	"strings"
	"testing"
)

// Step is one request of a sequence played against one app and database,
// and what its answer must and must not contain.
type Step struct {
	Name        string
	Token       string
	Method, URL string
	Body        string
	Status      int
	Expect      []string
	NotExpect   []string
}

// Play runs steps in order against h; each sees the effects of those
// before it, and the first failure stops the sequence.
func Play[X any](t *testing.T, h *Harness[X], steps []Step) {
	t.Helper()
	for _, s := range steps {
		rec := h.Do(t, Request{Token: s.Token, Method: s.Method, URL: s.URL, Body: s.Body})
		body := rec.Body.String()
		if rec.Code != s.Status {
			t.Fatalf("%s: %s %s: status %d, want %d; body %s", s.Name, s.Method, s.URL, rec.Code, s.Status, body)
		}
		for _, want := range s.Expect {
			if !strings.Contains(body, want) {
				t.Fatalf("%s: %s %s: body %s does not contain %q", s.Name, s.Method, s.URL, body, want)
			}
		}
		for _, bad := range s.NotExpect {
			if strings.Contains(Opaque(body), bad) {
				t.Fatalf("%s: %s %s: body %s contains %q", s.Name, s.Method, s.URL, body, bad)
			}
		}
	}
}
