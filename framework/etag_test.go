package framework_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Notecard has a nullable field, a hidden one and soft deletes.
type Notecard struct {
	bun.BaseModel `bun:"table:notecards"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Title     string     `bun:"title,notnull" json:"title"`
	Note      *string    `bun:"note" json:"note"`
	Secret    string     `bun:"secret" json:"-"`
	UpdatedAt time.Time  `bun:"updated_at,notnull" json:"updatedAt"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// notecardApps are n Apps of cards on one database, with one cursor secret,
// as instances of one deployment are.
func notecardApps(t *testing.T, n int, opts ...framework.Option) (*bun.DB, []*echo.Echo) {
	t.Helper()
	db := dbtest.Open(t)
	var out []*echo.Echo
	for i := 0; i < n; i++ {
		cfg := baseConfig(db)
		cfg.CursorSecret = []byte("a secret the instances share, 32+ bytes long")
		app, err := framework.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := framework.Register[Notecard](app, opts...); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := app.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, app.NewEcho())
	}
	return db, out
}

// TestETags: every item answer carries a strong ETag that follows the
// row's stored state, hidden and deletion fields included, and is the
// same on every instance; If-None-Match gives a 304.
func TestETags(t *testing.T) {
	db, es := notecardApps(t, 2)
	e := es[0]
	created := call{method: "POST", url: "/api/notecards", token: userToken, body: `{"title":"a"}`}.do(t, e)
	tag := created.Header().Get("ETag")
	if created.Code != 201 || !strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, "W/") {
		t.Fatalf("create: %d ETag %q", created.Code, tag)
	}
	get := func(e *echo.Echo, token string, url string) *httptest.ResponseRecorder {
		return call{method: "GET", url: url, token: token}.do(t, e)
	}
	if got := get(e, userToken, "/api/notecards/1").Header().Get("ETag"); got != tag {
		t.Errorf("GET's ETag %q, create's %q", got, tag)
	}
	if got := get(es[1], userToken, "/api/notecards/1").Header().Get("ETag"); got != tag {
		t.Errorf("another instance's ETag %q, want %q", got, tag)
	}
	// The hash is keyed: with another secret the same row has another
	// ETag, so no one can work a tag out from guessed values, hidden ones
	// included.
	cfg := baseConfig(db)
	cfg.CursorSecret = []byte("another deployment's secret, 32+ bytes long")
	other, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Notecard](other); err != nil {
		t.Fatal(err)
	}
	if got := get(other.NewEcho(), userToken, "/api/notecards/1").Header().Get("ETag"); got == tag || got == "" {
		t.Errorf("another secret's ETag %q, this one's %q", got, tag)
	}
	if h := get(e, userToken, "/api/notecards/1").Header().Get("Accept-Patch"); !strings.Contains(h, "application/merge-patch+json") {
		t.Errorf("Accept-Patch %q", h)
	}

	// 304 for the ETag the client holds, with no body.
	nm := call{method: "GET", url: "/api/notecards/1", token: userToken, headers: map[string]string{"If-None-Match": tag}}.do(t, e)
	if nm.Code != 304 || nm.Body.Len() != 0 || nm.Header().Get("ETag") != tag {
		t.Errorf("If-None-Match with the current ETag: %d %q", nm.Code, nm.Body)
	}
	if w := (call{method: "GET", url: "/api/notecards/1", token: userToken, headers: map[string]string{"If-None-Match": `W/` + tag}}).do(t, e); w.Code != 304 {
		t.Errorf("If-None-Match compares weakly: %d", w.Code)
	}
	if other := (call{method: "GET", url: "/api/notecards/1", token: userToken, headers: map[string]string{"If-None-Match": `"other"`}}).do(t, e); other.Code != 200 {
		t.Errorf("If-None-Match with another ETag: %d", other.Code)
	}

	// Every change of the stored row changes it: a PATCH, a change of a
	// hidden field by SQL, a soft delete and a restore.
	seen := map[string]string{tag: "created"}
	step := func(what string, tag string) {
		t.Helper()
		if tag == "" {
			t.Errorf("%s: no ETag", what)
		}
		if before, dup := seen[tag]; dup {
			t.Errorf("%s: the ETag of %s again", what, before)
		}
		seen[tag] = what
	}
	step("patch", call{method: "PATCH", url: "/api/notecards/1", token: userToken, body: `{"title":"b"}`}.do(t, e).Header().Get("ETag"))
	if _, err := db.NewUpdate().Model((*Notecard)(nil)).Set("secret = ?", "s").Where("id = 1").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	step("hidden field", get(e, userToken, "/api/notecards/1").Header().Get("ETag"))
	call{method: "DELETE", url: "/api/notecards/1", token: userToken}.do(t, e)
	deleted := get(e, adminToken, "/api/notecards/1?includeDeleted=true").Header().Get("ETag")
	step("soft delete", deleted)
	if h := get(e, userToken, "/api/notecards/1").Header().Get("ETag"); h != "" {
		t.Errorf("a deleted row's ETag to a caller who cannot see it: %q", h)
	}
	restored := call{method: "POST", url: "/api/notecards/1/restore", token: adminToken}.do(t, e)
	step("restore", restored.Header().Get("ETag"))
	if got := get(e, adminToken, "/api/notecards/1").Header().Get("ETag"); got != restored.Header().Get("ETag") {
		t.Errorf("GET after restore %q, restore's %q", got, restored.Header().Get("ETag"))
	}
	// The deletion field is in the admin's answers, not in the user's:
	// two representations, two ETags.
	if get(e, userToken, "/api/notecards/1").Header().Get("ETag") == restored.Header().Get("ETag") {
		t.Error("a caller who sees the deletion field and one who does not get the same ETag")
	}
	// An answer with fields left out or records embedded has no ETag.
	for _, url := range []string{"/api/notecards/1?fields=title"} {
		if r := get(e, userToken, url); r.Header().Get("ETag") != "" {
			t.Errorf("GET %s has the ETag %q", url, r.Header().Get("ETag"))
		}
	}
}

