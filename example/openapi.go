package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/database"
)

// openAPICommand writes the example's whole OpenAPI document, the one a
// client is generated from (see client/generate.go), to w or to the file
// -o names.
func openAPICommand(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("example openapi", flag.ExitOnError)
	out := fs.String("o", "", "write the document to this file instead of standard output")
	_ = fs.Parse(args)
	doc, err := fullDocument(context.Background())
	if err != nil {
		return err
	}
	if *out != "" {
		return os.WriteFile(*out, doc, 0o644)
	}
	_, err = w.Write(doc)
	return err
}

// fullDocument is the example's OpenAPI document with every operation, as
// GET /api/openapi.json serves it with framework.DocumentFull, indented
// so that a change to the API shows as a readable diff of the committed
// copy.
//
// It is the full document rather than the one the server serves by
// default: that one follows the caller, and a client generated from
// alice's, or even the admin's (which depends on the policy granting the
// admin everything), would lack or change operations with the policy.
func fullDocument(ctx context.Context) ([]byte, error) {
	// The document comes from the models alone; the database is never
	// queried, so an in-memory one does.
	db, err := database.Open(":memory:")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	app, err := newApp(ctx, db, options{
		logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		openAPIMode: framework.DocumentFull,
	})
	if err != nil {
		return nil, err
	}
	// Served through the App's own route, so the file is what a client
	// fetching the document would get.
	rec := httptest.NewRecorder()
	app.NewEcho().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("openapi: GET /api/openapi.json: %d %s", rec.Code, rec.Body)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, rec.Body.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
