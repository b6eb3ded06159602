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

// scopeOn says on which rows of res the caller may do action.
func (c *Context) scopeOn(res *introspect.Resource, action string) scope {
	return scopeOf(res, c.principal, action, func(action string) bool { return c.CanOn(res.Name, action) })
}

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

// requireScope is Require for an action that may be granted on own rows.
// It also keeps the matching "own rows only" condition, which every
// statement of the operation then carries (see ownRows).
func (c *Context) requireScope(action string) (scope, error) {
	s := c.scopeOn(c.ep.Resource, action)
	if s == scopeNone {
		return s, c.Deny(action)
	}
	c.ownCond, c.ownArgs = c.ownOnly(c.ep.Resource, s)
	return s, nil
}

// ownRows limits q to the rows the operation's grant reaches.
func ownRows[Q interface {
	Where(string, ...any) Q
}](c *Context, q Q) Q {
	return where(q, c.ownCond, c.ownArgs)
}

// ownerValue is the caller's id as a value of res's owner column; ok is
// false when res has no owner column or the caller has no such id.
func (c *Context) ownerValue(res *introspect.Resource) (any, bool) {
	return ownerValueOf(res, c.principal)
}

func ownerValueOf(res *introspect.Resource, p auth.Principal) (any, bool) {
	if res.Owner == nil || p.ID == "" {
		return nil, false
	}
	// A principal whose id is not the canonical spelling of an owner value
	// ("02" for 2) owns nothing.
	return canonicalKey(res.Owner, p.ID)
}

// ownOnly returns the condition "the row is the caller's" for a scope,
// or "" when the scope reaches every row.
func (c *Context) ownOnly(res *introspect.Resource, s scope) (string, []any) {
	if s != scopeOwn {
		return "", nil
	}
	me, _ := c.ownerValue(res)
	return "? = ?", []any{res.Owner.Ident, me}
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
func (c *Context) visibility(res *introspect.Resource, read, readDeleted scope, rows deletedRows) (string, []any, bool) {
	var (
		parts []string
		args  []any
	)
	if cond, a := c.ownOnly(res, read); cond != "" {
		parts, args = append(parts, cond), append(args, a...)
	}
	if res.SoftDeletable() {
		live, liveArgs := res.SoftDelete.Live()
		deleted, deletedArgs := res.SoftDelete.Deleted()
		own, ownArgs := c.ownOnly(res, readDeleted)
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
func (c *Context) checkOwnerSet(rec reflect.Value, set []*introspect.Field, s scope, action string) error {
	res := c.ep.Resource
	if res.Owner == nil || s == scopeAll || !containsField(set, res.Owner) {
		return nil
	}
	me, _ := c.ownerValue(res)
	if v, ok := joinKey(res.Owner.Value(rec)); !ok || keyString(v) != keyString(me) {
		return Problemf(http.StatusForbidden, "you may %s only %s you own: %s must be %s", action, res.Name, res.Owner.JSON, c.principal.ID)
	}
	return nil
}

// canSeeDeleted reports whether the deletion fields of res appear in the
// caller's responses: with read_deleted on any rows.
func (c *Context) canSeeDeleted(res *introspect.Resource) bool {
	return res.SoftDeletable() && c.scopeOn(res, auth.ActionReadDeleted) != scopeNone
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
	switch c.scopeOn(c.ep.Resource, action) {
	case scopeAll:
		return "all"
	case scopeOwn:
		return "own"
	}
	return ""
}
