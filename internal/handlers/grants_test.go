package handlers

import (
	"database/sql"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// countingAuthorizer allows the actions in allowed and counts every
// question it is asked.
type countingAuthorizer struct {
	allowed map[string]bool
	asked   map[string]int
}

func (a *countingAuthorizer) Allowed(_ auth.Principal, resource, action string) (bool, error) {
	a.asked[resource+" "+action]++
	return a.allowed[action], nil
}

// ownedResource is filterResource with user_id as its owner column.
func ownedResource(t *testing.T) *introspect.Resource {
	t.Helper()
	sqldb, err := sql.Open(sqliteshim.ShimName, "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { db.Close() })
	res, err := introspect.Build(db, (*filterPost)(nil), introspect.Options{Owner: "userId"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestGrantsAskOncePerRequest checks that the steps of one request which
// all need the caller's scopes (the permission check, the read_deleted
// scope, the fields a response shows) ask the authorizer once per action.
func TestGrantsAskOncePerRequest(t *testing.T) {
	res := ownedResource(t)
	authz := &countingAuthorizer{allowed: map[string]bool{"read": true, "read_deleted:own": true}, asked: map[string]int{}}
	g := newGrants(auth.Principal{ID: "7"}, OpList, authz, echo.New().Logger, res)

	for range 3 {
		if s, err := g.require(auth.ActionRead); err != nil || s != scopeAll {
			t.Fatalf("require(read) = %v, %v; want all", s, err)
		}
		if s := g.readDeleted(res); s != scopeOwn {
			t.Fatalf("readDeleted = %v; want own", s)
		}
		if !g.seesDeleted(res) {
			t.Fatal("seesDeleted = false; want true under read_deleted:own")
		}
		if cond, _ := g.ownOnly(res, g.readDeleted(res)); cond == "" {
			t.Fatal("no own-rows condition under read_deleted:own")
		}
	}
	want := map[string]int{"posts read": 1, "posts read_deleted": 1, "posts read_deleted:own": 1}
	if len(authz.asked) != len(want) {
		t.Errorf("asked %v; want %v", authz.asked, want)
	}
	for q, n := range want {
		if authz.asked[q] != n {
			t.Errorf("asked %q %d times; want %d", q, authz.asked[q], n)
		}
	}
}

// TestGrantOverridesAnAnswer checks that Grant, called by an override
// after the policy said no, wins over the answer the request kept.
func TestGrantOverridesAnAnswer(t *testing.T) {
	res := ownedResource(t)
	authz := &countingAuthorizer{allowed: map[string]bool{}, asked: map[string]int{}}
	g := newGrants(auth.Principal{ID: "7"}, OpUpdate, authz, echo.New().Logger, res)
	if g.can(res.Name, auth.ActionUpdate) {
		t.Fatal("can(update) before Grant; want no")
	}
	if _, err := g.require(auth.ActionUpdate); err == nil {
		t.Fatal("require(update) passed before Grant")
	}
	g.grant(auth.ActionUpdate)
	if s, err := g.require(auth.ActionUpdate); err != nil || s != scopeAll {
		t.Fatalf("require(update) after Grant = %v, %v; want all", s, err)
	}
	g.grant(auth.ActionDelete + ownSuffix)
	if s := g.scope(res, auth.ActionDelete); s != scopeOwn {
		t.Fatalf("scope(delete) after Grant(delete:own) = %v; want own", s)
	}
	if g.can("comments", auth.ActionUpdate) {
		t.Fatal("Grant reached another resource")
	}
}
