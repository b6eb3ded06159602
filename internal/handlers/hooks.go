package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Event is what a lifecycle hook gets besides the record: the transaction
// the operation runs in, the caller and the resource.
type Event struct {
	// DB is the request's transaction; queries through it commit or roll
	// back with the operation.
	DB        bun.IDB
	Principal auth.Principal
	Resource  *introspect.Resource
	Operation Operation
}

// Hooks are the lifecycle callbacks of one resource, untyped: records are
// pointers to the model. Every hook runs inside the operation's
// transaction; an error from any of them rolls the whole operation back,
// and a *Problem (see Refuse) is the answer the client gets.
type Hooks struct {
	BeforeCreate func(ctx context.Context, ev *Event, rec any) error
	AfterCreate  func(ctx context.Context, ev *Event, rec any) error
	// BeforeUpdate gets the changed values in rec and their JSON names.
	BeforeUpdate func(ctx context.Context, ev *Event, id any, rec any, fields []string) error
	AfterUpdate  func(ctx context.Context, ev *Event, rec any) error
	// BeforeDelete and AfterDelete run for soft deletes (permanent false)
	// and for rows removed for good (permanent true).
	BeforeDelete  func(ctx context.Context, ev *Event, id any, permanent bool) error
	AfterDelete   func(ctx context.Context, ev *Event, id any, permanent bool) error
	BeforeRestore func(ctx context.Context, ev *Event, id any) error
	AfterRestore  func(ctx context.Context, ev *Event, id any) error
}

// Intercept reports whether h has a hook that runs for op: a delete's
// or a restore's (for their bulk forms too). A dry run of such an
// operation is not offered: a hook may act outside the database, which a
// rolled-back transaction cannot take back, and one that refuses would
// make a preview that skipped it wrong.
func (h *Hooks) Intercept(op Operation) bool {
	if h == nil {
		return false
	}
	switch op {
	case OpDelete, OpBulkDelete:
		return h.BeforeDelete != nil || h.AfterDelete != nil
	case OpRestore, OpBulkRestore:
		return h.BeforeRestore != nil || h.AfterRestore != nil
	}
	return false
}

// Refuse is the error a before-hook returns to stop an operation with the
// given status and message, rendered as problem+json.
func Refuse(status int, message string) error {
	if status < 400 || status > 599 {
		status = http.StatusUnprocessableEntity
	}
	return NewProblem(status, message)
}

// hookFailure hides a hook's own error from the error handler: whatever
// status or database error it wraps, the client gets a 500 and the text
// goes to the log. Refuse is the way to answer with a status.
type hookFailure struct{ err error }

func (h hookFailure) Error() string { return "lifecycle hook: " + h.err.Error() }

// hookErr passes a Refuse problem through and hides anything else.
func hookErr(err error) error {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return hookFailure{err}
}

// event is what a hook of the request g serves is told.
func (s *Service) event(db bun.IDB, g *grants) *Event {
	return &Event{DB: db, Principal: g.principal, Resource: s.res, Operation: g.op}
}

// runDeleteHook runs a before- or after-delete hook for each key.
func (s *Service) runDeleteHook(ctx context.Context, db bun.IDB, g *grants, hook func(context.Context, *Event, any, bool) error, keys []any, permanent bool) error {
	if hook == nil {
		return nil
	}
	for _, k := range keys {
		if err := hook(ctx, s.event(db, g), k, permanent); err != nil {
			return hookErr(err)
		}
	}
	return nil
}

// runRestoreHook runs a before- or after-restore hook for each key.
func (s *Service) runRestoreHook(ctx context.Context, db bun.IDB, g *grants, hook func(context.Context, *Event, any) error, keys []any) error {
	if hook == nil {
		return nil
	}
	for _, k := range keys {
		if err := hook(ctx, s.event(db, g), k); err != nil {
			return hookErr(err)
		}
	}
	return nil
}
