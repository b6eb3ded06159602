package framework

import (
	"context"
	"fmt"
	"reflect"

	"github.com/autoapi-go/autoapi/internal/handlers"
)

// Event is what a lifecycle hook gets besides the record: the request's
// transaction (Event.DB), the caller and the resource.
type Event = handlers.Event

// Refuse is the error a before-hook returns to stop an operation with the
// given status and message; the client gets it as problem+json.
func Refuse(status int, message string) error { return handlers.Refuse(status, message) }

// Hooks are typed lifecycle callbacks for the resource of model T. Each
// runs inside the operation's transaction: an error from any of them, a
// Refuse from a before-hook or a failure of an after-hook, rolls the whole
// operation back. Unset hooks are skipped. Overrides replace generated
// handlers; hooks run inside the generated ones, so an override that calls
// Default still runs them.
type Hooks[T any] struct {
	BeforeCreate func(ctx context.Context, ev *Event, rec *T) error
	AfterCreate  func(ctx context.Context, ev *Event, rec *T) error
	// BeforeUpdate gets the new values in changes and the JSON names of
	// the fields the request sets.
	BeforeUpdate func(ctx context.Context, ev *Event, id any, changes *T, fields []string) error
	AfterUpdate  func(ctx context.Context, ev *Event, rec *T) error
	// BeforeDelete and AfterDelete run for soft deletes (permanent false)
	// and for rows removed for good (permanent true), one call per row,
	// bulk deletes included.
	BeforeDelete  func(ctx context.Context, ev *Event, id any, permanent bool) error
	AfterDelete   func(ctx context.Context, ev *Event, id any, permanent bool) error
	BeforeRestore func(ctx context.Context, ev *Event, id any) error
	AfterRestore  func(ctx context.Context, ev *Event, id any) error
}

// SetHooks installs the lifecycle hooks of the resource registered for
// model T, replacing any set before.
func SetHooks[T any](app *App, h Hooks[T]) error {
	typ := reflect.TypeFor[T]()
	if app.mounted {
		return fmt.Errorf("framework: set hooks of %s before mounting the routes", typ.Name())
	}
	for _, r := range app.resources {
		if r.desc.Type == typ {
			r.hooks = h.untyped()
			return nil
		}
	}
	return fmt.Errorf("framework: hooks: model %s is not registered", typ.Name())
}

// untyped adapts typed hooks to the handlers' form.
func (h Hooks[T]) untyped() *handlers.Hooks {
	rec := func(fn func(context.Context, *Event, *T) error) func(context.Context, *Event, any) error {
		if fn == nil {
			return nil
		}
		return func(ctx context.Context, ev *Event, v any) error { return fn(ctx, ev, v.(*T)) }
	}
	out := &handlers.Hooks{
		BeforeCreate:  rec(h.BeforeCreate),
		AfterCreate:   rec(h.AfterCreate),
		AfterUpdate:   rec(h.AfterUpdate),
		BeforeDelete:  h.BeforeDelete,
		AfterDelete:   h.AfterDelete,
		BeforeRestore: h.BeforeRestore,
		AfterRestore:  h.AfterRestore,
	}
	if fn := h.BeforeUpdate; fn != nil {
		out.BeforeUpdate = func(ctx context.Context, ev *Event, id any, v any, fields []string) error {
			return fn(ctx, ev, id, v.(*T), fields)
		}
	}
	return out
}
