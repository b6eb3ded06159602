package auth_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fileadapter "github.com/casbin/casbin/v2/persist/file-adapter"

	"github.com/autoapi-go/autoapi/auth"
)

// TestMalformedPolicyLines checks that a policy line the model cannot use
// is an error naming its source, line and text, whichever source it
// comes from, instead of a policy that refuses everything.
func TestMalformedPolicyLines(t *testing.T) {
	t.Parallel()
	const good = "p, admin, *, *\n"
	for _, c := range []struct {
		name, line string
		want       []string
	}{
		{"too few values", "p, admin", []string{`"p, admin"`, "p needs 3 values", "got 1"}},
		{"too many values", "p, admin, posts, read, extra", []string{"p needs 3 values", "got 4"}},
		{"no ptype", "garbage line", []string{`"garbage line"`, "unknown policy type", "g, p"}},
		{"an undefined ptype", "p2, admin, posts, read", []string{`unknown policy type "p2"`}},
		{"a role without its parent", "g, alice", []string{"g needs 2 values", "got 1"}},
		{"a role with a domain the model lacks", "g, alice, admin, shop", []string{"g needs 2 values", "got 3"}},
		{"an empty ptype", ", admin, posts, read", []string{`unknown policy type ""`}},
		{"a broken quote", `p, "admin, posts, read`, []string{"line 3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			text := good + "\n" + c.line + "\n# a comment\n"
			_, err := auth.NewEnforcer(auth.EnforcerConfig{Policy: text})
			wantError(t, err, append([]string{"Policy text line 3"}, c.want...)...)

			path := filepath.Join(t.TempDir(), "policy.csv")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = auth.NewEnforcer(auth.EnforcerConfig{PolicyFile: path})
			wantError(t, err, append([]string{"PolicyFile " + path + " line 3"}, c.want...)...)
		})
	}
	// Blank lines, comments, CRLF line ends and leading spaces are fine.
	e, err := auth.NewEnforcer(auth.EnforcerConfig{Policy: "\r\n# roles\r\n  p, admin, *, *\r\ng, alice, admin\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.Allowed(auth.Principal{ID: "1", Roles: []string{"alice"}}, "posts", "read"); !ok || err != nil {
		t.Errorf("alice, an admin, may not read posts: %v %v", ok, err)
	}
}

// TestMalformedAdapterPolicy checks the lines an adapter loads, here
// casbin's file adapter given as Adapter: the error names the adapter and
// the rule.
func TestMalformedAdapterPolicy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		line string
		want []string
	}{
		{"p, admin", []string{"policy adapter", "admin"}},
		{"g, alice, admin, shop", []string{"policy adapter", `"g, alice, admin, shop"`, "g needs 2 values"}},
	} {
		path := filepath.Join(t.TempDir(), "policy.csv")
		if err := os.WriteFile(path, []byte("p, admin, *, *\n"+c.line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := auth.NewEnforcer(auth.EnforcerConfig{Adapter: fileadapter.NewAdapter(path)})
		wantError(t, err, c.want...)
	}
}

// TestModelRequestShape checks that a model whose requests do not have
// the three values routes ask about is refused.
func TestModelRequestShape(t *testing.T) {
	t.Parallel()
	m := strings.Replace(auth.DefaultModel, "r = sub, obj, act", "r = sub, dom, obj, act", 1)
	_, err := auth.NewEnforcer(auth.EnforcerConfig{Model: m, Policy: "p, admin, *, *"})
	wantError(t, err, "request definition", "3 values")
}

// TestReloadKeepsPolicy checks that a reload finding a malformed line
// fails naming it and leaves the policy in force as it was; a good file
// then loads.
func TestReloadKeepsPolicy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.csv")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("p, user, posts, read\n")
	e, err := auth.NewEnforcer(auth.EnforcerConfig{PolicyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	user := auth.Principal{ID: "1", Roles: []string{"user"}}
	allowed := func(resource string) bool {
		t.Helper()
		ok, err := e.Allowed(user, resource, "read")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !allowed("posts") {
		t.Fatal("user may not read posts")
	}
	write("p, user, tags, read\np, user\n")
	wantError(t, e.Reload(), "line 2", `"p, user"`)
	if !allowed("posts") || allowed("tags") {
		t.Error("a failed reload changed the policy")
	}
	write("p, user, tags, read\n")
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if allowed("posts") || !allowed("tags") {
		t.Error("a good reload did not apply the new policy")
	}
}

// TestUngranted checks which resources no policy line could grant
// anything on, with the default model's "*" and a keyMatch model.
func TestUngranted(t *testing.T) {
	t.Parallel()
	keyMatch := strings.Replace(auth.DefaultModel, `(p.obj == "*" || r.obj == p.obj)`, "keyMatch(r.obj, p.obj)", 1)
	if keyMatch == auth.DefaultModel {
		t.Fatal("the default model's matcher changed; adjust the test")
	}
	for _, c := range []struct {
		name, model, policy string
		want                []string
	}{
		{"named resources", "", "p, user, posts, read\np, admin, tags, *\ng, alice, admin", []string{"widgets"}},
		{"a wildcard object", "", "p, admin, *, read\np, user, posts, read", nil},
		{"keyMatch", keyMatch, "p, user, wid*, read\np, user, posts, read", []string{"tags"}},
		{"roles only", "", "p, user, posts, read\ng, alice, user", []string{"tags", "widgets"}},
	} {
		e, err := auth.NewEnforcer(auth.EnforcerConfig{Model: c.model, Policy: c.policy})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Ungranted([]string{"posts", "tags", "widgets"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Ungranted = %v, want %v", c.name, got, c.want)
		}
	}
}

func wantError(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want one mentioning %q", want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}
