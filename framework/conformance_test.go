package framework_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
	"github.com/autoapi-go/autoapi/internal/apitest"
)

// conformance holds the documents one harness's responses are checked
// against: the full one, built when first needed.
type conformance struct {
	mu   sync.Mutex
	full routers.Router
}

// newConformance returns the conformance check of a new harness.
func newConformance() func(*testing.T, *harness, *http.Request, string, *httptest.ResponseRecorder) {
	return (&conformance{}).conform
}

// parsedDocuments keeps every document the suite has parsed, by the hash
// of its text, for the whole run: harnesses of the same models and policy
// serve the same documents, and parsing one costs far more than the
// requests it checks.
var parsedDocuments sync.Map // [sha256.Size]byte -> routers.Router

// fixtureDocuments keeps the routers of the documents that the apps of a
// fixture serve, for the whole run. An app built from a fixture, with
// nothing configured or set up on it, serves the same document to a
// caller as every other app of that fixture; building one costs more
// than the rest of a scenario, so each is fetched from the first such app
// only.
var fixtureDocuments sync.Map // fixtureDocument -> routers.Router (nil: none)

// fixtureDocument names a document of a fixture's apps: the full one
// (full), or the one the caller with the given Authorization header gets.
type fixtureDocument struct {
	f      *apitest.Fixture
	engine dbtest.Engine
	full   bool
	authz  string
}

func loadRouter(t *testing.T, body []byte) routers.Router {
	t.Helper()
	key := sha256.Sum256(body)
	if r, ok := parsedDocuments.Load(key); ok {
		return r.(routers.Router)
	}
	// LoadFromData would read the JSON with a YAML parser, which costs
	// ten times as much; the references are resolved the same way.
	doc := &openapi3.T{}
	if err := json.Unmarshal(body, doc); err != nil {
		t.Fatalf("conformance: read document: %v", err)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		t.Fatalf("conformance: load document: %v", err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("conformance: router: %v", err)
	}
	parsedDocuments.Store(key, r)
	return r
}

// shared returns the router the fixture document key names, getting it
// with get the first time; without a fixture it is get's.
func shared(h *harness, key fixtureDocument, get func() routers.Router) routers.Router {
	if h.Fixture == nil {
		return get()
	}
	key.f, key.engine = h.Fixture, dbtest.Current()
	if r, ok := fixtureDocuments.Load(key); ok {
		r, _ := r.(routers.Router)
		return r
	}
	r := get()
	fixtureDocuments.Store(key, r)
	return r
}

// fullRouter returns the router of h's full document.
func (c *conformance) fullRouter(t *testing.T, h *harness) routers.Router {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.full == nil {
		c.full = shared(h, fixtureDocument{full: true}, func() routers.Router {
			body, err := framework.FullDocument(h.App)
			if err != nil {
				t.Fatalf("conformance: full document: %v", err)
			}
			return loadRouter(t, body)
		})
	}
	return c.full
}

// callerRouter returns the router of the document the caller with the
// given Authorization header gets, or nil when it gets none. A caller's
// document changes with the policy, so it is fetched for every request
// (from an app of a fixture, once per fixture and caller).
func callerRouter(t *testing.T, h *harness, authz string) routers.Router {
	t.Helper()
	return shared(h, fixtureDocument{authz: authz}, func() routers.Router {
		var r routers.Router
		for _, route := range h.E.Routes() {
			if route.Method != http.MethodGet || !strings.HasSuffix(route.Path, "/openapi.json") {
				continue
			}
			req := httptest.NewRequest(http.MethodGet, route.Path, nil)
			if authz != "" {
				req.Header.Set("Authorization", authz)
			}
			rec := httptest.NewRecorder()
			h.E.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				continue
			}
			r = loadRouter(t, rec.Body.Bytes())
		}
		return r
	})
}

// servesDocuments reports whether method and path are one of the routes
// that serve the document and its docs page, which the document leaves
// out.
func servesDocuments(h *harness, method, path string) bool {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for _, r := range framework.TableOf(h.App) {
		if r.Hidden && r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}

// conform checks that the document describes req and its response rec: the
// caller's own document when it has the operation, else the full one,
// where the answer must be a refusal. A request the document rejects may
// only fail.
func (c *conformance) conform(t *testing.T, h *harness, req *http.Request, reqBody string, rec *httptest.ResponseRecorder) {
	t.Helper()
	path := req.URL.Path
	if servesDocuments(h, req.Method, path) {
		return
	}
	if req.Method == http.MethodOptions {
		if rec.Code != http.StatusNoContent && rec.Code != http.StatusNotFound {
			t.Errorf("conformance: OPTIONS %s: %d", path, rec.Code)
		}
		return
	}
	if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "" {
		return // a method the path does not serve: no operation answers it
	}
	caller := callerRouter(t, h, req.Header.Get("Authorization"))
	probe := req.Clone(context.Background())
	probe.Host = "" // the document's server is "/": any host
	head := probe.Method == http.MethodHead
	if head {
		probe.Method = http.MethodGet
	}
	var route *routers.Route
	var params map[string]string
	var err error
	own := false
	if caller != nil {
		route, params, err = caller.FindRoute(probe)
		own = err == nil
	}
	if !own {
		route, params, err = c.fullRouter(t, h).FindRoute(probe)
	}
	if err != nil {
		var re *routers.RouteError
		switch {
		case errors.As(err, &re) && errors.Is(err, routers.ErrMethodNotAllowed):
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
				t.Errorf("conformance: %s %s is in no document's path item: %d Allow %q, want 405 with Allow", req.Method, path, rec.Code, rec.Header().Get("Allow"))
			}
		default:
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("conformance: %s %s is in no document: %d, want 404 (%v)", req.Method, path, rec.Code, err)
			}
		}
		return
	}
	if route.Operation.Extensions["x-autoapi-overridden"] == true {
		// An override answers as it likes; the document promises only
		// what it declared with Responds.
		declared := route.Operation.Responses.Status(rec.Code)
		if declared == nil || declared.Value == nil || declared.Value.Extensions["x-autoapi-declared"] != true {
			return
		}
	}
	if !own && rec.Code != http.StatusUnauthorized && rec.Code != http.StatusForbidden && rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
		t.Errorf("conformance: %s %s is not in the caller's document, yet it answered %d: %s", req.Method, path, rec.Code, clip(rec.Body.String()))
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		ExcludeResponseBody:   head,
	}
	if reqBody != "" {
		probe.Body = io.NopCloser(strings.NewReader(reqBody))
	}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	ctx := context.Background()
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && rec.Code < 400 {
		t.Errorf("conformance: the document rejects %s %s, yet it answered %d: %v", req.Method, req.URL, rec.Code, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("conformance: %s %s: the document does not describe the %d answer %s: %v", req.Method, req.URL, rec.Code, clip(rec.Body.String()), err)
	}
}
