package framework_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestPolicyInTheDatabase runs two app instances on one database, with the
// policy in its casbin_rules table: a rule one instance adds reaches the
// other within the reload interval, without a restart.
func TestPolicyInTheDatabase(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := dbtest.Open(t)
	seedPolicy(t, db)
	adapter, err := auth.NewBunAdapter(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	instance := func() (*framework.App, *harness) {
		cfg := baseConfig(db)
		cfg.Policy = ""
		cfg.PolicyAdapter = adapter
		cfg.PolicyReloadInterval = 20 * time.Millisecond
		app, err := framework.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := registerAll(app, nil); err != nil {
			t.Fatalf("register: %v", err)
		}
		if err := app.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		go app.RunPolicyReload(ctx)
		return app, newHarness(app, db)
	}
	a, ha := instance()
	_, hb := instance()

	perms := func(h *harness) string {
		return h.Do(t, request{Token: userToken, Method: "GET", URL: "/api/widgets/permissions"}).Body.String()
	}
	if strings.Contains(perms(hb), "restore") {
		t.Fatal("users may not restore before the change")
	}
	err = a.Enforcer().Update(func(c *casbin.SyncedEnforcer) error {
		_, err := c.AddPolicy("user", "widgets", "restore")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(perms(ha), `"restore":"all"`) {
		t.Fatalf("instance A does not see its own change: %s", perms(ha))
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(perms(hb), `"restore":"all"`) {
		if time.Now().After(deadline) {
			t.Fatalf("instance B never saw the change: %s", perms(hb))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// And it acts on it: a user restores a widget through B.
	for _, r := range []request{
		{Token: userToken, Method: "POST", URL: "/api/widgets", Body: `{"name":"w","qty":1}`},
		{Token: userToken, Method: "DELETE", URL: "/api/widgets/1"},
		{Token: userToken, Method: "POST", URL: "/api/widgets/1/restore"},
	} {
		if rec := hb.Do(t, r); rec.Code >= 300 {
			t.Fatalf("%s %s through B: %d %s", r.Method, r.URL, rec.Code, rec.Body.String())
		}
	}

	// Removing it is seen the same way.
	err = a.Enforcer().Update(func(c *casbin.SyncedEnforcer) error {
		_, err := c.RemoveFilteredPolicy(0, "user", "widgets")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(perms(ha), `"restore"`) {
		t.Fatalf("instance A still allows what it removed: %s", perms(ha))
	}
	for strings.Contains(perms(hb), `"restore":"all"`) {
		if time.Now().After(deadline) {
			t.Fatalf("instance B never saw the removal: %s", perms(hb))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seedPolicy writes the test policy to db's casbin_rules table, as an
// operator would from a CSV policy.
func seedPolicy(t *testing.T, db *bun.DB) {
	t.Helper()
	ctx := context.Background()
	adapter, err := auth.NewBunAdapter(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewModelFromString(auth.DefaultModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(testPolicy), "\n") {
		parts := strings.Split(line, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if err := m.AddPolicy(parts[0], parts[0], parts[1:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := adapter.SavePolicyCtx(ctx, m); err != nil {
		t.Fatal(err)
	}
}
