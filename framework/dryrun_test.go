package framework_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Pin refers to a thread through a foreign key, without cascading.
type Pin struct {
	bun.BaseModel `bun:"table:pins"`

	ID       int64   `bun:"id,pk,autoincrement" json:"id"`
	ThreadID int64   `bun:"thread_id,notnull" json:"threadId"`
	Thread   *Thread `bun:"rel:belongs-to,join:thread_id=id" json:"thread,omitempty"`
}

// TestDryRuns previews restores and deletes: the answer lists the rows the
// operation would change, including those its cascades reach, or the
// operation's own refusal, and nothing changes.
func TestDryRuns(t *testing.T) {
	h := buildApp(t, appSpec{
		config: func(c *framework.Config) {
			// user sees deleted threads but not deleted replies or
			// reactions: it learns how many of those, not which. It may
			// restore members without seeing deleted ones.
			c.Policy = testPolicy + "p, user, threads, restore\np, user, threads, read_deleted\np, user, members, restore\n"
		},
		models: []func(*framework.App) error{
			registered[Thread](), registered[Reply](framework.Cascade("reactions")), registered[Reaction](), registered[Watcher](),
			registered[Member](), registered[Sticker](), registered[Pin](),
		},
	})
	playSteps(t, h, []step{
		{"thread", adminToken, "POST", "/api/threads", `{"title":"t"}`, 201, "", ""},
		{"reply 1", adminToken, "POST", "/api/replies", `{"threadId":1,"body":"a"}`, 201, "", ""},
		{"reply 2", adminToken, "POST", "/api/replies", `{"threadId":1,"body":"b"}`, 201, "", ""},
		{"reaction", adminToken, "POST", "/api/reactions", `{"replyId":2,"emoji":"+1"}`, 201, "", ""},
		{"reply 2 deleted on its own", adminToken, "DELETE", "/api/replies/1", "", 200, "", ""},

		{"preview the delete", adminToken, "POST", "/api/threads/1/deletion/dry-run", "", 200,
			`{"data":{"rows":[{"resource":"threads","count":1,"ids":[1]},{"resource":"replies","count":1,"ids":[2]},{"resource":"reactions","count":1,"ids":[1]}]}}`, ""},
		{"nothing was deleted", adminToken, "GET", "/api/replies?count=true", "", 200, `"total":1`, ""},
		{"reader may not preview a delete", readerToken, "POST", "/api/threads/1/deletion/dry-run", "", 403, "you may not delete threads", ""},
		{"anonymous may not", "", "POST", "/api/threads/1/deletion/dry-run", "", 401, "", ""},
		{"a missing row is a 404", adminToken, "POST", "/api/threads/9/deletion/dry-run", "", 404, "", ""},
		{"permanent needs hard_delete", userToken, "POST", "/api/threads/1/deletion/dry-run?permanent=true", "", 403, "hard delete", ""},
		{"no other parameters", adminToken, "POST", "/api/threads/1/deletion/dry-run?limit=1", "", 400, fieldErr("limit"), ""},

		{"delete the thread", adminToken, "DELETE", "/api/threads/1", "", 200, "", ""},
		{"preview its restore", adminToken, "POST", "/api/threads/1/restore/dry-run", "", 200,
			// reply 1 was deleted on its own and stays deleted.
			`{"data":{"rows":[{"resource":"threads","count":1,"ids":[1]},{"resource":"replies","count":1,"ids":[2]},{"resource":"reactions","count":1,"ids":[1]}]}}`, `"ids":[1,2]`},
		{"still deleted", adminToken, "GET", "/api/threads?onlyDeleted=true", "", 200, `"total":1`, ""},
		{"without read_deleted on the children, their counts only", userToken, "POST", "/api/threads/1/restore/dry-run", "", 200,
			`{"data":{"rows":[{"resource":"threads","count":1,"ids":[1]},{"resource":"replies","count":1},{"resource":"reactions","count":1}]}}`, ""},
		{"reader may not preview a restore", readerToken, "POST", "/api/threads/1/restore/dry-run", "", 403, "", ""},
		{"bulk preview", adminToken, "POST", "/api/threads/restore/dry-run?title=t", "", 200, `{"resource":"threads","count":1,"ids":[1]}`, ""},
		{"bulk preview needs a filter", adminToken, "POST", "/api/threads/restore/dry-run", "", 400, "at least one filter", ""},
		{"restore for the pin", adminToken, "POST", "/api/threads/1/restore", "", 200, "", ""},
		{"a pin refers to the thread", adminToken, "POST", "/api/pins", `{"threadId":1}`, 201, "", ""},
		{"delete it again", adminToken, "DELETE", "/api/threads/1", "", 200, "", ""},
		{"permanent delete preview names the reference", adminToken, "POST", "/api/threads/1/deletion/dry-run?permanent=true", "", 409, "still referenced by pins", ""},
		{"the thread is there", adminToken, "GET", "/api/threads/1?includeDeleted=true", "", 200, `"id":1`, ""},
		{"restore it for real", adminToken, "POST", "/api/threads/1/restore", "", 200, "", ""},
		{"a live row is not deleted", adminToken, "POST", "/api/threads/1/restore/dry-run", "", 409, "is not deleted", ""},
		{"the pin goes", adminToken, "DELETE", "/api/pins/1", "", 200, "", ""},
		{"permanent preview takes deleted children too", adminToken, "POST", "/api/threads/1/deletion/dry-run?permanent=true", "", 200,
			`{"data":{"rows":[{"resource":"threads","count":1,"ids":[1]},{"resource":"replies","count":2,`, ""},
		{"all still there", adminToken, "GET", "/api/replies?includeDeleted=true", "", 200, `"total":2`, ""},

		{"member", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"red","badge":1}`, 201, "", ""},
		{"member deleted", adminToken, "DELETE", "/api/members/1", "", 200, "", ""},
		{"restore, but no read_deleted: no preview", userToken, "POST", "/api/members/1/restore/dry-run", "", 403, "you may not read deleted members", `"rows"`},
		{"nor of a search through the trash", userToken, "POST", "/api/members/restore/dry-run?email=a@x.io", "", 403, "", `"rows"`},
		{"nor of a missing row", userToken, "POST", "/api/members/9/restore/dry-run", "", 403, "", ""},
		{"the real restore is the caller's to make", userToken, "POST", "/api/members/restore?team=nobody", "", 200, `"count":0`, ""},
		{"a live row takes the email", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"blue","badge":2}`, 201, "", ""},
		{"the preview meets the unique index", adminToken, "POST", "/api/members/1/restore/dry-run", "", 409, fieldErr("email"), ""},
		{"bulk too", adminToken, "POST", "/api/members/restore/dry-run?team=red", "", 409, fieldErr("email"), ""},
		{"a body is bounded as elsewhere", adminToken, "POST", "/api/members/1/restore/dry-run", strings.Repeat("x", 2<<20), 413, "", ""},

		{"no restore without soft deletes", adminToken, "POST", "/api/stickers/1/restore/dry-run", "", 404, "", ""},
		{"sticker", adminToken, "POST", "/api/stickers", `{"name":"go"}`, 201, "", ""},
		{"a hard delete previews", userToken, "POST", "/api/stickers/1/deletion/dry-run", "", 200, `{"resource":"stickers","count":1,"ids":[1]}`, ""},
		{"the sticker is there", userToken, "GET", "/api/stickers/1", "", 200, `"name":"go"`, ""},
	})
}

