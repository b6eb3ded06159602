// Package handlers holds the generic list, get, create, update, delete and
// restore handlers that serve every registered resource from its
// introspected descriptor, and the problem+json error rendering.
package handlers

import (
	"fmt"
	"net/http"
	"reflect"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Operation names one generated handler of a resource.
type Operation string

// The operations every resource has; OpRestore only on soft-deletable ones.
const (
	OpList    Operation = "list"
	OpGet     Operation = "get"
	OpCreate  Operation = "create"
	OpUpdate  Operation = "update"
	OpDelete  Operation = "delete"
	OpRestore Operation = "restore"
	// OpBulkDelete and OpBulkRestore act on every row a filter matches.
	OpBulkDelete  Operation = "bulk_delete"
	OpBulkRestore Operation = "bulk_restore"
)

// HandlerFunc serves one operation of one resource.
type HandlerFunc func(*Context) error

// Authorizer answers whether a principal may do an action on a resource.
// *auth.Enforcer satisfies it.
type Authorizer interface {
	Allowed(p auth.Principal, resource, action string) (bool, error)
}

// Limits bounds what a request may ask for.
type Limits struct {
	// DefaultLimit is the page size when the request names none.
	DefaultLimit int
	// MaxLimit is the largest page size a request may ask for.
	MaxLimit int
	// Filter bounds ?filter= expressions.
	Filter FilterLimits
}

// Endpoint is the configuration one resource's handlers share: the
// descriptor, the database and the authorizer. It is built once, when
// routes are mounted, and NewService makes the resource's Service of it.
type Endpoint struct {
	Resource   *introspect.Resource
	DB         bun.IDB
	Authorizer Authorizer
	Limits     Limits
	// CursorKey seals pagination cursors: CursorKeySize bytes, from
	// DeriveCursorKey or crypto/rand.
	CursorKey []byte
	// Related finds the registered resource of a related model, for
	// ?include= and for checking belongs-to references.
	Related map[reflect.Type]*introspect.Resource
	// Validator enforces `validate` tags; nil skips them.
	Validator *validator.Validate
	// Hooks are the resource's lifecycle hooks, or nil.
	Hooks *Hooks
	// Counts reads the resource's row counts, kept right by the database;
	// a list total without filters reads them instead of counting. Nil
	// counts always.
	Counts Counter
	// RowLocks says the database takes row locks (SELECT ... FOR SHARE),
	// which writes of a child take on its parents; PostgreSQL does.
	// SQLite runs one write transaction at a time and needs none.
	RowLocks bool
	// ILike says the database matches text ignoring case with ILIKE
	// (PostgreSQL, whose LIKE respects case); otherwise contains and like
	// filters use LIKE, which SQLite applies ignoring the case of ASCII
	// letters.
	ILike bool
}

// Context is what a handler, generated or custom, gets for one request.
// It embeds echo.Context for the request and response.
type Context struct {
	echo.Context
	svc       *Service
	generated HandlerFunc
	// grants are the caller's, resolved once for the request.
	grants grants
}

// NewContext wraps an Echo context for op on the resource svc serves.
// generated is the handler the framework would run, available to
// overrides through Default.
func NewContext(c echo.Context, svc *Service, op Operation, generated HandlerFunc) *Context {
	return &Context{
		Context:   c,
		svc:       svc,
		generated: generated,
		grants:    newGrants(auth.FromContext(c.Request().Context()), op, svc.ep.Authorizer, c.Logger(), svc.res),
	}
}

// DB returns the database handle.
func (c *Context) DB() bun.IDB { return c.svc.db(c.Request().Context()) }

// Resource returns the descriptor of the resource being served.
func (c *Context) Resource() *introspect.Resource { return c.svc.res }

// Operation returns the operation being served.
func (c *Context) Operation() Operation { return c.grants.op }

// Principal returns the caller.
func (c *Context) Principal() auth.Principal { return c.grants.principal }

// ID returns the :id path parameter ("" on list and create).
func (c *Context) ID() string { return c.Param("id") }

// Default runs the generated handler for this operation, so that an
// override can check something and then fall back to the standard
// behaviour.
func (c *Context) Default() error { return c.generated(c) }

// Can reports whether the caller may do action on this resource. A
// failing policy check counts as "no".
func (c *Context) Can(action string) bool {
	return c.CanOn(c.svc.res.Name, action)
}

// CanOn reports whether the caller may do action on the named resource.
func (c *Context) CanOn(resource, action string) bool { return c.grants.can(resource, action) }

// Grant lets this request do action on this resource whatever the policy
// says. An override calls it after its own check (say, "the caller owns
// the row") and then calls Default, whose permission check now passes.
func (c *Context) Grant(action string) { c.grants.grant(action) }

// Require returns nil when the caller may do action, otherwise the error
// to return: 401 for an anonymous caller, 403 for an authenticated one.
func (c *Context) Require(action string) error {
	if c.Can(action) {
		return nil
	}
	return c.Deny(action)
}

// Deny returns the refusal for action: 401 with a Bearer challenge when
// the caller is anonymous, 403 otherwise.
func (c *Context) Deny(action string) error { return c.grants.deny(action) }

// NotFound returns the 404 for the record with the given id.
func (c *Context) NotFound(id string) error { return notFound(c.svc.res, id) }

// notFound is the 404 for the record of res with the given id.
func notFound(res *introspect.Resource, id string) error {
	return Problemf(http.StatusNotFound, "%s %s not found", res.Name, id)
}

// Problem returns a problem+json error with the given status and detail.
func (c *Context) Problem(status int, detail string) error { return NewProblem(status, detail) }

// Record writes {"data": record, ...extra} with the given status. record is
// a pointer to a model value; the soft-delete column is included only when
// the caller may read deleted rows.
func (c *Context) Record(status int, record any, extra ...Member) error {
	v := reflect.ValueOf(record)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Type() != c.svc.res.Type {
		return fmt.Errorf("handlers: Record got %T, want a %s", record, c.svc.res.ModelName)
	}
	res := c.svc.res
	return writeRecord(c, status, v, res.Exposed(c.grants.seesDeleted(res)), nil, extra...)
}

// Member is one extra top-level member of a response object.
type Member struct {
	Key   string
	Value any
}