// TestPreconditions: If-Match guards PATCH, DELETE (soft and permanent)
// and restore; a row the caller may not see fails like a missing one.
func TestPreconditions(t *testing.T) {
	_, es := notecardApps(t, 1)
	e := es[0]
	do := func(method, url, token, body, ifMatch string) *httptest.ResponseRecorder {
		c := call{method: method, url: url, token: token, body: body}
		if ifMatch != "" {
			c.headers = map[string]string{"If-Match": ifMatch}
		}
		return c.do(t, e)
	}
	for i := 0; i < 3; i++ {
		do("POST", "/api/notecards", userToken, `{"title":"c"}`, "")
	}
	tag := do("GET", "/api/notecards/1", userToken, "", "").Header().Get("ETag")
	stale := do("PATCH", "/api/notecards/1", userToken, `{"title":"d"}`, `"stale"`)
	if stale.Code != 412 || stale.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(stale.Body.String(), `"status":412`) {
		t.Errorf("PATCH with a stale ETag: %d %s", stale.Code, stale.Body)
	}
	if got := do("GET", "/api/notecards/1", userToken, "", ""); !strings.Contains(got.Body.String(), `"title":"c"`) {
		t.Errorf("a failed precondition changed the row: %s", got.Body)
	}
	ok := do("PATCH", "/api/notecards/1", userToken, `{"title":"d"}`, tag)
	if ok.Code != 200 || ok.Header().Get("ETag") == tag {
		t.Errorf("PATCH with the current ETag: %d %s", ok.Code, ok.Body)
	}
	if again := do("PATCH", "/api/notecards/1", userToken, `{"title":"e"}`, tag); again.Code != 412 {
		t.Errorf("PATCH with the ETag it replaced: %d", again.Code)
	}
	if star := do("PATCH", "/api/notecards/1", userToken, `{"title":"f"}`, "*"); star.Code != 200 {
		t.Errorf("If-Match: * on a live row: %d", star.Code)
	}
	if empty := do("PATCH", "/api/notecards/1", userToken, `{}`, `"stale"`); empty.Code != 412 {
		t.Errorf("an empty PATCH with a stale ETag: %d", empty.Code)
	}

	// Soft delete and restore.
	tag2 := do("GET", "/api/notecards/2", userToken, "", "").Header().Get("ETag")
	if r := do("DELETE", "/api/notecards/2", userToken, "", `"stale"`); r.Code != 412 {
		t.Errorf("DELETE with a stale ETag: %d", r.Code)
	}
	if r := do("DELETE", "/api/notecards/2", userToken, "", tag2); r.Code != 200 {
		t.Errorf("DELETE with the current ETag: %d %s", r.Code, r.Body)
	}
	// user may not see deleted cards: the deleted row is as missing as
	// card 99, with If-Match and without.
	missing := do("PATCH", "/api/notecards/99", userToken, `{"title":"x"}`, "*")
	hidden := do("PATCH", "/api/notecards/2", userToken, `{"title":"x"}`, "*")
	if missing.Code != 412 || hidden.Code != 412 || missing.Body.String() != hidden.Body.String() {
		t.Errorf("If-Match: * on a missing row (%d %s) and on a deleted one (%d %s)", missing.Code, missing.Body, hidden.Code, hidden.Body)
	}
	if r := do("DELETE", "/api/notecards/2", userToken, "", "*"); r.Code != 412 {
		t.Errorf("DELETE with If-Match: * of a deleted row: %d", r.Code)
	}
	deletedTag := do("GET", "/api/notecards/2?includeDeleted=true", adminToken, "", "").Header().Get("ETag")
	if r := do("POST", "/api/notecards/2/restore", adminToken, "", tag2); r.Code != 412 {
		t.Errorf("restore with the ETag from before the delete: %d", r.Code)
	}
	if r := do("POST", "/api/notecards/2/restore", adminToken, "", deletedTag); r.Code != 200 {
		t.Errorf("restore with the deleted row's ETag: %d %s", r.Code, r.Body)
	}

	// Permanent delete.
	tag3 := do("GET", "/api/notecards/3", adminToken, "", "").Header().Get("ETag")
	if r := do("DELETE", "/api/notecards/3?permanent=true", adminToken, "", `"stale"`); r.Code != 412 {
		t.Errorf("permanent DELETE with a stale ETag: %d", r.Code)
	}
	if r := do("DELETE", "/api/notecards/3?permanent=true", adminToken, "", tag3); r.Code != 200 {
		t.Errorf("permanent DELETE with the current ETag: %d %s", r.Code, r.Body)
	}

	// RequireIfMatch: a write without one is a 428.
	_, es = notecardApps(t, 1, framework.RequireIfMatch())
	e = es[0]
	do("POST", "/api/notecards", userToken, `{"title":"c"}`, "")
	for _, c := range []struct{ method, url, body string }{
		{"PATCH", "/api/notecards/1", `{"title":"d"}`},
		{"DELETE", "/api/notecards/1", ""},
		{"DELETE", "/api/notecards/1?permanent=true", ""},
		{"POST", "/api/notecards/1/restore", ""},
	} {
		if r := do(c.method, c.url, adminToken, c.body, ""); r.Code != 428 || !strings.Contains(r.Body.String(), "If-Match") {
			t.Errorf("%s %s without If-Match: %d %s", c.method, c.url, r.Code, r.Body)
		}
	}
	tag = do("GET", "/api/notecards/1", userToken, "", "").Header().Get("ETag")
	if r := do("PATCH", "/api/notecards/1", userToken, `{"title":"d"}`, tag); r.Code != 200 {
		t.Errorf("PATCH with If-Match where it is required: %d", r.Code)
	}
}

