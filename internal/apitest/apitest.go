// Package apitest is the request harness of autoapi's own test suites:
// requests served through an app's router, the envelope every answer must
// have, tables of one-request scenarios, sequences of steps, and fixtures
// whose database is migrated and seeded once per run and copied into each
// test. It lives under internal/ so that it is no part of the public API.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Request describes one HTTP request. Token "" means an anonymous caller;
// a non-empty Body is sent as application/json unless Headers say
// otherwise.
type Request struct {
	Token   string
	Method  string
	URL     string
	Body    string
	Headers map[string]string
}

// Harness is a mounted app: its router and its database. X is what a test
// package keeps beside it, such as the model a generated scenario is about.
type Harness[X any] struct {
	App *framework.App
	E   *echo.Echo
	DB  *bun.DB

	// Subject is what the scenario that built the harness is about.
	Subject X
	// Fixture is the fixture the app was built from, when nothing else
	// was configured or set up on it: then every app of the fixture serves
	// the same documents, which a Check may share between harnesses.
	Fixture *Fixture
	// Secrets are texts no response may contain.
	Secrets []string
	// Check, when set, runs on every response after the envelope checks;
	// body is the request's body.
	Check func(t *testing.T, h *Harness[X], req *http.Request, body string, rec *httptest.ResponseRecorder)

	// synced moves the database's sequences past the fixtures' explicit
	// keys once, before the first request.
	synced sync.Once
}

// Do serves r through the router and checks the envelope every response
// must have (see CheckEnvelope), then runs h.Check.
func (h *Harness[X]) Do(t *testing.T, r Request) *httptest.ResponseRecorder {
	t.Helper()
	h.synced.Do(func() { dbtest.SyncSequences(t, h.DB) })
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req := httptest.NewRequest(r.Method, r.URL, body)
	if r.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.E.ServeHTTP(rec, req)
	CheckEnvelope(t, rec, h.Secrets...)
	if h.Check != nil {
		h.Check(t, h, req, r.Body, rec)
	}
	return rec
}

// docsTypes are the types of the docs and admin pages' files.
var docsTypes = map[string]bool{
	"text/html; charset=utf-8": true, "text/css; charset=utf-8": true, "text/javascript; charset=utf-8": true, "image/png": true, "image/svg+xml": true,
}

// CheckEnvelope checks what holds for every response: an X-Request-Id
// header; application/problem+json with type, title, status and detail for
// every status >= 400, valid application/json otherwise; and none of
// secrets (the values of json:"-" fields) in the body.
func CheckEnvelope(t *testing.T, rec *httptest.ResponseRecorder, secrets ...string) {
	t.Helper()
	if rec.Header().Get(echo.HeaderXRequestID) == "" {
		t.Errorf("response has no X-Request-Id header")
	}
	body := rec.Body.Bytes()
	if rec.Code == http.StatusNoContent {
		if len(body) > 0 {
			t.Errorf("204 with a body: %s", body)
		}
		return
	}
	if len(body) == 0 && rec.Code >= 400 && rec.Header().Get("Content-Type") == "application/problem+json" {
		return // a HEAD request's problem: its headers without the body
	}
	want := "application/json"
	if rec.Header().Get("Content-Type") == "application/yaml" && rec.Code == http.StatusOK {
		return // the OpenAPI document as YAML
	}
	if rec.Code < 400 && docsTypes[rec.Header().Get("Content-Type")] {
		return // the docs page and its files
	}
	if rec.Code >= 400 {
		want = "application/problem+json"
	}
	ct := rec.Header().Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != want {
		t.Errorf("status %d: Content-Type = %q, want %s (body %s)", rec.Code, ct, want, body)
	}
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("response leaks a json:\"-\" field: %s", body)
		}
	}
	if rec.Code < 400 {
		if len(body) > 0 && !json.Valid(body) {
			t.Errorf("status %d: body is not valid JSON: %s", rec.Code, body)
		}
		return
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("status %d: problem body is not a JSON object: %v: %s", rec.Code, err, body)
		return
	}
	for _, k := range []string{"type", "title", "detail"} {
		if s, _ := p[k].(string); s == "" {
			t.Errorf("status %d: problem member %q missing or empty: %s", rec.Code, k, body)
		}
	}
	if st, _ := p["status"].(float64); int(st) != rec.Code {
		t.Errorf("problem status member = %v, want %d: %s", p["status"], rec.Code, body)
	}
}

// Clip shortens a body for a failure message.
func Clip(body string) string {
	const max = 600
	if len(body) <= max {
		return body
	}
	return body[:max] + fmt.Sprintf("... (%d bytes)", len(body))
}

// Main runs a suite of the harness, as dbtest.Main does (on SQLite, and on
// PostgreSQL too when AUTOAPI_TEST_POSTGRES holds a DSN), collecting
// garbage less often. Such a suite builds a thousand apps and their
// documents, nearly all of it garbage within a request: at the default
// GOGC a quarter of its CPU went to collecting. The memory limit keeps
// the heap bounded all the same. GOGC and GOMEMLIMIT, when set, win.
func Main(m *testing.M) {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(800)
		debug.SetMemoryLimit(1536 << 20)
	}
	dbtest.Main(m)
}
