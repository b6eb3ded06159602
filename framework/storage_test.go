package framework_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestStorageFaultsAnswer503: a database that cannot write is the
// storage's fault, not the request's: 503 with Retry-After and a detail
// that says so, the driver's text in the log only. On SQLite the
// connection that met it is discarded, so the next write, on a fresh
// connection, succeeds.
func TestStorageFaultsAnswer503(t *testing.T) {
	var logs logBuffer
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) },
		models: []func(*framework.App) error{registered[Memo]()},
	})
	ctx := context.Background()
	// The first request syncs the sequences; it must run on a writable
	// database.
	if rec := h.Do(t, request{Token: userToken, Method: "GET", URL: "/api/memos"}); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	// One connection, made read-only the way each engine allows.
	h.DB.SetMaxOpenConns(1)
	readOnly, readWrite := "PRAGMA query_only = 1", ""
	if dbtest.Current() == dbtest.Postgres {
		readOnly, readWrite = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"
	}
	if _, err := h.DB.ExecContext(ctx, readOnly); err != nil {
		t.Fatal(err)
	}
	rec := h.Do(t, request{Token: userToken, Method: "POST", URL: "/api/memos", Body: `{"text":"m"}`})
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "30" || !strings.Contains(rec.Body.String(), `"detail":"the storage is unavailable; retry later"`) {
		t.Fatalf("write on a read-only database: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	if body := rec.Body.String(); strings.Contains(body, "readonly") || strings.Contains(body, "read-only") || strings.Contains(body, "25006") {
		t.Fatalf("the driver's text reached the client: %s", body)
	}
	if got := logs.String(); !strings.Contains(got, "request failed") || !(strings.Contains(got, "readonly") || strings.Contains(got, "read-only")) {
		t.Fatalf("the cause is not logged: %s", got)
	}
	if readWrite != "" {
		if _, err := h.DB.ExecContext(ctx, readWrite); err != nil {
			t.Fatal(err)
		}
	}
	if rec := h.Do(t, request{Token: userToken, Method: "POST", URL: "/api/memos", Body: `{"text":"m"}`}); rec.Code != 201 {
		t.Fatalf("write after the fault: %d %s", rec.Code, rec.Body.String())
	}
}
