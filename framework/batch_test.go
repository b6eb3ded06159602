package framework_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/autoapi-go/autoapi/framework"
)

// TestBatch runs writes in one transaction: all or none, each authorized
// and checked as it would be alone, with references to records made
// earlier in the batch.
func TestBatch(t *testing.T) {
	h := buildApp(t, appSpec{
		config: func(c *framework.Config) { c.MaxBatchOperations = 5 },
		models: []func(*framework.App) error{
			registered[Thread](), registered[Reply](), registered[Reaction](), registered[Watcher](), registered[Member](), registered[Pin](),
		},
	})
	ops := func(list ...string) string { return `{"operations":[` + strings.Join(list, ",") + `]}` }
	playSteps(t, h, []step{
		{"a member", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"red","badge":1}`, 201, "", ""},
		{"a batch with references", userToken, "POST", "/api/batch", ops(
			`{"op":"create","resource":"threads","ref":"t","body":{"title":"new"}}`,
			`{"op":"create","resource":"replies","body":{"threadId":{"ref":"t"},"body":"first"}}`,
			`{"op":"create","resource":"pins","body":{"threadId":{"ref":"t"}}}`,
			`{"op":"update","resource":"threads","id":{"ref":"t"},"body":{"title":"renamed"}}`,
			`{"op":"delete","resource":"members","id":1}`,
		), 200, `{"data":[{"status":201,"body":{"data":{"id":1,"title":"new"}},"etag":"`, ""},
		{"all applied", userToken, "GET", "/api/threads/1", "", 200, `"title":"renamed"`, ""},
		{"the reply refers to the thread", userToken, "GET", "/api/replies?threadId=1", "", 200, `"total":1`, ""},
		{"the member is deleted", userToken, "GET", "/api/members", "", 200, `"total":0`, ""},

		{"a failure applies nothing", userToken, "POST", "/api/batch", ops(
			`{"op":"create","resource":"threads","body":{"title":"lost"}}`,
			`{"op":"create","resource":"pins","body":{"threadId":999}}`,
		), 422, `"detail":"operation 1 (create pins) failed, so none was applied: threadId: refers to a record of threads that does not exist"`, ""},
		{"the first create is not there", userToken, "GET", "/api/threads?title=lost", "", 200, `"total":0`, ""},
		{"each operation is authorized alone", readerToken, "POST", "/api/batch", ops(
			`{"op":"create","resource":"threads","body":{"title":"mine"}}`,
		), 403, `"field":"operations[0]","message":"you may not create threads"`, ""},
		{"a field fault names the operation and field", userToken, "POST", "/api/batch", ops(
			`{"op":"create","resource":"threads","body":{"title":"ok"}}`,
			`{"op":"update","resource":"threads","id":1,"body":{"nope":1}}`,
		), 400, `"field":"operations[1].body.nope"`, ""},
		{"a restore of a live row", adminToken, "POST", "/api/batch", ops(
			`{"op":"restore","resource":"threads","id":1}`,
		), 409, "threads 1 is not deleted", ""},
		{"a restore, a permanent delete, cascades", adminToken, "POST", "/api/batch", ops(
			`{"op":"restore","resource":"members","id":1}`,
			`{"op":"delete","resource":"pins","id":1}`,
			`{"op":"delete","resource":"threads","id":1}`,
		), 200, `{"status":200,"body":{"data":{"id":1,"email":"a@x.io"`, ""},
		{"the delete cascaded in the batch", adminToken, "GET", "/api/replies?onlyDeleted=true", "", 200, `"total":1`, ""},
		{"a unique collision rolls back", adminToken, "POST", "/api/batch", ops(
			`{"op":"create","resource":"threads","body":{"title":"x"}}`,
			`{"op":"create","resource":"members","body":{"email":"a@x.io","team":"blue","badge":9}}`,
		), 409, `"field":"operations[1].body.email"`, ""},
		{"nothing of it", adminToken, "GET", "/api/threads?title=x", "", 200, `"total":0`, ""},

		{"an unknown ref fails before anything runs", userToken, "POST", "/api/batch", ops(
			`{"op":"create","resource":"threads","body":{"title":"y"}}`,
			`{"op":"create","resource":"replies","body":{"threadId":{"ref":"zz"},"body":"x"}}`,
		), 422, `"field":"operations[1].body","message":"refers to \"zz\", which no earlier create of the batch names"`, ""},
		{"every fault at once", userToken, "POST", "/api/batch", ops(
			`{"op":"frob","resource":"threads"}`,
			`{"op":"update","resource":"threads","body":{}}`,
			`{"op":"create","resource":"nothing","body":{}}`,
			`{"op":"delete","resource":"threads","id":1,"ref":"r"}`,
		), 422, `"errors":[{"field":"operations[0].op"`, ""},
		{"too many operations", userToken, "POST", "/api/batch", ops(
			`{"op":"delete","resource":"threads","id":1}`, `{"op":"delete","resource":"threads","id":1}`, `{"op":"delete","resource":"threads","id":1}`,
			`{"op":"delete","resource":"threads","id":1}`, `{"op":"delete","resource":"threads","id":1}`, `{"op":"delete","resource":"threads","id":1}`,
		), 422, "a batch takes at most 5", ""},
		{"no operations", userToken, "POST", "/api/batch", `{"operations":[]}`, 422, "at least one", ""},
		{"a body nested deep", userToken, "POST", "/api/batch", ops(`{"op":"create","resource":"threads","body":` + strings.Repeat(`{"x":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`), 422, "nested more than 32 levels", ""},
		{"a key that is no path", adminToken, "POST", "/api/batch", ops(`{"op":"delete","resource":"threads","id":"%zz"}`), 404, "", ""},
		{"nor a query", adminToken, "POST", "/api/batch", ops(`{"op":"delete","resource":"threads","id":"1?permanent=true"}`), 404, "", ""},
		{"unknown members", userToken, "POST", "/api/batch", `{"operations":[],"atomic":false}`, 400, "", ""},
		{"not JSON", userToken, "POST", "/api/batch", `operations`, 400, "", ""},
		{"the body limit holds", userToken, "POST", "/api/batch", ops(`{"op":"create","resource":"threads","body":{"title":"` + strings.Repeat("x", 2<<20) + `"}}`), 413, "", ""},
		{"anonymous", "", "POST", "/api/batch", ops(`{"op":"create","resource":"threads","body":{"title":"a"}}`), 401, `"field":"operations[0]"`, ""},
		{"the document has it", adminToken, "GET", "/api/openapi.json", "", 200, `"/api/batch"`, ""},
	})
}

// TestBatchIfMatch: an operation's ifMatch is its If-Match.
func TestBatchIfMatch(t *testing.T) {
	_, es := notecardApps(t, 1)
	e := es[0]
	call{method: "POST", url: "/api/notecards", token: userToken, body: `{"title":"a"}`}.do(t, e)
	tag := call{method: "GET", url: "/api/notecards/1", token: userToken}.do(t, e).Header().Get("ETag")
	body := func(ifMatch string) string {
		return fmt.Sprintf(`{"operations":[{"op":"update","resource":"notecards","id":1,"ifMatch":%q,"body":{"title":"b"}}]}`, ifMatch)
	}
	if r := (call{method: "POST", url: "/api/batch", token: userToken, body: body(`"stale"`)}).do(t, e); r.Code != 412 || !strings.Contains(r.Body.String(), "operations[0]") {
		t.Errorf("a stale ifMatch: %d %s", r.Code, r.Body)
	}
	r := call{method: "POST", url: "/api/batch", token: userToken, body: body(tag)}.do(t, e)
	if r.Code != 200 || !strings.Contains(r.Body.String(), `"title":"b"`) || strings.Contains(r.Body.String(), tag) {
		t.Errorf("the current ifMatch: %d %s", r.Code, r.Body)
	}
}

// TestBatchOwnershipAndHooks: in a batch, own-only grants hold as alone
// (someone else's row is missing, a row in someone else's name is
// refused), and lifecycle hooks run, in the batch's transaction.
func TestBatchOwnershipAndHooks(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = ownerPolicy
			cfg.Authenticator = ownerTokens
		},
		models: []func(*framework.App) error{registered[OPost](), registered[OComment](framework.Owner("userId"))},
		setup: func(app *framework.App) error {
			return framework.SetHooks(app, framework.Hooks[OPost]{
				AfterCreate: func(_ context.Context, ev *framework.Event, p *OPost) error {
					mu.Lock()
					seen = append(seen, fmt.Sprintf("created %s by %s", p.Title, ev.Principal.ID))
					mu.Unlock()
					return nil
				},
				BeforeDelete: func(_ context.Context, _ *framework.Event, id any, _ bool) error {
					if id == int64(1) {
						return framework.Refuse(409, "post 1 is pinned")
					}
					return nil
				},
			})
		},
	})
	ops := func(list ...string) string { return `{"operations":[` + strings.Join(list, ",") + `]}` }
	playSteps(t, h, []step{
		{"u3's post", "u3", "POST", "/api/oposts", `{"title":"theirs"}`, 201, "", ""},
		{"own rows in a batch", "u2", "POST", "/api/batch", ops(
			`{"op":"create","resource":"oposts","ref":"p","body":{"title":"mine"}}`,
			`{"op":"create","resource":"ocomments","body":{"postId":{"ref":"p"},"body":"mine too"}}`,
		), 200, `"userId":2`, ""},
		{"someone else's row is missing in a batch too", "u2", "POST", "/api/batch", ops(
			`{"op":"update","resource":"oposts","id":2,"body":{"title":"still mine"}}`,
			`{"op":"update","resource":"oposts","id":1,"body":{"title":"taken"}}`,
		), 404, `"field":"operations[1]","message":"oposts 1 not found"`, ""},
		{"no row in someone else's name", "u2", "POST", "/api/batch", ops(
			`{"op":"create","resource":"oposts","body":{"title":"x","userId":3}}`,
		), 403, `"field":"operations[0]"`, ""},
		{"a hook's refusal stops the batch", "admin", "POST", "/api/batch", ops(
			`{"op":"create","resource":"oposts","body":{"title":"rolled back"}}`,
			`{"op":"delete","resource":"oposts","id":1}`,
		), 409, "post 1 is pinned", ""},
		{"nothing of it stayed", "admin", "GET", "/api/oposts?title=rolled%20back", "", 200, `"total":0`, ""},
		{"u2's post is as it was", "u2", "GET", "/api/oposts/2", "", 200, `"title":"mine"`, ""},
	})
	mu.Lock()
	defer mu.Unlock()
	want := []string{"created theirs by 3", "created mine by 2", "created rolled back by 1"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("the hooks saw %q, want %q", seen, want)
	}
}
