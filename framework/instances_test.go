package framework_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestInstancesShareOneDatabase runs two app instances, each with its own
// connection pool and policy cache, on one database, as two processes
// behind a load balancer would: what one does, the other sees on the next
// request, racing requests through both have one winner per transition,
// and a policy change written to the database reaches both.
func TestInstancesShareOneDatabase(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dbA, dbB := dbtest.OpenPair(t)
	instance := func(db *bun.DB) *harness {
		adapter, err := auth.NewBunAdapter(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		h := buildApp(t, appSpec{
			db: db,
			config: func(cfg *framework.Config) {
				cfg.Policy = ""
				cfg.PolicyAdapter = adapter
				cfg.PolicyReloadInterval = 20 * time.Millisecond
			},
			models: []func(*framework.App) error{
				registered[Memo](), registered[Thread](), registered[Reply](), registered[Reaction](), registered[Watcher](),
			},
		})
		go h.App.RunPolicyReload(ctx)
		return h
	}
	// The policy lives in the database, written once by an operator.
	seedPolicy(t, dbA)
	a := instance(dbA)
	b := instance(dbB)

	playSteps(t, a, []step{
		{"create through A", userToken, "POST", "/api/threads", `{"title":"t"}`, 201, `"id":1`, ""},
		{"a reply through A", userToken, "POST", "/api/replies", `{"threadId":1,"body":"r"}`, 201, `"id":1`, ""},
		{"delete through A", userToken, "DELETE", "/api/threads/1", "", 200, `"softDeleted":true`, ""},
	})
	playSteps(t, b, []step{
		{"gone through B", userToken, "GET", "/api/threads/1", "", 404, "", ""},
		{"its reply too", userToken, "GET", "/api/replies/1", "", 404, "", ""},
		{"absent from B's list", userToken, "GET", "/api/threads", "", 200, `"total":0`, `"t"`},
		{"B's admin sees it deleted", adminToken, "GET", "/api/threads?onlyDeleted=true", "", 200, `"total":1`, ""},
		{"restore through B", adminToken, "POST", "/api/threads/1/restore", "", 200, `"restored":true`, ""},
	})
	playSteps(t, a, []step{
		{"back through A", userToken, "GET", "/api/threads/1", "", 200, `"title":"t"`, "deletedAt"},
		{"with its reply", userToken, "GET", "/api/replies/1", "", 200, `"body":"r"`, ""},
		{"a memo to race on", userToken, "POST", "/api/memos", `{"text":"m"}`, 201, `"id":1`, ""},
	})

	const n, rounds = 12, 3
	for _, url := range []string{"/api/memos/1", "/api/threads/1"} {
		for round := 0; round < rounds; round++ {
			if got := race(n, "DELETE", url, userToken, a, b); got[200] != 1 || got[404] != n-1 {
				t.Fatalf("%s round %d: deletes through A and B %v, want one 200 and %d 404s", url, round, got, n-1)
			}
			if got := race(n, "POST", url+"/restore", adminToken, a, b); got[200] != 1 || got[409] != n-1 {
				t.Fatalf("%s round %d: restores through A and B %v, want one 200 and %d 409s", url, round, got, n-1)
			}
		}
	}

	// A rule written to the database by a third party (an operator's
	// tool, say) reaches both instances within their reload interval.
	perms := func(h *harness) string {
		return h.Do(t, request{Token: userToken, Method: "GET", URL: "/api/memos/permissions"}).Body.String()
	}
	for _, h := range []*harness{a, b} {
		if strings.Contains(perms(h), `"restore"`) {
			t.Fatalf("users may restore memos before the change: %s", perms(h))
		}
	}
	operator, err := auth.NewBunAdapter(ctx, dbA)
	if err != nil {
		t.Fatal(err)
	}
	if err := operator.AddPolicyCtx(ctx, "p", "p", []string{"user", "memos", "restore"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, h := range []*harness{a, b} {
		for !strings.Contains(perms(h), `"restore":"all"`) {
			if time.Now().After(deadline) {
				t.Fatalf("an instance never saw the new rule: %s", perms(h))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	playSteps(t, b, []step{
		{"a user deletes through B", userToken, "DELETE", "/api/memos/1", "", 200, "", ""},
		{"and restores through B", userToken, "POST", "/api/memos/1/restore", "", 200, `"restored":true`, ""},
	})
}
