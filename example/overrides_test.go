package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// TestOverridesAnswerAsDeclared: the example's overridden deletes answer
// with the bodies they declare with framework.Responds, as the document
// describes them, and that document says the answer is the override's.
func TestOverridesAnswerAsDeclared(t *testing.T) {
	ctx := context.Background()
	text, err := fullDocument(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(text)
	if err != nil {
		t.Fatal(err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestServer(t)
	play(t, h, []step{
		{name: "bob's post", token: "bob-token", method: http.MethodPost, url: "/api/posts", body: `{"title":"p","content":"c"}`, status: http.StatusCreated},
		{name: "an attachment", token: "bob-token", method: http.MethodPost, url: "/api/attachments", body: `{"postId":1,"filename":"a.png"}`, status: http.StatusCreated},
		{name: "another", token: "bob-token", method: http.MethodPost, url: "/api/attachments", body: `{"postId":1,"filename":"b.png"}`, status: http.StatusCreated},
	})
	for _, c := range []struct{ method, url string }{
		{http.MethodDelete, "/api/attachments/1"},
		{http.MethodDelete, "/api/attachments?filename=b.png"},
	} {
		req := httptest.NewRequest(c.method, c.url, nil)
		req.Header.Set("Authorization", "Bearer bob-token")
		rec := httptest.NewRecorder()
		h.E.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", c.method, c.url, rec.Code, rec.Body)
		}
		probe := httptest.NewRequest(c.method, c.url, nil)
		probe.Host = ""
		route, params, err := router.FindRoute(probe)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.url, err)
		}
		if route.Operation.Extensions["x-autoapi-overridden"] != true {
			t.Errorf("%s %s: the document does not say the operation is overridden", c.method, c.url)
		}
		if ok := route.Operation.Responses.Status(http.StatusOK).Value.Extensions["x-autoapi-declared"]; ok != true {
			t.Errorf("%s %s: the 200 answer is not marked as the override's", c.method, c.url)
		}
		in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
		err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: in.Options,
		})
		if err != nil {
			t.Errorf("%s %s: the document does not describe %s: %v", c.method, c.url, strings.TrimSpace(rec.Body.String()), err)
		}
	}
}
