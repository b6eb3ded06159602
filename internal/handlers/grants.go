package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Grants. A request resolves what the caller may do once: each resource
// and action is asked of the authorizer at most once, when a step first
// needs it, and every later step (the permission check, the read and
// read_deleted scopes of a list, its total and its cursor, the fields a
// response shows, includes, the checks of references) reads the same
// answer. Two steps can then never disagree about one request, and the
// policy is not consulted again for each.

// grants are the caller of one request and what their grants reach.
type grants struct {
	principal auth.Principal
	// op is the operation the request serves, which hooks are told.
	op    Operation
	authz Authorizer
	log   echo.Logger
	// served is the resource the request is for, which Grant applies to.
	served  *introspect.Resource
	granted []string
	// answers holds the authorizer's answers so far; a request asks a
	// handful, so a linear search of a few inline entries costs less
	// than a map.
	answers [4]answer
	n       int
	more    []answer
	// reach is the operation's: the scope its grant was checked at and
	// the own-rows condition every statement of it carries (see
	// require).
	reach reach
	// capped bounds the scope require grants to cap: a dry run reaches
	// only rows the caller may see (see DryRun).
	capped bool
	cap    scope
	// owner is the caller's id as a value of served's owner column.
	owner      any
	ownerOK    bool
	ownerKnown bool
}

// answer is one answer of the authorizer.
type answer struct {
	resource, action string
	own              bool // asked for the own-rows variant, action+":own"
	ok               bool
}

// reach is how far an operation's grant reaches: its scope, and the
// condition "the row is the caller's" when that scope is own rows only.
type reach struct {
	scope scope
	cond  string
	args  []any
}

func newGrants(p auth.Principal, op Operation, authz Authorizer, log echo.Logger, served *introspect.Resource) grants {
	return grants{principal: p, op: op, authz: authz, log: log, served: served}
}

// can reports whether the caller may do action on the named resource, as
// Context.CanOn does.
func (g *grants) can(resource, action string) bool {
	return g.ask(resource, action, false)
}

// ask answers whether the caller may do action (or, with own, its
// own-rows variant) on resource, asking the authorizer only the first
// time. A failing policy check counts as "no".
func (g *grants) ask(resource, action string, own bool) bool {
	if resource == g.served.Name && g.wasGranted(action, own) {
		return true
	}
	for i := range g.n {
		if a := &g.answers[i]; a.own == own && a.action == action && a.resource == resource {
			return a.ok
		}
	}
	for _, a := range g.more {
		if a.own == own && a.action == action && a.resource == resource {
			return a.ok
		}
	}
	name := action
	if own {
		name += ownSuffix
	}
	ok, err := g.authz.Allowed(g.principal, resource, name)
	if err != nil {
		g.log.Errorf("authorizer failed: %v", err)
		ok = false
	}
	a := answer{resource: resource, action: action, own: own, ok: ok}
	if g.n < len(g.answers) {
		g.answers[g.n] = a
		g.n++
	} else {
		g.more = append(g.more, a)
	}
	return ok
}

// wasGranted reports whether an override granted action (or its own-rows
// variant) through Context.Grant.
func (g *grants) wasGranted(action string, own bool) bool {
	for _, x := range g.granted {
		if !own && x == action {
			return true
		}
		if own && len(x) == len(action)+len(ownSuffix) && strings.HasPrefix(x, action) && strings.HasSuffix(x, ownSuffix) {
			return true
		}
	}
	return false
}

// grant lets the request do action on the served resource.
func (g *grants) grant(action string) { g.granted = append(g.granted, action) }

// scope says on which rows of res the caller may do action.
func (g *grants) scope(res *introspect.Resource, action string) scope {
	if g.ask(res.Name, action, false) {
		return scopeAll
	}
	if _, ok := g.ownerValue(res); ok && g.ask(res.Name, action, true) {
		return scopeOwn
	}
	return scopeNone
}

// readDeleted is the caller's read_deleted scope on res: none when res has
// no soft deletes.
func (g *grants) readDeleted(res *introspect.Resource) scope {
	if !res.SoftDeletable() {
		return scopeNone
	}
	return g.scope(res, auth.ActionReadDeleted)
}

// seesDeleted reports whether the deletion fields of res appear in the
// caller's responses: with read_deleted on any rows.
func (g *grants) seesDeleted(res *introspect.Resource) bool {
	return g.readDeleted(res) != scopeNone
}

// require is Require for an action that may be granted on own rows. It
// keeps the operation's reach, whose own-rows condition every statement of
// the operation then carries (see ownRows).
func (g *grants) require(action string) (scope, error) {
	s := g.scope(g.served, action)
	if g.capped && s > g.cap {
		s = g.cap
	}
	if s == scopeNone {
		return s, g.deny(action)
	}
	cond, args := g.ownOnly(g.served, s)
	g.reach = reach{scope: s, cond: cond, args: args}
	return s, nil
}

// deny is the refusal for action on the served resource: 401 with a
// Bearer challenge when the caller is anonymous, 403 otherwise.
func (g *grants) deny(action string) error {
	if g.principal.Anonymous() {
		return auth.Unauthenticated("authentication is required to " + strings.ReplaceAll(action, "_", " ") + " " + g.served.Name)
	}
	return Problemf(http.StatusForbidden, "you may not %s %s", strings.ReplaceAll(action, "_", " "), g.served.Name)
}

// ownerValue is the caller's id as a value of res's owner column; ok is
// false when res has no owner column or the caller has no such id. It is
// worked out once for the served resource.
func (g *grants) ownerValue(res *introspect.Resource) (any, bool) {
	if res != g.served {
		return ownerValueOf(res, g.principal)
	}
	if !g.ownerKnown {
		g.owner, g.ownerOK = ownerValueOf(res, g.principal)
		g.ownerKnown = true
	}
	return g.owner, g.ownerOK
}

// ownOnly returns the condition "the row is the caller's" for a scope,
// or "" when the scope reaches every row.
func (g *grants) ownOnly(res *introspect.Resource, s scope) (string, []any) {
	if s != scopeOwn {
		return "", nil
	}
	me, _ := g.ownerValue(res)
	return "? = ?", []any{res.Owner.Ident, me}
}

// ownRows limits q to the rows the operation's grant reaches.
func ownRows[Q interface {
	Where(string, ...any) Q
}](g *grants, q Q) Q {
	return where(q, g.reach.cond, g.reach.args)
}
