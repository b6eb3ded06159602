package framework_test

import (
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
)

// Region has a client-chosen key, a nullable field and soft deletes.
type Region struct {
	bun.BaseModel `bun:"table:regions"`

	Code      string     `bun:"code,pk" json:"code"`
	Name      string     `bun:"name,notnull" json:"name"`
	Motto     *string    `bun:"motto" json:"motto"`
	Rank      int64      `bun:"rank,notnull" json:"rank"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// TestUpsert: PUT creates a record with the path's key or replaces the
// one there, in one transaction; preconditions and soft deletes as
// documented; resources whose keys the database chooses have no PUT.
func TestUpsert(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[Region](), registered[Widget]()}})
	playSteps(t, h, []step{
		{"create", userToken, "PUT", "/api/regions/north", `{"name":"North","motto":"cold","rank":1}`, 201, `{"data":{"code":"north","name":"North","motto":"cold","rank":1}}`, ""},
		{"replace: left-out fields are cleared", userToken, "PUT", "/api/regions/north", `{"name":"Nord"}`, 200, `{"data":{"code":"north","name":"Nord","motto":null,"rank":0}}`, ""},
		{"the key in the body must be the path's", userToken, "PUT", "/api/regions/north", `{"code":"south","name":"S"}`, 400, fieldErr("code"), ""},
		{"the same key may be sent", userToken, "PUT", "/api/regions/north", `{"code":"north","name":"N","rank":2}`, 200, `"rank":2`, ""},
		{"create only", userToken, "PUT", "/api/regions/south", `{"name":"South"}`, 201, `"code":"south"`, ""},
		{"a reader may do neither", readerToken, "PUT", "/api/regions/west", `{"name":"West"}`, 403, "you may not create or update regions", ""},
		{"validation as for a create", userToken, "PUT", "/api/regions/west", `{"rank":"high"}`, 400, fieldErr("rank"), ""},
		{"a route's name is its route", userToken, "PUT", "/api/regions/permissions", `{"name":"P"}`, 405, "", ""},
		{"a key no path can name", userToken, "PUT", "/api/regions/..", `{"name":"P"}`, 422, fieldErr("code"), ""},
		{"not JSON", userToken, "PUT", "/api/regions/west", `name=West`, 400, "", ""},
		{"delete south", userToken, "DELETE", "/api/regions/south", "", 200, "", ""},
		{"to a caller who cannot see deleted rows the key is taken, as for a create", userToken, "PUT", "/api/regions/south", `{"name":"South again"}`, 409, fieldErr("code"), "deleted"},
		{"and so it stays with restore=true", userToken, "PUT", "/api/regions/south?restore=true", `{"name":"South again"}`, 409, fieldErr("code"), "deleted"},
		{"one who sees them is told to restore", adminToken, "PUT", "/api/regions/south", `{"name":"South again"}`, 409, "restore it first", ""},
		{"anonymous callers learn nothing", "", "PUT", "/api/regions/south", `{"name":"x"}`, 401, "", "deleted"},
		{"restore and replace", adminToken, "PUT", "/api/regions/south?restore=true", `{"name":"South again"}`, 200, `"name":"South again"`, ""},
		{"live again", userToken, "GET", "/api/regions/south", "", 200, `"name":"South again"`, ""},
		{"no PUT where the database picks keys", adminToken, "PUT", "/api/widgets/1", `{"name":"w","qty":1}`, 405, "", ""},
	})
	// The two precondition steps need headers.
	e := h.E
	if r := (call{method: "PUT", url: "/api/regions/fresh", token: userToken, body: `{"name":"F"}`, headers: map[string]string{"If-None-Match": "*"}}).do(t, e); r.Code != 201 {
		t.Errorf("If-None-Match: * on a new key: %d %s", r.Code, r.Body)
	}
	if r := (call{method: "PUT", url: "/api/regions/north", token: userToken, body: `{"name":"X"}`, headers: map[string]string{"If-None-Match": "*"}}).do(t, e); r.Code != 412 {
		t.Errorf("If-None-Match: * on an existing key: %d %s", r.Code, r.Body)
	}
	if r := (call{method: "PUT", url: "/api/regions/east", token: userToken, body: `{"name":"East"}`, headers: map[string]string{"If-Match": `"x"`}}).do(t, e); r.Code != 412 {
		t.Errorf("If-Match on a missing key: %d %s", r.Code, r.Body)
	}
	tag := call{method: "GET", url: "/api/regions/north", token: userToken}.do(t, e).Header().Get("ETag")
	if r := (call{method: "PUT", url: "/api/regions/north", token: userToken, body: `{"name":"Y"}`, headers: map[string]string{"If-Match": `"stale"`}}).do(t, e); r.Code != 412 {
		t.Errorf("If-Match stale: %d %s", r.Code, r.Body)
	}
	if r := (call{method: "PUT", url: "/api/regions/north", token: userToken, body: `{"name":"Y"}`, headers: map[string]string{"If-Match": tag}}).do(t, e); r.Code != 200 || r.Header().Get("ETag") == tag {
		t.Errorf("If-Match current: %d %s", r.Code, r.Body)
	}
}

// TestUpsertRace: PUTs of one new key at once create it once and replace
// it for the others, on both engines: the key is locked before it exists.
func TestUpsertRace(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[Region]()}})
	call{method: "GET", url: "/api/regions", token: userToken}.do(t, h.E)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[int]int{}
	)
	start := make(chan struct{})
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := call{method: "PUT", url: "/api/regions/new", token: userToken, body: `{"name":"New"}`}.do(t, h.E)
			mu.Lock()
			codes[r.Code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if codes[201] != 1 || codes[200] != 19 {
		t.Errorf("20 PUTs of one new key: %v, want one 201 and 19 200", codes)
	}
}
