package framework_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// logBuffer collects log text written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// TestMalformedPolicyFailsNew checks that New refuses a policy with a
// line the model cannot use, from policy text or from the policy table,
// naming the source and the line, where casbin alone would accept it and
// refuse every request.
func TestMalformedPolicyFailsNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	cfg := baseConfig(db)
	cfg.Policy = testPolicy + "p, admin\n"
	line := fmt.Sprintf("line %d", strings.Count(testPolicy, "\n")+1) // the line appended
	_, err := framework.New(cfg)
	if err == nil || !strings.Contains(err.Error(), "Policy text "+line) || !strings.Contains(err.Error(), `"p, admin"`) {
		t.Errorf("New with a short policy line: %v, want an error naming %s", err, line)
	}

	seedPolicy(t, db)
	adapter, err := auth.NewBunAdapter(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewInsert().Model(&auth.CasbinRule{PType: "p", V0: "admin"}).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	cfg = baseConfig(db)
	cfg.Policy, cfg.PolicyAdapter = "", adapter
	_, err = framework.New(cfg)
	if err == nil || !strings.Contains(err.Error(), "policy adapter") || !strings.Contains(err.Error(), "admin") {
		t.Errorf("New with a short rule in casbin_rules: %v, want an error naming the adapter and the rule", err)
	}
}

// TestMalformedPolicyReload checks that a malformed rule saved to the
// policy table while the app runs leaves the policy in force as it was,
// with one error in the log, until the table is good again.
func TestMalformedPolicyReload(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := dbtest.Open(t)
	seedPolicy(t, db)
	adapter, err := auth.NewBunAdapter(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	cfg := baseConfig(db)
	cfg.Policy, cfg.PolicyAdapter = "", adapter
	cfg.PolicyReloadInterval = 10 * time.Millisecond
	cfg.Logger = logs.logger()
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
	h := newHarness(app, db)
	perms := func() string {
		return h.Do(t, request{Token: userToken, Method: "GET", URL: "/api/widgets/permissions"}).Body.String()
	}
	// A good rule and a bad one arrive together: neither applies.
	bad := &auth.CasbinRule{PType: "p", V0: "user", V1: "widgets"}
	rules := []*auth.CasbinRule{{PType: "p", V0: "user", V1: "widgets", V2: "restore"}, bad}
	if _, err := db.NewInsert().Model(&rules).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	go app.RunPolicyReload(ctx)
	waitFor(t, "the reload error in the log", func() bool { return strings.Contains(logs.String(), "policy reload failed") })
	time.Sleep(50 * time.Millisecond) // several more reloads
	if got := strings.Count(logs.String(), "policy reload failed"); got != 1 {
		t.Errorf("the same failure was logged %d times, want once:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "user widgets") {
		t.Errorf("the log does not name the bad rule:\n%s", logs.String())
	}
	if p := perms(); strings.Contains(p, "restore") || !strings.Contains(p, `"read":"all"`) {
		t.Errorf("the policy in force changed: %s", p)
	}
	if _, err := db.NewDelete().Model(bad).WherePK().Exec(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the good rule to apply", func() bool { return strings.Contains(perms(), `"restore":"all"`) })
	waitFor(t, "the recovery in the log", func() bool { return strings.Contains(logs.String(), "policy reloaded again") })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUngrantedResourceWarning checks that mounting warns of a resource
// no policy line could grant anything on, and of that one only: a "*"
// object covers every resource.
func TestUngrantedResourceWarning(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, policy string
		warned       []string
	}{
		{"named resources", "p, admin, widgets, *\np, user, tags, read\ng, alice, admin", []string{"gadgets"}},
		{"a wildcard object", "p, admin, *, read\np, user, tags, read", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuffer
			cfg := baseConfig(dbtest.Open(t))
			cfg.Policy, cfg.Logger = c.policy, logs.logger()
			app, err := framework.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, register := range []func(*framework.App, ...framework.Option) error{
				framework.Register[Widget], framework.Register[Gadget], framework.Register[Tag],
			} {
				if err := register(app); err != nil {
					t.Fatal(err)
				}
			}
			app.NewEcho()
			out := logs.String()
			if got := strings.Count(out, "no policy line grants"); got != len(c.warned) {
				t.Errorf("%d warnings, want %d:\n%s", got, len(c.warned), out)
			}
			for _, name := range c.warned {
				if !strings.Contains(out, "resource="+name) {
					t.Errorf("no warning for %s:\n%s", name, out)
				}
			}
		})
	}
}
