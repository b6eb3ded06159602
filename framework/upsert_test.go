package framework_test

import (
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
		{"a reader may do neither", readerToken, "PUT", "/api/regions/west", `{"name":"West"}`, 403, "you may not create regions", ""},
		{"validation as for a create", userToken, "PUT", "/api/regions/west", `{"rank":"high"}`, 400, fieldErr("rank"), ""},
		{"a route's name is its route", userToken, "PUT", "/api/regions/permissions", `{"name":"P"}`, 405, "", ""},
		{"a key no path can name", userToken, "PUT", "/api/regions/..", `{"name":"P"}`, 422, fieldErr("code"), ""},
		{"not JSON", userToken, "PUT", "/api/regions/west", `name=West`, 400, "", ""},
		{"delete south", userToken, "DELETE", "/api/regions/south", "", 200, "", ""},
		{"a deleted key is a 409", userToken, "PUT", "/api/regions/south", `{"name":"South again"}`, 409, "restore it first", ""},
		{"restore needs its permission", userToken, "PUT", "/api/regions/south?restore=true", `{"name":"South again"}`, 403, "restore", ""},
		{"restore and replace", adminToken, "PUT", "/api/regions/south?restore=true", `{"name":"South again"}`, 200, `"name":"South again"`, ""},
		{"live again", userToken, "GET", "/api/regions/south", "", 200, `"name":"South again"`, ""},
		{"no PUT where the database picks keys", adminToken, "PUT", "/api/widgets/1", `{"name":"w","qty":1}`, 405, "", ""},
	})
	// The two precondition steps need headers.
	e := h.E
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
