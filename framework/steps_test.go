package framework_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
	"github.com/autoapi-go/autoapi/internal/apitest"
)

// step is one request of a sequence played against one app and database,
// and what its answer must (not) contain: a shorthand for apitest.Step
// with one text each way.
type step struct {
	name, token, method, url, body string
	status                         int
	want, never                    string
}

// playSteps runs steps in order against h; each sees the effects of those
// before it, and the first failure stops the sequence.
func playSteps(t *testing.T, h *harness, steps []step) {
	t.Helper()
	out := make([]apitest.Step, len(steps))
	for i, s := range steps {
		out[i] = apitest.Step{Name: s.name, Token: s.token, Method: s.method, URL: s.url, Body: s.body, Status: s.status, Expect: []string{s.want}}
		if s.never != "" {
			out[i].NotExpect = []string{s.never}
		}
	}
	apitest.Play(t, h, out)
}

// appSpec says how to build an app for a test: its database (a new one
// when nil), changes to the base Config, the models to register, and what
// to set up (overrides, hooks) before the routes are mounted.
type appSpec struct {
	db     *bun.DB
	config func(*framework.Config)
	models []func(*framework.App) error
	setup  func(*framework.App) error
}

// registered registers T, for appSpec.models.
func registered[T any](opts ...framework.Option) func(*framework.App) error {
	return func(a *framework.App) error { return framework.Register[T](a, opts...) }
}

// buildApp registers, migrates and mounts the app s describes.
func buildApp(t testing.TB, s appSpec) *harness {
	t.Helper()
	db := s.db
	if db == nil {
		db = dbtest.Open(t)
	}
	cfg := baseConfig(db)
	if s.config != nil {
		s.config(&cfg)
	}
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, register := range s.models {
		if err := register(app); err != nil {
			t.Fatal(err)
		}
	}
	if s.setup != nil {
		if err := s.setup(app); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return newHarness(app, db)
}

// TestFailuresAreLoggedWithTheirRequestID: a 500 tells the client nothing,
// and the log has the cause under the same request id the client got.
func TestFailuresAreLoggedWithTheirRequestID(t *testing.T) {
	var logs bytes.Buffer
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) },
		models: []func(*framework.App) error{registered[Widget]()},
		setup: func(app *framework.App) error {
			return app.Override("widgets", framework.OpList, func(*framework.Context) error {
				return errors.New("disk on fire")
			})
		},
	})
	rec := h.Do(t, request{Token: userToken, Method: "GET", URL: "/api/widgets"})
	id := rec.Header().Get("X-Request-Id")
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "disk") || id == "" {
		t.Fatalf("%d %s (request id %q)", rec.Code, rec.Body.String(), id)
	}
	if !strings.Contains(logs.String(), "request_id="+id) || !strings.Contains(logs.String(), "disk on fire") {
		t.Fatalf("log %q lacks the request id %s or the cause", logs.String(), id)
	}
}
