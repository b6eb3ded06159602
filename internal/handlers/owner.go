package handlers

import (
	"net/http"
	"reflect"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Ownership. A policy grants an action on every row ("update") or on the
// caller's own rows only ("update:own"), for resources that name an owner
// column. Own-only grants are enforced in SQL, as one more condition on
// the statement, so that totals, cursors and includes stay right, and a
// row that is not yours is a 404 exactly like a missing one.

// scope is how far a grant reaches.
type scope int

const (
	scopeNone scope = iota
	scopeOwn
	scopeAll
)

// ownSuffix marks a grant on owned rows only.
const ownSuffix = ":own"

// scopeOf decides a scope from can, which answers for one action.
func scopeOf(res *introspect.Resource, p auth.Principal, action string, can func(string) bool) scope {
	if can(action) {
		return scopeAll
	}
	if _, ok := ownerValueOf(res, p); ok && can(action+ownSuffix) {
		return scopeOwn
	}
	return scopeNone
}

func ownerValueOf(res *introspect.Resource, p auth.Principal) (any, bool) {
	if res.Owner == nil || p.ID == "" {
		return nil, false
	}
	// A principal whose id is not the canonical spelling of an owner value
	// ("02" for 2) owns nothing.
	return canonicalKey(res.Owner, p.ID)
}

// deletedRows says which soft-deleted rows a read shows.
type deletedRows int

const (
	liveRows        deletedRows = iota // live rows only
	withDeletedRows                    // live and deleted rows
	onlyDeletedRows                    // the trash view
)

// visibility is the WHERE fragment that limits a read of res to what the
// caller may see: own rows under an own-only read grant, and deleted rows
// only as rows asks and the read_deleted grant reaches. It is ANDed
// outside any condition of the caller's. ok is false when nothing limits.
func (g *grants) visibility(res *introspect.Resource, read, readDeleted scope, rows deletedRows) (string, []any, bool) {
	var (
		parts []string
		args  []any
	)
	if cond, a := g.ownOnly(res, read); cond != "" {
		parts, args = append(parts, cond), append(args, a...)
	}
	if res.SoftDeletable() {
		live, liveArgs := res.SoftDelete.Live()
		deleted, deletedArgs := res.SoftDelete.Deleted()
		own, ownArgs := g.ownOnly(res, readDeleted)
		switch {
		case rows == onlyDeletedRows && own != "":
			parts, args = append(parts, deleted+" AND "+own), append(append(args, deletedArgs...), ownArgs...)
		case rows == onlyDeletedRows:
			parts, args = append(parts, deleted), append(args, deletedArgs...)
		case rows == withDeletedRows && readDeleted != scopeNone && own != "":
			parts, args = append(parts, "("+live+" OR "+own+")"), append(append(args, liveArgs...), ownArgs...)
		case rows == withDeletedRows && readDeleted != scopeNone:
		default:
			parts, args = append(parts, live), append(args, liveArgs...)
		}
	}
	if len(parts) == 0 {
		return "", nil, false
	}
	q := "(" + parts[0] + ")"
	for _, p := range parts[1:] {
		q += " AND (" + p + ")"
	}
	return q, args, true
}

// where adds cond to q when there is one.
func where[Q interface {
	Where(string, ...any) Q
}](q Q, cond string, args []any) Q {
	if cond == "" {
		return q
	}
	return q.Where(cond, args...)
}

// checkOwnerSet refuses a write that sets the owner column to someone
// else unless the grant reaches every row.
func (g *grants) checkOwnerSet(rec reflect.Value, set []*introspect.Field, s scope, action string) error {
	res := g.served
	if res.Owner == nil || s == scopeAll || !containsField(set, res.Owner) {
		return nil
	}
	me, _ := g.ownerValue(res)
	if v, ok := joinKey(res.Owner.Value(rec)); !ok || keyString(v) != keyString(me) {
		return Problemf(http.StatusForbidden, "you may %s only %s you own: %s must be %s", action, res.Name, res.Owner.JSON, g.principal.ID)
	}
	return nil
}

// setValue stores v, converted, into field, allocating when the field is a
// pointer.
func setValue(field reflect.Value, v any) {
	if field.Kind() == reflect.Pointer {
		p := reflect.New(field.Type().Elem())
		p.Elem().Set(reflect.ValueOf(v).Convert(field.Type().Elem()))
		field.Set(p)
		return
	}
	field.Set(reflect.ValueOf(v).Convert(field.Type()))
}

// Allows says on which rows of this resource the caller may do action:
// "all", "own" (the rows whose owner column holds the caller's id, as an
// own-only grant like "update:own" allows) or "" for none. Overrides use it
// where Can, which asks about the action exactly as named, would miss an
// own-only grant; the override must then keep to the caller's rows itself.
func (c *Context) Allows(action string) string {
	switch c.grants.scope(c.svc.res, action) {
	case scopeAll:
		return "all"
	case scopeOwn:
		return "own"
	}
	return ""
}
