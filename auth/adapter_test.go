package auth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// policyLines renders rules as sorted "ptype, v0, v1..." lines.
func policyLines(ptype string, rules [][]string) []string {
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		out = append(out, strings.Join(append([]string{ptype}, r...), ", "))
	}
	return out
}

// storedLines reads the casbin_rules table as sorted policy lines.
func storedLines(t *testing.T, db *bun.DB) []string {
	t.Helper()
	var rules []auth.CasbinRule
	if err := db.NewSelect().Model(&rules).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		vs := []string{r.PType, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
		for vs[len(vs)-1] == "" {
			vs = vs[:len(vs)-1]
		}
		out = append(out, strings.Join(vs, ", "))
	}
	slices.Sort(out)
	return out
}

// liveLines is the policy an enforcer holds in memory, as sorted lines.
func liveLines(t *testing.T, e casbin.IEnforcer) []string {
	t.Helper()
	p, err := e.GetPolicy()
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.GetGroupingPolicy()
	if err != nil {
		t.Fatal(err)
	}
	out := append(policyLines("p", p), policyLines("g", g)...)
	slices.Sort(out)
	return out
}

// seedTable stores policy (CSV lines) in db's casbin_rules table.
func seedTable(t *testing.T, ctx context.Context, a *auth.BunAdapter, policy []string) {
	t.Helper()
	m, err := model.NewModelFromString(auth.DefaultModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range policy {
		parts := strings.Split(line, ", ")
		if err := m.AddPolicy(parts[0], parts[0], parts[1:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SavePolicyCtx(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// refuseWrites makes the database itself fail any write of a rule naming
// "refused", the way a constraint, a lost connection or a full disk would
// fail a statement in the middle of a change.
func refuseWrites(t *testing.T, db *bun.DB) {
	t.Helper()
	stmts := []string{
		`CREATE TRIGGER refuse_insert BEFORE INSERT ON casbin_rules
			WHEN 'refused' IN (NEW.v0, NEW.v1, NEW.v2) BEGIN SELECT RAISE(ABORT, 'refused'); END`,
		`CREATE TRIGGER refuse_update BEFORE UPDATE ON casbin_rules
			WHEN 'refused' IN (NEW.v0, NEW.v1, NEW.v2) BEGIN SELECT RAISE(ABORT, 'refused'); END`,
		`CREATE TRIGGER refuse_delete BEFORE DELETE ON casbin_rules
			WHEN 'refused' IN (OLD.v0, OLD.v1, OLD.v2) BEGIN SELECT RAISE(ABORT, 'refused'); END`,
	}
	if dbtest.Current() == dbtest.Postgres {
		stmts = []string{
			`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`,
			`CREATE TRIGGER refuse_write BEFORE INSERT OR UPDATE ON casbin_rules FOR EACH ROW
				WHEN ('refused' IN (NEW.v0, NEW.v1, NEW.v2)) EXECUTE FUNCTION refuse()`,
			`CREATE TRIGGER refuse_delete BEFORE DELETE ON casbin_rules FOR EACH ROW
				WHEN ('refused' IN (OLD.v0, OLD.v1, OLD.v2)) EXECUTE FUNCTION refuse()`,
		}
	}
	for _, s := range stmts {
		// Through database/sql: bun would read the ? of no placeholder.
		if _, err := db.DB.ExecContext(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
}

// adapterCase is one policy change, made through casbin's API: sync
// through auth.Enforcer.Update (casbin's context-free calls), ctx through
// casbin's ContextEnforcer when casbin has a context variant.
type adapterCase struct {
	name string
	seed []string
	sync func(c *casbin.SyncedEnforcer) (bool, error)
	ctx  func(ctx context.Context, c casbin.IEnforcerContext) (bool, error)
	want []string // the table after; nil when the change must fail and change nothing
}

func rules(rs ...string) [][]string {
	out := make([][]string, len(rs))
	for i, r := range rs {
		out[i] = strings.Split(r, ", ")
	}
	return out
}

// runAdapterCases runs every case both ways on a database of its own,
// and checks the table, and that the enforcer's policy is the table's:
// after a success both changed alike, after a failure neither changed.
func runAdapterCases(t *testing.T, cases []adapterCase, before func(t *testing.T, db *bun.DB)) {
	for _, tc := range cases {
		for _, way := range []string{"sync", "ctx"} {
			if (way == "ctx" && tc.ctx == nil) || (way == "sync" && tc.sync == nil) {
				continue
			}
			t.Run(tc.name+"/"+way, func(t *testing.T) {
				ctx := context.Background()
				db := dbtest.Open(t)
				adapter, err := auth.NewBunAdapter(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				seedTable(t, ctx, adapter, tc.seed)
				if before != nil {
					before(t, db)
				}
				var live casbin.IEnforcer
				var ok bool
				if way == "sync" {
					e, eerr := auth.NewEnforcer(auth.EnforcerConfig{Adapter: adapter})
					if eerr != nil {
						t.Fatal(eerr)
					}
					err = e.Update(func(c *casbin.SyncedEnforcer) error {
						live = c
						ok, err = tc.sync(c)
						return err
					})
				} else {
					m, merr := model.NewModelFromString(auth.DefaultModel)
					if merr != nil {
						t.Fatal(merr)
					}
					c, cerr := casbin.NewContextEnforcer(m, adapter)
					if cerr != nil {
						t.Fatal(cerr)
					}
					live = c
					ok, err = tc.ctx(ctx, c)
				}
				seed := slices.Sorted(slices.Values(tc.seed))
				if tc.want == nil {
					if err == nil {
						t.Fatalf("the change succeeded (%v); want an error", ok)
					}
					if got := storedLines(t, db); !slices.Equal(got, seed) {
						t.Fatalf("after a failed change the table holds\n%s\nwant it unchanged:\n%s", strings.Join(got, "\n"), strings.Join(seed, "\n"))
					}
					if got := liveLines(t, live); !slices.Equal(got, seed) {
						t.Fatalf("after a failed change the enforcer holds\n%s\nwant it unchanged", strings.Join(got, "\n"))
					}
					return
				}
				if err != nil || !ok {
					t.Fatalf("change: %v %v", ok, err)
				}
				want := slices.Sorted(slices.Values(tc.want))
				if got := storedLines(t, db); !slices.Equal(got, want) {
					t.Fatalf("the table holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if got := liveLines(t, live); !slices.Equal(got, want) {
					t.Fatalf("the enforcer holds\n%s\nwant the table's\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}

// TestBunAdapterChanges drives every batch and update call of casbin's
// adapter contract through casbin and checks what the table holds after.
func TestBunAdapterChanges(t *testing.T) {
	base := []string{"p, admin, *, *", "p, user, posts, read", "p, user, posts, create", "p, user, tags, read", "g, alice, user"}
	runAdapterCases(t, []adapterCase{
		{
			name: "AddPolicies",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.AddPolicies(rules("editor, posts, update", "editor, posts, delete"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.AddPoliciesCtx(ctx, rules("editor, posts, update", "editor, posts, delete"))
			},
			want: append(slices.Clone(base), "p, editor, posts, update", "p, editor, posts, delete"),
		},
		{
			name: "AddPoliciesEx stores a rule it already has once",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.AddPoliciesEx(rules("user, posts, read", "editor, posts, update"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.AddPoliciesExCtx(ctx, rules("user, posts, read", "editor, posts, update"))
			},
			want: append(slices.Clone(base), "p, editor, posts, update"),
		},
		{
			name: "RemovePolicies",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.RemovePolicies(rules("user, posts, read", "user, tags, read"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.RemovePoliciesCtx(ctx, rules("user, posts, read", "user, tags, read"))
			},
			want: []string{"p, admin, *, *", "p, user, posts, create", "g, alice, user"},
		},
		{
			name: "UpdatePolicy",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.UpdatePolicy([]string{"user", "tags", "read"}, []string{"user", "tags", "create"})
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.UpdatePolicyCtx(ctx, []string{"user", "tags", "read"}, []string{"user", "tags", "create"})
			},
			want: []string{"p, admin, *, *", "p, user, posts, read", "p, user, posts, create", "p, user, tags, create", "g, alice, user"},
		},
		{
			name: "UpdatePolicies",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.UpdatePolicies(rules("user, posts, read", "user, tags, read"), rules("user, posts, update", "user, tags, update"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.UpdatePoliciesCtx(ctx, rules("user, posts, read", "user, tags, read"), rules("user, posts, update", "user, tags, update"))
			},
			want: []string{"p, admin, *, *", "p, user, posts, update", "p, user, posts, create", "p, user, tags, update", "g, alice, user"},
		},
		{
			name: "UpdateFilteredPolicies",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.UpdateFilteredPolicies(rules("user, posts, update"), 0, "user", "posts")
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.UpdateFilteredPoliciesCtx(ctx, rules("user, posts, update"), 0, "user", "posts")
			},
			want: []string{"p, admin, *, *", "p, user, posts, update", "p, user, tags, read", "g, alice, user"},
		},
		{
			name: "UpdateFilteredPolicies with a wildcard field",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.UpdateFilteredPolicies(rules("user, *, read"), 1, "", "read")
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.UpdateFilteredPoliciesCtx(ctx, rules("user, *, read"), 1, "", "read")
			},
			want: []string{"p, admin, *, *", "p, user, posts, create", "p, user, *, read", "g, alice, user"},
		},
		{
			name: "AddRolesForUser",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.AddRolesForUser("bob", []string{"user", "editor"})
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.AddGroupingPoliciesCtx(ctx, rules("bob, user", "bob, editor"))
			},
			want: append(slices.Clone(base), "g, bob, user", "g, bob, editor"),
		},
		{
			name: "AddPermissionsForUser",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.AddPermissionsForUser("editor", []string{"posts", "update"}, []string{"tags", "update"})
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.AddPermissionsForUserCtx(ctx, "editor", []string{"posts", "update"}, []string{"tags", "update"})
			},
			want: append(slices.Clone(base), "p, editor, posts, update", "p, editor, tags, update"),
		},
		{
			name: "RemoveGroupingPolicies",
			seed: append(slices.Clone(base), "g, bob, user"),
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.RemoveGroupingPolicies(rules("alice, user", "bob, user"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.RemoveGroupingPoliciesCtx(ctx, rules("alice, user", "bob, user"))
			},
			want: base[:4],
		},
		{
			name: "UpdateGroupingPolicy",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.UpdateGroupingPolicy([]string{"alice", "user"}, []string{"alice", "admin"})
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.UpdateGroupingPolicyCtx(ctx, []string{"alice", "user"}, []string{"alice", "admin"})
			},
			want: append(slices.Clone(base[:4]), "g, alice, admin"),
		},
		{
			name: "a rule of more than six values",
			seed: base,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.AddPolicies(rules("editor, posts, update", "a, b, c, d, e, f, g"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.AddPoliciesCtx(ctx, rules("editor, posts, update", "a, b, c, d, e, f, g"))
			},
		},
		{
			name: "a canceled context",
			seed: base,
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return c.AddPoliciesCtx(ctx, rules("editor, posts, update"))
			},
		},
	}, nil)
}

// TestBunAdapterAllOrNothing makes the database fail the last statement of
// each change: the statements before it are rolled back with it, so the
// table, and casbin's policy, stay as they were.
func TestBunAdapterAllOrNothing(t *testing.T) {
	seed := []string{"p, admin, *, *", "p, user, posts, read", "p, user, posts, create", "p, refused, posts, read", "g, alice, user"}
	runAdapterCases(t, []adapterCase{
		{
			name: "AddPolicies",
			seed: seed,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.AddPolicies(rules("editor, posts, update", "editor, refused, update"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.AddPoliciesCtx(ctx, rules("editor, posts, update", "editor, refused, update"))
			},
		},
		{
			name: "RemovePolicies",
			seed: seed,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.RemovePolicies(rules("user, posts, read", "refused, posts, read"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.RemovePoliciesCtx(ctx, rules("user, posts, read", "refused, posts, read"))
			},
		},
		{
			name: "UpdatePolicies",
			seed: seed,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.UpdatePolicies(rules("user, posts, read", "user, posts, create"), rules("user, posts, update", "user, refused, create"))
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.UpdatePoliciesCtx(ctx, rules("user, posts, read", "user, posts, create"), rules("user, posts, update", "user, refused, create"))
			},
		},
		{
			name: "UpdateFilteredPolicies",
			seed: seed,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.UpdateFilteredPolicies(rules("user, posts, update", "user, refused, update"), 0, "user", "posts")
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.UpdateFilteredPoliciesCtx(ctx, rules("user, posts, update", "user, refused, update"), 0, "user", "posts")
			},
		},
		{
			name: "AddRolesForUser",
			seed: seed,
			sync: func(c *casbin.SyncedEnforcer) (bool, error) {
				return c.AddRolesForUser("bob", []string{"user", "refused"})
			},
			ctx: func(ctx context.Context, c casbin.IEnforcerContext) (bool, error) {
				return c.AddGroupingPoliciesCtx(ctx, rules("bob, user", "bob, refused"))
			},
		},
	}, refuseWrites)
}

// TestBunAdapterUpdateOfAMissingRule: a rule this instance still holds but
// another one removed from the table is not updated in memory alone,
// where the next reload would silently drop the new rule.
func TestBunAdapterUpdateOfAMissingRule(t *testing.T) {
	seed := []string{"p, user, posts, read", "p, user, tags, read"}
	removeTags := func(t *testing.T, db *bun.DB) {
		_, err := db.NewDelete().Model((*auth.CasbinRule)(nil)).Where("v1 = ?", "tags").Exec(context.Background())
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(c *casbin.SyncedEnforcer) (bool, error)
	}{
		{"UpdatePolicy", func(c *casbin.SyncedEnforcer) (bool, error) {
			return c.UpdatePolicy([]string{"user", "tags", "read"}, []string{"user", "tags", "create"})
		}},
		{"UpdatePolicies", func(c *casbin.SyncedEnforcer) (bool, error) {
			return c.UpdatePolicies(rules("user, posts, read", "user, tags, read"), rules("user, posts, create", "user, tags, create"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t)
			adapter, err := auth.NewBunAdapter(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			seedTable(t, ctx, adapter, seed)
			e, err := auth.NewEnforcer(auth.EnforcerConfig{Adapter: adapter})
			if err != nil {
				t.Fatal(err)
			}
			removeTags(t, db)
			var live []string
			err = e.Update(func(c *casbin.SyncedEnforcer) error {
				_, err := tc.change(c)
				live = liveLines(t, c)
				return err
			})
			if !errors.Is(err, auth.ErrRuleNotStored) {
				t.Fatalf("error %v, want ErrRuleNotStored", err)
			}
			if got := storedLines(t, db); !slices.Equal(got, []string{"p, user, posts, read"}) {
				t.Fatalf("the table holds %q", got)
			}
			if !slices.Equal(live, slices.Sorted(slices.Values(seed))) {
				t.Fatalf("the enforcer holds %q, want its policy unchanged", live)
			}
		})
	}
}

// TestBunAdapterUpdateSwap: rules replacing one another in one update are
// each replaced once, not both turned into the last.
func TestBunAdapterUpdateSwap(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	adapter, err := auth.NewBunAdapter(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	seedTable(t, ctx, adapter, []string{"p, user, posts, read", "p, user, tags, read"})
	err = adapter.UpdatePoliciesCtx(ctx, "p", "p", rules("user, posts, read", "user, tags, read"), rules("user, tags, read", "user, posts, read"))
	if err != nil {
		t.Fatal(err)
	}
	var got []auth.CasbinRule
	if err := db.NewSelect().Model(&got).Order("id").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].V1 != "tags" || got[1].V1 != "posts" {
		t.Fatalf("after the swap the table holds %+v", got)
	}
}

// TestBunAdapterUnknownPType: a stored row whose ptype the model does not
// define (empty, or a typo) is an error naming the row, not a panic inside
// casbin.
func TestBunAdapterUnknownPType(t *testing.T) {
	for _, ptype := range []string{"", "x", "p9", "gg"} {
		ctx := context.Background()
		db := dbtest.Open(t)
		adapter, err := auth.NewBunAdapter(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		seedTable(t, ctx, adapter, []string{"p, user, posts, read"})
		if _, err := db.NewInsert().Model(&auth.CasbinRule{PType: ptype, V0: "user", V1: "tags", V2: "read"}).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = auth.NewEnforcer(auth.EnforcerConfig{Adapter: adapter})
		if err == nil || !strings.Contains(err.Error(), "row 2") || !strings.Contains(err.Error(), fmt.Sprintf("ptype %q", ptype)) {
			t.Errorf("ptype %q: %v", ptype, err)
		}
	}
}
