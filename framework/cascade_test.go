package framework_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Thread -> Reply -> Reaction cascade (tag and option); Thread -> Watcher
// does not.
type Thread struct {
	bun.BaseModel `bun:"table:threads"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Title     string     `bun:"title,notnull" json:"title"`
	Replies   []*Reply   `bun:"rel:has-many,join:id=thread_id" json:"replies,omitempty" autoapi:"cascade"`
	Watchers  []*Watcher `bun:"rel:has-many,join:id=thread_id" json:"watchers,omitempty"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

type Reply struct {
	bun.BaseModel `bun:"table:replies"`

	ID        int64       `bun:"id,pk,autoincrement" json:"id"`
	ThreadID  int64       `bun:"thread_id,notnull" json:"threadId"`
	Body      string      `bun:"body,notnull" json:"body"`
	Reactions []*Reaction `bun:"rel:has-many,join:id=reply_id" json:"reactions,omitempty"`
	DeletedAt *time.Time  `bun:"deleted_at" json:"deletedAt"`
}

type Reaction struct {
	bun.BaseModel `bun:"table:reactions"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	ReplyID   int64      `bun:"reply_id,notnull" json:"replyId"`
	Emoji     string     `bun:"emoji,notnull" json:"emoji"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

type Watcher struct {
	bun.BaseModel `bun:"table:watchers"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	ThreadID  int64      `bun:"thread_id,notnull" json:"threadId"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

func TestCascadingSoftDeletes(t *testing.T) {
	ctx := context.Background()
	h := buildApp(t, appSpec{models: []func(*framework.App) error{
		registered[Thread](), registered[Reply](framework.Cascade("reactions")), registered[Reaction](), registered[Watcher](),
	}})
	db := h.DB
	step := func(name, token, method, url, body string, status int) string {
		t.Helper()
		rec := h.Do(t, request{Token: token, Method: method, URL: url, Body: body})
		if rec.Code != status {
			t.Fatalf("%s: %s %s: %d %s, want %d", name, method, url, rec.Code, rec.Body.String(), status)
		}
		return rec.Body.String()
	}
	step("thread", userToken, "POST", "/api/threads", `{"title":"t"}`, 201)
	for _, b := range []string{"r1", "r2", "r3"} {
		step("reply "+b, userToken, "POST", "/api/replies", `{"threadId":1,"body":"`+b+`"}`, 201)
	}
	step("reaction on r1", userToken, "POST", "/api/reactions", `{"replyId":1,"emoji":"+1"}`, 201)
	step("reaction on r2", userToken, "POST", "/api/reactions", `{"replyId":2,"emoji":"-1"}`, 201)
	step("watcher", userToken, "POST", "/api/watchers", `{"threadId":1}`, 201)
	// r3 is deleted on its own first: the thread's restore must leave it.
	step("delete r3 alone", userToken, "DELETE", "/api/replies/3", "", 200)
	// A reaction deleted on its own stays deleted too.
	step("delete reaction 2 alone", userToken, "DELETE", "/api/reactions/2", "", 200)

	step("delete the thread", userToken, "DELETE", "/api/threads/1", "", 200)
	live := func(table string) []int64 {
		var ids []int64
		if err := db.NewSelect().TableExpr(table).Column("id").Where("deleted_at IS NULL").Order("id").Scan(ctx, &ids); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := live("replies"); len(got) != 0 {
		t.Fatalf("replies still live after the thread's delete: %v", got)
	}
	if got := live("reactions"); len(got) != 0 {
		t.Fatalf("reactions still live: %v", got)
	}
	if got := live("watchers"); len(got) != 1 {
		t.Fatalf("the watcher does not cascade but was deleted: %v", got)
	}
	var stamps []time.Time
	if err := db.NewSelect().TableExpr("threads").Column("deleted_at").Scan(ctx, &stamps); err != nil {
		t.Fatal(err)
	}
	var sameStamp int
	if err := db.NewSelect().TableExpr("replies").ColumnExpr("count(*)").Where("deleted_at = ?", stamps[0]).Scan(ctx, &sameStamp); err != nil {
		t.Fatal(err)
	}
	if sameStamp != 2 {
		t.Fatalf("%d replies carry the thread's deletion time, want 2", sameStamp)
	}

	body := step("restore the thread", adminToken, "POST", "/api/threads/1/restore", "", 200)
	if !strings.Contains(body, `"restored":true`) {
		t.Fatal(body)
	}
	if got := live("replies"); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("live replies after restore %v, want [1 2] (r3 was deleted on its own)", got)
	}
	if got := live("reactions"); len(got) != 1 || got[0] != 1 {
		t.Fatalf("live reactions after restore %v, want [1]", got)
	}
	step("restore again", adminToken, "POST", "/api/threads/1/restore", "", 409)
	step("restore missing", adminToken, "POST", "/api/threads/9/restore", "", 404)

	// An erasure takes the cascaded rows along, deleted or not, so that
	// soft-deleted children neither block it nor outlive it.
	step("erase the thread", adminToken, "DELETE", "/api/threads/1?permanent=true", "", 200)
	for _, table := range []string{"replies", "reactions"} {
		n, err := db.NewSelect().TableExpr(table).Count(ctx)
		if err != nil || n != 0 {
			t.Fatalf("%s left after the erasure: %d (%v)", table, n, err)
		}
	}
}

func TestCascadeRegistrationErrors(t *testing.T) {
	type Plain struct {
		bun.BaseModel `bun:"table:plains"`
		ID            int64 `bun:"id,pk,autoincrement"`
		ThreadID      int64 `bun:"thread_id"`
	}
	type Owner struct {
		bun.BaseModel `bun:"table:owners"`
		ID            int64      `bun:"id,pk,autoincrement"`
		Plains        []*Plain   `bun:"rel:has-many,join:id=thread_id" autoapi:"cascade"`
		DeletedAt     *time.Time `bun:"deleted_at"`
	}
	app, err := framework.New(baseConfig(dbtest.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Owner](app); err == nil || !strings.Contains(err.Error(), "Plains") || !strings.Contains(err.Error(), "soft-delete") {
		t.Fatalf("cascade to a model without soft deletes: %v", err)
	}
	if err := framework.Register[Thread](app, framework.Cascade("nothing")); err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Fatalf("unknown cascade relation: %v", err)
	}
	type HiddenKids struct {
		bun.BaseModel `bun:"table:hidden_kids"`
		ID            int64      `bun:"id,pk,autoincrement"`
		Replies       []*Reply   `bun:"rel:has-many,join:id=thread_id" json:"-" autoapi:"cascade"`
		DeletedAt     *time.Time `bun:"deleted_at"`
	}
	if err := framework.Register[HiddenKids](app); err == nil || !strings.Contains(err.Error(), "Replies") {
		t.Fatalf("cascade on a hidden relation: %v", err)
	}
	type TypoKids struct {
		bun.BaseModel `bun:"table:typo_kids"`
		ID            int64      `bun:"id,pk,autoincrement"`
		Replies       []*Reply   `bun:"rel:has-many,join:id=thread_id" autoapi:"cascde"`
		DeletedAt     *time.Time `bun:"deleted_at"`
	}
	if err := framework.Register[TypoKids](app); err == nil || !strings.Contains(err.Error(), "cascde") {
		t.Fatalf("a typo in a relation's autoapi tag: %v", err)
	}
}