// TestIfMatchRace: 20 PATCHes at once with one ETag: exactly one wins,
// the others get 412, on both engines.
func TestIfMatchRace(t *testing.T) {
	_, es := notecardApps(t, 2)
	call{method: "POST", url: "/api/notecards", token: userToken, body: `{"title":"start"}`}.do(t, es[0])
	tag := call{method: "GET", url: "/api/notecards/1", token: userToken}.do(t, es[0]).Header().Get("ETag")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[int]int{}
	)
	start := make(chan struct{})
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			body, _ := json.Marshal(map[string]string{"title": "writer " + string(rune('a'+i))})
			r := call{method: "PATCH", url: "/api/notecards/1", token: userToken, body: string(body), headers: map[string]string{"If-Match": tag}}.do(t, es[i%2])
			mu.Lock()
			codes[r.Code]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	if codes[http.StatusOK] != 1 || codes[http.StatusPreconditionFailed] != 19 {
		t.Errorf("20 PATCHes with one ETag: %v, want one 200 and 19 412", codes)
	}
}

// TestMergePatch: PATCH takes application/merge-patch+json: absent keys
// stay, null clears a nullable field, and the rules of PATCH hold.
func TestMergePatch(t *testing.T) {
	_, es := notecardApps(t, 1)
	e := es[0]
	call{method: "POST", url: "/api/notecards", token: userToken, body: `{"title":"a","note":"keep me?"}`}.do(t, e)
	patch := func(body string) *httptest.ResponseRecorder {
		return call{method: "PATCH", url: "/api/notecards/1", token: userToken, body: body, headers: map[string]string{"Content-Type": "application/merge-patch+json"}}.do(t, e)
	}
	if r := patch(`{"note":null}`); r.Code != 200 || !strings.Contains(r.Body.String(), `"title":"a","note":null`) {
		t.Errorf("null clears note, title stays: %d %s", r.Code, r.Body)
	}
	if r := patch(`{"title":null}`); r.Code != 400 || !strings.Contains(r.Body.String(), `"field":"title"`) {
		t.Errorf("null on a field that cannot be null: %d %s", r.Code, r.Body)
	}
	if r := patch(`{"secret":"x"}`); r.Code != 400 || !strings.Contains(r.Body.String(), `"field":"secret"`) {
		t.Errorf("a hidden field: %d %s", r.Code, r.Body)
	}
	if r := patch(`{"deletedAt":"2026-01-01T00:00:00Z"}`); r.Code != 400 {
		t.Errorf("the deletion field: %d %s", r.Code, r.Body)
	}
	if r := patch(`[{"op":"replace","path":"/title","value":"b"}]`); r.Code != 400 {
		t.Errorf("a JSON Patch array: %d %s", r.Code, r.Body)
	}
	if r := (call{method: "PATCH", url: "/api/notecards/1", token: userToken, body: `{"title":"b"}`, headers: map[string]string{"Content-Type": "application/json-patch+json"}}).do(t, e); r.Code != 415 {
		t.Errorf("JSON Patch's media type: %d %s", r.Code, r.Body)
	}
	doc := call{method: "GET", url: "/api/openapi.json", token: adminToken}.do(t, e).Body.String()
	if !strings.Contains(doc, `"application/merge-patch+json"`) {
		t.Error("the document does not say PATCH takes merge patches")
	}
}

