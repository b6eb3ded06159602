// Package auth decides who is calling (authentication) and whether they may
// do what they ask (authorization through casbin).
package auth

import "context"

// Principal is the caller of a request: an id and the roles it holds. The
// zero Principal is the anonymous caller.
type Principal struct {
	// ID identifies the caller, e.g. a user id; empty for anonymous callers.
	ID string
	// Roles are the casbin subjects the caller acts as.
	Roles []string
}

// Anonymous reports whether the principal carries no identity: no id and
// no roles.
func (p Principal) Anonymous() bool { return p.ID == "" && len(p.Roles) == 0 }

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored in ctx, or the anonymous one.
func FromContext(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