// TestNoDryRunOfAnOverride: a dry run previews the generated handler
// alone, so an operation an override serves, or a lifecycle hook
// intercepts, has none, in the routes and in the document.
func TestNoDryRunOfAnOverride(t *testing.T) {
	h := buildApp(t, appSpec{
		models: []func(*framework.App) error{registered[Thread](), registered[Reply](), registered[Reaction](), registered[Watcher](), registered[Member]()},
		setup: func(app *framework.App) error {
			if err := framework.SetHooks(app, framework.Hooks[Member]{
				BeforeRestore: func(context.Context, *framework.Event, any) error {
					return framework.Refuse(http.StatusConflict, "members are restored by support")
				},
			}); err != nil {
				return err
			}
			return app.Override("threads", framework.OpRestore, func(c *framework.Context) error { return c.Default() })
		},
	})
	playSteps(t, h, []step{
		{"thread", adminToken, "POST", "/api/threads", `{"title":"t"}`, 201, "", ""},
		{"deleted", adminToken, "DELETE", "/api/threads/1", "", 200, "", ""},
		{"no restore preview", adminToken, "POST", "/api/threads/1/restore/dry-run", "", 404, "", ""},
		{"bulk restore previews", adminToken, "POST", "/api/threads/restore/dry-run?id=1", "", 200, `"count":1`, ""},
		{"delete previews", adminToken, "POST", "/api/threads/1/deletion/dry-run?permanent=true", "", 200, `"count":1`, ""},
		{"the document agrees", adminToken, "GET", "/api/openapi.json", "", 200, `"/api/threads/restore/dry-run"`, `"/api/threads/{id}/restore/dry-run"`},
		{"member", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"red","badge":1}`, 201, "", ""},
		{"member deleted", adminToken, "DELETE", "/api/members/1", "", 200, "", ""},
		{"the hook refuses the restore", adminToken, "POST", "/api/members/1/restore", "", 409, "restored by support", ""},
		{"so there is no preview to say otherwise", adminToken, "POST", "/api/members/1/restore/dry-run", "", 404, "", `"rows"`},
		{"nor of the bulk restore", adminToken, "POST", "/api/members/restore/dry-run?id=1", "", 404, "", `"rows"`},
		{"a delete, which no hook intercepts, previews", adminToken, "POST", "/api/members/1/deletion/dry-run?permanent=true", "", 200, `"count":1`, ""},
		{"the member's document agrees", adminToken, "GET", "/api/openapi.json", "", 200, `"/api/members/{id}/deletion/dry-run"`, `"/api/members/restore/dry-run"`},
	})
}

// TestPurgeOverHTTP empties the trash of old rows through POST /purge,
// a dry run first, over the resources the caller may hard_delete.
func TestPurgeOverHTTP(t *testing.T) {
	h := buildApp(t, appSpec{
		// user may hard_delete threads but not see deleted ones: a purge's
		// counts by age would tell it when rows it may not see were
		// deleted, so it may not purge.
		config: func(c *framework.Config) { c.Policy = testPolicy + "p, user, threads, hard_delete\n" },
		models: []func(*framework.App) error{
			registered[Thread](), registered[Reply](), registered[Reaction](), registered[Watcher](), registered[Member](), registered[Sticker](),
		},
	})
	playSteps(t, h, []step{
		{"thread", adminToken, "POST", "/api/threads", `{"title":"t"}`, 201, "", ""},
		{"thread 2", adminToken, "POST", "/api/threads", `{"title":"u"}`, 201, "", ""},
		{"member", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"red","badge":1}`, 201, "", ""},
		{"deleted", adminToken, "DELETE", "/api/threads/1", "", 200, "", ""},
		{"member deleted", adminToken, "DELETE", "/api/members/1", "", 200, "", ""},

		{"an age is required", adminToken, "POST", "/api/purge", "", 400, fieldErr("olderThan"), ""},
		{"a bad age", adminToken, "POST", "/api/purge?olderThan=yesterday", "", 400, fieldErr("olderThan"), ""},
		{"a negative age", adminToken, "POST", "/api/purge?olderThan=-1h", "", 400, fieldErr("olderThan"), ""},
		{"a strict dryRun", adminToken, "POST", "/api/purge?olderThan=0s&dryRun=yes", "", 400, fieldErr("dryRun"), ""},
		{"no other parameters", adminToken, "POST", "/api/purge?olderThan=0s&limit=3", "", 400, fieldErr("limit"), ""},
		{"anonymous", "", "POST", "/api/purge?olderThan=0s", "", 401, "", ""},
		{"user holds hard_delete but not read_deleted", userToken, "POST", "/api/purge?olderThan=0s&dryRun=true", "", 403, "you may not purge any resource", `"removed"`},
		{"nor on the resource it names", userToken, "POST", "/api/purge?olderThan=24h&dryRun=true&resource=threads", "", 403, "you may not purge threads", `"removed"`},
		{"its document has no purge", userToken, "GET", "/api/openapi.json", "", 200, `"/api/threads"`, `"/api/purge"`},
		{"the admin's has", adminToken, "GET", "/api/openapi.json", "", 200, `"/api/purge"`, ""},
		{"a body is bounded", adminToken, "POST", "/api/purge?olderThan=0s&dryRun=true", strings.Repeat("x", 2<<20), 413, "", ""},
		{"an unknown resource is refused like a forbidden one", adminToken, "POST", "/api/purge?olderThan=0s&resource=secrets", "", 403, "you may not purge secrets", ""},
		{"a resource without soft deletes has no trash", adminToken, "POST", "/api/purge?olderThan=0s&resource=stickers", "", 403, "", ""},

		{"nothing is a day old", adminToken, "POST", "/api/purge?olderThan=24h&dryRun=true", "", 200,
			`{"data":{"dryRun":true,"resources":[{"resource":"threads","removed":0,"kept":0},{"resource":"replies","removed":0,"kept":0},{"resource":"reactions","removed":0,"kept":0},{"resource":"watchers","removed":0,"kept":0},{"resource":"members","removed":0,"kept":0}]}}`, ""},
		{"a dry run of the whole trash", adminToken, "POST", "/api/purge?olderThan=0s&dryRun=true", "", 200, `{"resource":"threads","removed":1,"kept":0}`, ""},
		{"counted, not removed", adminToken, "GET", "/api/threads?onlyDeleted=true", "", 200, `"total":1`, ""},
		{"one resource", adminToken, "POST", "/api/purge?olderThan=0s&resource=threads", "", 200,
			`{"data":{"dryRun":false,"resources":[{"resource":"threads","removed":1,"kept":0}]}}`, ""},
		{"gone", adminToken, "GET", "/api/threads?includeDeleted=true", "", 200, `"total":1`, ""},
		{"the member stays", adminToken, "GET", "/api/members?onlyDeleted=true", "", 200, `"total":1`, ""},
	})

	// No resource may take the purge's path.
	app, err := framework.New(baseConfig(dbtest.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Widget](app, framework.WithName("purge")); err == nil || !strings.Contains(err.Error(), "POST /purge") {
		t.Errorf("a resource named purge: %v", err)
	}
}
