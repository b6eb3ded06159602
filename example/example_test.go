package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/autoapi-go/autoapi/internal/apitest"
	"github.com/golang-jwt/jwt/v5"

	"github.com/uptrace/bun"
)

// step is one request of a scenario and what its answer must (not)
// contain, in the short form of the example's tables.
type step struct {
	name        string
	token       string
	method, url string
	body        string
	status      int
	expect      []string
	notExpect   []string
}

// harness is the example's server and database.
type harness = apitest.Harness[struct{}]

// demo is the example's database as a fresh deployment has it: migrated,
// with the demo users. It is built once per run and copied into each test.
var demo = &apitest.Fixture{
	Name: "example",
	Prepare: func(t testing.TB, db *bun.DB) {
		t.Helper()
		if _, _, err := newServer(context.Background(), db, options{logger: quietLogger()}); err != nil {
			t.Fatal(err)
		}
	},
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestServer(t *testing.T) *harness {
	t.Helper()
	return newTestServerWith(t, options{})
}

// newTestServerWith serves the example with o on a copy of the demo
// database, which is already migrated and seeded.
func newTestServerWith(t *testing.T, o options) *harness {
	t.Helper()
	db := demo.DB(t)
	o.logger, o.skipMigrate = quietLogger(), true
	app, e, err := newServer(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{App: app, E: e, DB: db}
}

// play plays the steps in order against h; each step sees the effects of
// the ones before it.
func play(t *testing.T, h *harness, steps []step) {
	t.Helper()
	out := make([]apitest.Step, len(steps))
	for i, s := range steps {
		out[i] = apitest.Step{Name: s.name, Token: s.token, Method: s.method, URL: s.url, Body: s.body, Status: s.status, Expect: s.expect, NotExpect: s.notExpect}
	}
	apitest.Play(t, h, out)
}

const (
	admin = "admin-token"
	alice = "alice-token"
	bob   = "bob-token"
)

func TestExampleCreateBodies(t *testing.T) {
	h := newTestServer(t)
	play(t, h, []step{
		{"user by admin", admin, "POST", "/api/users", `{"name":"Carol","email":"carol@example.com"}`, 201, []string{`"id":4`, `"deletedAt":null`}, nil},
		{"post", alice, "POST", "/api/posts", `{"title":"Hello","content":"x","userId":2}`, 201, []string{`"views":0`, `"userId":2`}, nil},
		{"not in bob's name", alice, "POST", "/api/posts", `{"title":"Hello","content":"x","userId":3}`, 403, nil, nil},
		{"comment", alice, "POST", "/api/comments", `{"postId":1,"body":"nice"}`, 201, []string{`"body":"nice"`, `"userId":2`}, []string{"deleted_at"}},
		{"invoice", alice, "POST", "/api/invoices", `{"number":"INV-1","amount":1200,"userId":2}`, 201, []string{`"amount":1200`}, []string{"deletedDate"}},
		{"tag", admin, "POST", "/api/tags", `{"name":"go"}`, 201, []string{`"name":"go"`}, nil},
		{"users read tags but do not create them", alice, "POST", "/api/tags", `{"name":"rust"}`, 403, nil, nil},
		{"attachment", alice, "POST", "/api/attachments", `{"postId":1,"filename":"a.png"}`, 201, []string{`"filename":"a.png"`}, []string{"storage", "deletedAt"}},
		{"seeded users", admin, "GET", "/api/users", "", 200, []string{`"total":4`, "alice@example.com", "bob@example.com"}, nil},
		{"anonymous reads posts", "", "GET", "/api/posts", "", 200, []string{"Hello"}, nil},
		{"anonymous may not read invoices", "", "GET", "/api/invoices", "", 401, nil, nil},
		{"anonymous may not create posts", "", "POST", "/api/posts", `{"title":"x","content":"x","userId":2}`, 401, nil, nil},
	})
}

func TestExampleAttachmentDeleteIsPermanent(t *testing.T) {
	h := newTestServer(t)
	db := h.DB
	play(t, h, []step{
		{"post", alice, "POST", "/api/posts", `{"title":"Hello","content":"x","userId":2}`, 201, nil, nil},
		{"attachment", alice, "POST", "/api/attachments", `{"postId":1,"filename":"a.png"}`, 201, nil, nil},
		{"anonymous may not delete", "", "DELETE", "/api/attachments/1", "", 401, nil, nil},
		{"hard delete", alice, "DELETE", "/api/attachments/1", "", 200, []string{`"hardDeleted":true`, `"success":true`}, nil},
		{"gone for admin too", admin, "GET", "/api/attachments/1", "", 404, nil, nil},
		{"second delete", alice, "DELETE", "/api/attachments/1", "", 404, nil, nil},
		{"not an id", alice, "DELETE", "/api/attachments/x", "", 404, nil, nil},
	})
	n, err := db.NewSelect().Model((*Attachment)(nil)).WhereAllWithDeleted().Count(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("attachments left in the table: %d (%v)", n, err)
	}
}

// TestExampleAttachmentOverridesAreSafe tests the example's overrides like
// generated routes: a soft-deleted attachment is as missing as one that
// never was, only canonical ids name a row, query strings are checked, and
// the bulk delete erases too, within the same reach.
func TestExampleAttachmentOverridesAreSafe(t *testing.T) {
	h := newTestServer(t)
	db := h.DB
	steps := []step{{"post", alice, "POST", "/api/posts", `{"title":"Hello","content":"x","userId":2}`, 201, nil, nil}}
	for _, name := range []string{"a.png", "b.png", "c.png", "d.png", "e.png"} {
		steps = append(steps, step{name, alice, "POST", "/api/attachments", `{"postId":1,"filename":"` + name + `"}`, 201, nil, nil})
	}
	play(t, h, steps)
	ctx := context.Background()
	// No API route soft-deletes an attachment; the database can.
	if _, err := db.NewUpdate().Model((*Attachment)(nil)).Set("deleted_at = ?", time.Now()).Where("id = 2").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	play(t, h, []step{
		{"a deleted attachment is not found", alice, "DELETE", "/api/attachments/2", "", 404, []string{`"detail":"attachments 2 not found"`}, nil},
		{"like a missing one", alice, "DELETE", "/api/attachments/99", "", 404, []string{`"detail":"attachments 99 not found"`}, nil},
		{"only the canonical id", alice, "DELETE", "/api/attachments/05", "", 404, nil, nil},
		{"query strings are checked", alice, "DELETE", "/api/attachments/1?x=1", "", 400, []string{`"field":"x"`}, nil},
		{"anonymous may not", "", "DELETE", "/api/attachments/1", "", 401, nil, nil},
		{"bulk needs a filter", alice, "DELETE", "/api/attachments", "", 400, []string{"at least one filter"}, nil},
		{"bulk checks its parameters", alice, "DELETE", "/api/attachments?limit=1&filename=c.png", "", 400, []string{`"field":"limit"`}, nil},
		{"bulk never reaches a deleted one", alice, "DELETE", "/api/attachments?filename=b.png", "", 200, []string{`"count":0`}, nil},
		{"bulk erases", alice, "DELETE", "/api/attachments?filename%5Bin%5D=c.png,d.png", "", 200, []string{`"count":2`, `"hardDeleted":true`}, nil},
		{"one erases", alice, "DELETE", "/api/attachments/1", "", 200, []string{`"hardDeleted":true`}, nil},
	})
	var left []int64
	if err := db.NewSelect().Model((*Attachment)(nil)).WhereAllWithDeleted().Column("id").Order("id").Scan(ctx, &left); err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0] != 2 || left[1] != 5 {
		t.Fatalf("attachments left: %v, want the deleted 2 and the untouched 5", left)
	}
}

func TestExampleOwnersRestoreTheirPosts(t *testing.T) {
	h := newTestServer(t)
	play(t, h, []step{
		{"alice's post", alice, "POST", "/api/posts", `{"title":"Mine","content":"x","userId":2}`, 201, nil, nil},
		{"bob's post", bob, "POST", "/api/posts", `{"title":"His","content":"x","userId":3}`, 201, nil, nil},
		{"bob may not delete alice's", bob, "DELETE", "/api/posts/1", "", 404, nil, nil},
		{"delete alice's", alice, "DELETE", "/api/posts/1", "", 200, []string{`"softDeleted":true`}, nil},
		{"delete bob's", bob, "DELETE", "/api/posts/2", "", 200, nil, nil},
		{"alice's trash bin", alice, "GET", "/api/posts?onlyDeleted=true", "", 200, []string{"Mine", `"total":1`}, []string{"His"}},
		{"bob cannot find alice's deleted post", bob, "POST", "/api/posts/1/restore", "", 404, nil, []string{"Mine"}},
		{"nor a missing one", bob, "POST", "/api/posts/99/restore", "", 404, nil, nil},
		{"anonymous", "", "POST", "/api/posts/1/restore", "", 401, nil, nil},
		{"alice restores her own", alice, "POST", "/api/posts/1/restore", "", 200, []string{`"restored":true`, "Mine"}, nil},
		{"visible again", "", "GET", "/api/posts/1", "", 200, []string{"Mine"}, nil},
		{"owner, but live", alice, "POST", "/api/posts/1/restore", "", 409, nil, nil},
		{"admin restores bob's", admin, "POST", "/api/posts/2/restore", "", 200, []string{`"restored":true`, `"deletedAt":null`}, nil},
		{"admin, missing", admin, "POST", "/api/posts/99/restore", "", 404, nil, nil},
	})
}

func TestExampleDeletedPostsStayPrivate(t *testing.T) {
	h := newTestServer(t)
	play(t, h, []step{
		{"post", alice, "POST", "/api/posts", `{"title":"Gone","content":"x","userId":2}`, 201, nil, nil},
		{"delete", alice, "DELETE", "/api/posts/1", "", 200, nil, nil},
		{"list", bob, "GET", "/api/posts", "", 200, []string{`"total":0`}, []string{"Gone"}},
		{"get", bob, "GET", "/api/posts/1", "", 404, nil, []string{"Gone"}},
		{"anonymous get", "", "GET", "/api/posts/1", "", 404, nil, []string{"Gone"}},
		{"include deleted shows bob only his own", bob, "GET", "/api/posts?includeDeleted=true", "", 200, []string{`"total":0`}, []string{"Gone"}},
		{"anonymous may not ask", "", "GET", "/api/posts?includeDeleted=true", "", 401, nil, nil},
		{"a deleted post cannot be edited", alice, "PATCH", "/api/posts/1", `{"title":"Back"}`, 404, nil, nil},
		{"admin sees it", admin, "GET", "/api/posts?includeDeleted=true", "", 200, []string{"Gone", `"deletedAt":"20`}, nil},
		{"users never see deleted invoices", alice, "POST", "/api/invoices", `{"number":"INV-9","amount":1,"userId":2}`, 201, nil, []string{"deletedDate"}},
		{"admin deletes it", admin, "DELETE", "/api/invoices/1", "", 200, nil, nil},
		{"gone for alice", alice, "GET", "/api/invoices?includeDeleted=true", "", 403, nil, []string{"INV-9"}},
		{"tags hard delete", admin, "POST", "/api/tags", `{"name":"go"}`, 201, nil, nil},
		{"tag delete", admin, "DELETE", "/api/tags/1", "", 200, []string{`"softDeleted":false`, "Record permanently deleted"}, nil},
		{"no restore route for tags", admin, "POST", "/api/tags/1/restore", "", 404, nil, nil},
	})
}

func TestExampleInvoicesAreOwnedRows(t *testing.T) {
	h := newTestServer(t)
	play(t, h, []step{
		{"alice's", alice, "POST", "/api/invoices", `{"number":"INV-1","amount":1200,"userId":2}`, 201, nil, nil},
		{"bob's", bob, "POST", "/api/invoices", `{"number":"INV-2","amount":10}`, 201, []string{`"userId":3`}, nil},
		{"alice sees hers only", alice, "GET", "/api/invoices", "", 200, []string{"INV-1", `"total":1`}, []string{"INV-2"}},
		{"bob's is not found for alice", alice, "GET", "/api/invoices/2", "", 404, nil, nil},
		{"users do not delete invoices", alice, "DELETE", "/api/invoices/1", "", 403, nil, nil},
		{"the admin sees both", admin, "GET", "/api/invoices", "", 200, []string{`"total":2`}, nil},
	})
}

func TestExampleRejectsUnknownToken(t *testing.T) {
	h := newTestServer(t)
	req := httptest.NewRequest(http.MethodGet, "/api/posts", nil)
	req.Header.Set("Authorization", "Bearer nope")
	rec := httptest.NewRecorder()
	h.E.ServeHTTP(rec, req)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("status %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestExamplePostCommentsCascade(t *testing.T) {
	h := newTestServer(t)
	play(t, h, []step{
		{"post", alice, "POST", "/api/posts", `{"title":"Hello","content":"x","userId":2}`, 201, nil, nil},
		{"comment", bob, "POST", "/api/comments", `{"postId":1,"body":"nice"}`, 201, nil, nil},
		{"another", bob, "POST", "/api/comments", `{"postId":1,"body":"spam"}`, 201, nil, nil},
		{"spam deleted on its own", bob, "DELETE", "/api/comments/2", "", 200, nil, nil},
		{"delete the post", alice, "DELETE", "/api/posts/1", "", 200, nil, nil},
		{"its comment went with it", bob, "GET", "/api/comments/1", "", 404, nil, nil},
		{"restore the post", alice, "POST", "/api/posts/1/restore", "", 200, nil, nil},
		{"the comment is back", bob, "GET", "/api/comments", "", 200, []string{`"body":"nice"`, `"total":1`}, []string{"spam"}},
		{"a user does not cascade", admin, "DELETE", "/api/users/2", "", 200, nil, nil},
		{"alice's post stays", bob, "GET", "/api/posts/1", "", 200, nil, nil},
	})
}

func TestExampleAcceptsJWTs(t *testing.T) {
	secret := []byte("example-secret-example-secret-32")
	h := newTestServerWith(t, options{jwtSecret: secret})
	token := func(exp time.Duration) string {
		s, err := mintToken(secret, defaultJWTIssuer, defaultJWTAudience, "2", []string{"user"}, exp, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// claims signs alice's claims with the example's secret, changed by
	// extra (a nil value drops the claim).
	claims := func(extra jwt.MapClaims) string {
		c := jwt.MapClaims{"iss": defaultJWTIssuer, "aud": defaultJWTAudience, "sub": "2", "roles": []string{"user"}, "exp": time.Now().Add(time.Hour).Unix()}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	crit := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": defaultJWTIssuer, "aud": defaultJWTAudience, "sub": "2", "exp": time.Now().Add(time.Hour).Unix()})
	crit.Header["crit"] = []string{"b64"}
	crit.Header["b64"] = false
	critJWT, err := crit.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	// The token command mints what the server accepts.
	var minted strings.Builder
	if err := tokenCommand([]string{"-jwt-secret", string(secret), "-sub", "3", "-roles", "user"}, &minted); err != nil {
		t.Fatal(err)
	}
	bobJWT := strings.TrimSpace(minted.String())
	play(t, h, []step{
		{"a JWT for alice", token(time.Hour), "POST", "/api/invoices", `{"number":"INV-1","amount":1200,"userId":2}`, 201, nil, nil},
		{"an expired JWT", token(-time.Hour), "GET", "/api/invoices", "", 401, []string{"expired"}, nil},
		{"a JWT for another audience", claims(jwt.MapClaims{"aud": "billing-api"}), "GET", "/api/invoices", "", 401, []string{"another audience"}, nil},
		{"a JWT from another issuer", claims(jwt.MapClaims{"iss": "autoapi-example-staging"}), "GET", "/api/invoices", "", 401, []string{"another issuer"}, nil},
		{"a JWT without an audience", claims(jwt.MapClaims{"aud": nil}), "GET", "/api/invoices", "", 401, []string{"no aud claim"}, nil},
		{"a JWT without an issuer", claims(jwt.MapClaims{"iss": nil}), "GET", "/api/invoices", "", 401, []string{"no iss claim"}, nil},
		{"a JWT with a crit header", critJWT, "GET", "/api/invoices", "", 401, []string{`"status":401`, "crit header names extensions this server does not implement: b64"}, nil},
		{"a JWT issued in the future", claims(jwt.MapClaims{"iat": time.Now().Add(time.Hour).Unix()}), "GET", "/api/invoices", "", 401, []string{"issued in the future"}, nil},
		{"a JWT from the token command", bobJWT, "POST", "/api/invoices", `{"number":"INV-2","amount":300,"userId":3}`, 201, nil, nil},
		{"the demo tokens still work", admin, "GET", "/api/invoices", "", 200, []string{"INV-1", "INV-2"}, nil},
	})
	req := httptest.NewRequest(http.MethodGet, "/api/invoices", nil)
	req.Header.Set("Authorization", "Bearer "+token(-time.Hour))
	rec := httptest.NewRecorder()
	h.E.ServeHTTP(rec, req)
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Fatalf("WWW-Authenticate %q", got)
	}
}

// TestExampleJWTIssuerAndAudienceFlags: a server started with another
// issuer and audience accepts the tokens minted with the same flags, and
// refuses those of the defaults.
func TestExampleJWTIssuerAndAudienceFlags(t *testing.T) {
	secret := "example-secret-example-secret-32"
	h := newTestServerWith(t, options{jwtSecret: []byte(secret), jwtIssuer: "https://id.example.com", jwtAudience: "https://api.example.com"})
	mint := func(args ...string) string {
		var out strings.Builder
		if err := tokenCommand(append([]string{"-jwt-secret", secret, "-sub", "1", "-roles", "admin"}, args...), &out); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	play(t, h, []step{
		{"minted for this deployment", mint("-jwt-issuer", "https://id.example.com", "-jwt-audience", "https://api.example.com"), "GET", "/api/invoices", "", 200, nil, nil},
		{"minted with the defaults", mint(), "GET", "/api/invoices", "", 401, []string{"another issuer"}, nil},
	})
	for _, args := range [][]string{{"-sub", "2"}, {"-jwt-secret", secret}, {"-jwt-secret", secret, "-sub", "2", "-ttl", "-1h"}} {
		if err := tokenCommand(args, io.Discard); err == nil {
			t.Errorf("token %q: no error", args)
		}
	}
}
