package apitest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
)

// Suite is how a test package builds its harnesses: the fixture its
// scenarios start from unless they name another, and what every harness
// checks.
type Suite[X any] struct {
	Fixture *Fixture
	Secrets []string
	// NewCheck, when set, returns the Check of one harness, which may keep
	// state of its own (the documents of its app, say).
	NewCheck func() func(t *testing.T, h *Harness[X], req *http.Request, body string, rec *httptest.ResponseRecorder)
}

// Harness mounts app, on db, with the suite's checks.
func (s *Suite[X]) Harness(app *framework.App, db *bun.DB) *Harness[X] {
	h := &Harness[X]{App: app, E: app.NewEcho(), DB: db, Secrets: s.Secrets}
	if s.NewCheck != nil {
		h.Check = s.NewCheck()
	}
	return h
}

// Scenario is one request against a freshly built, seeded app, with what
// must and must not come back (in the style of PocketBase's ApiScenario).
type Scenario[X any] struct {
	Name string
	Request

	ExpectedStatus     int
	ExpectedContent    []string          // substrings the body must contain
	NotExpectedContent []string          // substrings the body must not contain
	ExpectedHeaders    map[string]string // exact header values

	// Fixture is the app and data the scenario starts from; nil means the
	// suite's.
	Fixture *Fixture
	// Config adjusts the app's Config before New.
	Config func(*framework.Config)
	// Setup runs after migration and seeding, before the routes are
	// mounted: register overrides or break the database here.
	Setup func(t *testing.T, app *framework.App, db *bun.DB)
	// After runs extra checks, with follow-up requests if need be.
	After func(t *testing.T, h *Harness[X], rec *httptest.ResponseRecorder)

	// Subject is what the scenario is about, for After (Harness.Subject).
	Subject X
}

// Run runs each scenario as a parallel subtest with its own app and
// database.
func (s *Suite[X]) Run(t *testing.T, scenarios []Scenario[X]) {
	t.Helper()
	seen := map[string]bool{}
	for _, sc := range scenarios {
		if seen[sc.Name] {
			t.Fatalf("duplicate scenario name %q", sc.Name)
		}
		seen[sc.Name] = true
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			s.run(t, sc)
		})
	}
}

func (s *Suite[X]) run(t *testing.T, sc Scenario[X]) {
	f := sc.Fixture
	if f == nil {
		f = s.Fixture
	}
	app, db := f.App(t, sc.Config)
	if sc.Setup != nil {
		sc.Setup(t, app, db)
	}
	h := s.Harness(app, db)
	h.Subject = sc.Subject
	if sc.Config == nil && sc.Setup == nil {
		h.Fixture = f
	}
	rec := h.Do(t, sc.Request)
	body := rec.Body.String()
	if rec.Code != sc.ExpectedStatus {
		t.Errorf("%s %s: status %d, want %d; body: %s", sc.Method, sc.URL, rec.Code, sc.ExpectedStatus, Clip(body))
	}
	for _, want := range sc.ExpectedContent {
		if !strings.Contains(body, want) {
			t.Errorf("%s %s: body lacks %s; body: %s", sc.Method, sc.URL, want, Clip(body))
		}
	}
	for _, bad := range sc.NotExpectedContent {
		if strings.Contains(Opaque(body), bad) {
			t.Errorf("%s %s: body contains %s; body: %s", sc.Method, sc.URL, bad, Clip(body))
		}
	}
	for k, want := range sc.ExpectedHeaders {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s %s: header %s = %q, want %q", sc.Method, sc.URL, k, got, want)
		}
	}
	if sc.After != nil && !t.Failed() {
		sc.After(t, h, rec)
	}
}

// opaqueValues are the members whose values are sealed or random bytes
// (cursors, ETags): they hold no row's data, and a short forbidden word
// can turn up in their base64 by chance.
var opaqueValues = regexp.MustCompile(`"(nextCursor|etag)":"[^"]*"`)

// Opaque is body with the values of opaque members blanked, for checks
// that a body holds no forbidden text.
func Opaque(body string) string { return opaqueValues.ReplaceAllString(body, `"$1":""`) }