// TestIfMatchOnAnOverride: an override of a write meets If-Match as the
// generated handler would, its statements in the precondition's
// transaction.
func TestIfMatchOnAnOverride(t *testing.T) {
	h := buildApp(t, appSpec{
		models: []func(*framework.App) error{registered[Notecard]()},
		setup: func(app *framework.App) error {
			return app.Override("notecards", framework.OpDelete, func(c *framework.Context) error {
				id, err := c.Key()
				if err != nil {
					return err
				}
				if _, err := c.DB().NewDelete().Model((*Notecard)(nil)).Where("id = ?", id).ForceDelete().Exec(c.Request().Context()); err != nil {
					return c.DBError(err)
				}
				return c.JSON(http.StatusOK, map[string]bool{"success": true})
			})
		},
	})
	e := h.E
	call{method: "POST", url: "/api/notecards", token: userToken, body: `{"title":"a"}`}.do(t, e)
	tag := call{method: "GET", url: "/api/notecards/1", token: userToken}.do(t, e).Header().Get("ETag")
	if r := (call{method: "DELETE", url: "/api/notecards/1", token: userToken, headers: map[string]string{"If-Match": `"stale"`}}).do(t, e); r.Code != 412 {
		t.Errorf("the override with a stale ETag: %d %s", r.Code, r.Body)
	}
	if r := (call{method: "GET", url: "/api/notecards/1", token: userToken}).do(t, e); r.Code != 200 {
		t.Errorf("the record went: %d", r.Code)
	}
	if r := (call{method: "DELETE", url: "/api/notecards/1", token: userToken, headers: map[string]string{"If-Match": tag}}).do(t, e); r.Code != 200 {
		t.Errorf("the override with the current ETag: %d %s", r.Code, r.Body)
	}
	if r := (call{method: "GET", url: "/api/notecards/1?includeDeleted=true", token: adminToken}).do(t, e); r.Code != 404 {
		t.Errorf("the override's delete: %d", r.Code)
	}
}
