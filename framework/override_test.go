package framework_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// override returns a Setup that installs h for op on resource.
func override(resource string, op framework.Operation, h framework.HandlerFunc) func(*testing.T, *framework.App, *bun.DB) {
	return func(t *testing.T, app *framework.App, _ *bun.DB) {
		t.Helper()
		if err := app.Override(resource, op, h); err != nil {
			t.Fatalf("Override: %v", err)
		}
	}
}

// permissions is an override that reports what the caller may do.
func permissions(c *framework.Context) error {
	return c.JSON(http.StatusOK, map[string]bool{
		"read":        c.Can(auth.ActionRead),
		"restore":     c.Can(auth.ActionRestore),
		"readDeleted": c.Can(auth.ActionReadDeleted),
	})
}

// restoreForUser2 lets principal "2" restore widgets although the policy
// does not, by granting the action and running the generated handler.
func restoreForUser2(c *framework.Context) error {
	if !c.Can(auth.ActionRestore) && c.Principal().ID == "2" {
		c.Grant(auth.ActionRestore)
	}
	return c.Default()
}

// TestOverrides checks that overrides replace generated handlers and can
// fall back to them, ask the policy and grant an action.
func TestOverrides(t *testing.T) {
	t.Parallel()
	custom := override("widgets", framework.OpList, func(c *framework.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"custom": c.Resource().Name + "/" + string(c.Operation())})
	})
	decorated := override("widgets", framework.OpGet, func(c *framework.Context) error {
		c.Response().Header().Set("X-Decorated", "yes")
		return c.Default()
	})
	runScenarios(t, []scenario{
		{Name: "override replaces the generated list",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets"}, Setup: custom,
			ExpectedStatus: 200, ExpectedContent: []string{`{"custom":"widgets/list"}`}, NotExpectedContent: []string{`"data"`}},
		{Name: "other operations keep the generated handler",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets/1"}, Setup: custom,
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":1,"name":"alpha"`}},
		{Name: "other resources keep the generated handler",
			Request: request{Token: userToken, Method: get, URL: "/api/gadgets"}, Setup: custom,
			ExpectedStatus: 200, ExpectedContent: []string{`"meta":{"total":3,`}},
		{Name: "Default runs the generated handler",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets/1"}, Setup: decorated,
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":1,"name":"alpha"`},
			ExpectedHeaders: map[string]string{"X-Decorated": "yes"}, NotExpectedContent: []string{`"deletedAt"`}},
		{Name: "Default keeps the generated permission check",
			Request: request{Method: get, URL: "/api/ledgers/1"}, Setup: override("ledgers", framework.OpGet, func(c *framework.Context) error { return c.Default() }),
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "Default keeps the generated soft-delete rules",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets/4"}, Setup: decorated,
			ExpectedStatus: 404},
		{Name: "Can reflects the policy for admin",
			Request: request{Token: adminToken, Method: get, URL: "/api/widgets"}, Setup: override("widgets", framework.OpList, permissions),
			ExpectedStatus: 200, ExpectedContent: []string{`{"read":true,"readDeleted":true,"restore":true}`}},
		{Name: "Can reflects the policy for user",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets"}, Setup: override("widgets", framework.OpList, permissions),
			ExpectedStatus: 200, ExpectedContent: []string{`{"read":true,"readDeleted":false,"restore":false}`}},
		{Name: "Can reflects the policy for anonymous",
			Request: request{Method: get, URL: "/api/widgets"}, Setup: override("widgets", framework.OpList, permissions),
			ExpectedStatus: 200, ExpectedContent: []string{`{"read":true,"readDeleted":false,"restore":false}`}},
		{Name: "Can reflects the policy for anonymous on a private resource",
			Request: request{Method: get, URL: "/api/ledgers"}, Setup: override("ledgers", framework.OpList, permissions),
			ExpectedStatus: 200, ExpectedContent: []string{`{"read":false,"readDeleted":false,"restore":false}`}},
		{Name: "Grant then Default lets a custom rule pass",
			Request: request{Token: userToken, Method: post, URL: "/api/widgets/4/restore"}, Setup: override("widgets", framework.OpRestore, restoreForUser2),
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":4,"name":"delta"`, `"restored":true`},
			NotExpectedContent: []string{`"deletedAt"`}},
		{Name: "Grant is only for the callers the rule picks",
			Request: request{Token: readerToken, Method: post, URL: "/api/widgets/4/restore"}, Setup: override("widgets", framework.OpRestore, restoreForUser2),
			ExpectedStatus: 403},
		{Name: "without Grant the generated check still refuses",
			Request: request{Method: post, URL: "/api/widgets/4/restore"}, Setup: override("widgets", framework.OpRestore, restoreForUser2),
			ExpectedStatus: 401, ExpectedHeaders: bearer},
		{Name: "Grant covers only the granted action",
			Request: request{Token: userToken, Method: get, URL: "/api/widgets?includeDeleted=true"},
			Setup: override("widgets", framework.OpList, func(c *framework.Context) error {
				c.Grant(auth.ActionRestore)
				return c.Default()
			}),
			ExpectedStatus: 403},
	})
}

// TestOverrideErrors checks that Override refuses what cannot be
// overridden.
func TestOverrideErrors(t *testing.T) {
	t.Parallel()
	app, _ := newTestApp(t, nil)
	noop := func(*framework.Context) error { return nil }
	for _, c := range []struct {
		name     string
		resource string
		op       framework.Operation
		h        framework.HandlerFunc
		want     []string
	}{
		{"unknown resource", "nope", framework.OpList, noop, []string{`"nope"`}},
		{"unknown operation", "widgets", framework.Operation("purge"), noop, []string{"widgets", `"purge"`}},
		{"restore without soft-delete column", "tags", framework.OpRestore, noop, []string{"tags", "Tag", "restore"}},
		{"nil handler", "widgets", framework.OpGet, nil, []string{"widgets", "nil"}},
	} {
		err := app.Override(c.resource, c.op, c.h)
		if err == nil {
			t.Errorf("%s: Override succeeded", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", c.name, err, w)
			}
		}
	}
	if err := app.Override("widgets", framework.OpRestore, noop); err != nil {
		t.Errorf("restore of a soft-delete model: %v", err)
	}
	app.NewEcho()
	if err := app.Override("widgets", framework.OpGet, noop); err == nil {
		t.Errorf("Override after mounting succeeded")
	}
	if err := framework.Register[Widget](app, framework.WithName("late")); err == nil {
		t.Errorf("Register after mounting succeeded")
	}
}
