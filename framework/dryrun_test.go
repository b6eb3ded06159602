package framework_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
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
	refusals := 0
	h := buildApp(t, appSpec{
		config: func(c *framework.Config) {
			// user restores threads without read_deleted: it learns how
			// many rows, not which.
			c.Policy = testPolicy + "p, user, threads, restore\np, user, members, restore\n"
		},
		models: []func(*framework.App) error{
			registered[Thread](), registered[Reply](framework.Cascade("reactions")), registered[Reaction](), registered[Watcher](),
			registered[Member](), registered[Sticker](), registered[Pin](),
		},
		setup: func(app *framework.App) error {
			// Hooks do not run in a dry run: this one refuses every real
			// restore of a member, and the dry run still reports what the
			// statements would do.
			return framework.SetHooks(app, framework.Hooks[Member]{
				BeforeRestore: func(context.Context, *framework.Event, any) error {
					refusals++
					return framework.Refuse(http.StatusConflict, "members are restored by support")
				},
			})
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
		{"without read_deleted, counts only", userToken, "POST", "/api/threads/1/restore/dry-run", "", 200,
			`{"data":{"rows":[{"resource":"threads","count":1},{"resource":"replies","count":1},{"resource":"reactions","count":1}]}}`, `"ids"`},
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
		{"the hook refuses a real restore", adminToken, "POST", "/api/members/1/restore", "", 409, "restored by support", ""},
		{"a dry run runs no hook", adminToken, "POST", "/api/members/1/restore/dry-run", "", 200, `{"resource":"members","count":1,"ids":[1]}`, ""},
		{"a live row takes the email", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"blue","badge":2}`, 201, "", ""},
		{"the preview meets the unique index", adminToken, "POST", "/api/members/1/restore/dry-run", "", 409, fieldErr("email"), ""},
		{"bulk too", userToken, "POST", "/api/members/restore/dry-run?team=red", "", 409, fieldErr("email"), ""},

		{"no restore without soft deletes", adminToken, "POST", "/api/stickers/1/restore/dry-run", "", 404, "", ""},
		{"sticker", adminToken, "POST", "/api/stickers", `{"name":"go"}`, 201, "", ""},
		{"a hard delete previews", userToken, "POST", "/api/stickers/1/deletion/dry-run", "", 200, `{"resource":"stickers","count":1,"ids":[1]}`, ""},
		{"the sticker is there", userToken, "GET", "/api/stickers/1", "", 200, `"name":"go"`, ""},
	})
	if refusals != 1 {
		t.Errorf("the restore hook ran %d times, want once (the real restore)", refusals)
	}
}

// TestNoDryRunOfAnOverride: a dry run previews the generated handler, so
// an operation an override serves has none, in the routes and in the
// document.
func TestNoDryRunOfAnOverride(t *testing.T) {
	h := buildApp(t, appSpec{
		models: []func(*framework.App) error{registered[Thread](), registered[Reply](), registered[Reaction](), registered[Watcher]()},
		setup: func(app *framework.App) error {
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
	})
}

// TestPurgeOverHTTP empties the trash of old rows through POST /purge,
// a dry run first, over the resources the caller may hard_delete.
func TestPurgeOverHTTP(t *testing.T) {
	h := buildApp(t, appSpec{
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
		{"user holds no hard_delete", userToken, "POST", "/api/purge?olderThan=0s&dryRun=true", "", 403, "you may not purge any resource", ""},
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
}
