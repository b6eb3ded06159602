package framework

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/extra/bunotel"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/counts"
	"github.com/autoapi-go/autoapi/internal/handlers"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Operation names one generated handler of a resource.
type Operation = handlers.Operation

// The operations a resource can have.
const (
	OpList    = handlers.OpList
	OpGet     = handlers.OpGet
	OpCreate  = handlers.OpCreate
	OpUpdate  = handlers.OpUpdate
	OpDelete  = handlers.OpDelete
	OpRestore = handlers.OpRestore
	// OpBulkDelete serves DELETE /R?<filters>; OpBulkRestore serves
	// POST /R/restore?<filters> on soft-deletable resources.
	OpBulkDelete  = handlers.OpBulkDelete
	OpBulkRestore = handlers.OpBulkRestore
)

// Context is what a handler, generated or custom, gets for one request.
type Context = handlers.Context

// HandlerFunc serves one operation of one resource.
type HandlerFunc = handlers.HandlerFunc

// Member is an extra top-level member of a Context.Record response.
type Member = handlers.Member

// App holds the registered resources and serves them.
type App struct {
	cfg        Config
	engine     engine
	authorizer handlers.Authorizer
	enforcer   *auth.Enforcer
	validator  *validator.Validate
	// counts keeps the row counts of every table; nil with
	// Config.ComputeCounts.
	counts *counts.Store
	// cursorKey seals pagination cursors; see Config.CursorSecret.
	cursorKey []byte
	resources []*resource
	byName    map[string]*resource
	mounted   bool
	// docs serves the docs page; nil when it is off.
	docs *docsPage
	// admin is the admin page, nil when it is off.
	admin *adminPage
	// policyStale says the last policy reload failed (see
	// RunPolicyReload); the readiness check reports it.
	policyStale atomic.Bool
	// metrics are the App's Prometheus collectors, nil when off.
	metrics *metrics
	// limiter holds the rate limits' buckets, nil when off.
	limiter *limiter
	// clientIP tells a request's caller's address (see TrustedProxies).
	clientIP echo.IPExtractor
}

type resource struct {
	desc *introspect.Resource
	// specs are the resource's operations, from its registration.
	specs     []handlers.Spec
	overrides map[Operation]HandlerFunc
	hooks     *handlers.Hooks
}

// New returns an App for cfg, with its authorizer ready.
func New(cfg Config) (*App, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkDialect(cfg.DB); err != nil {
		return nil, err
	}
	app := &App{cfg: cfg, engine: engineOf(cfg.DB), byName: map[string]*resource{}, validator: handlers.NewValidator()}
	if len(cfg.CursorSecret) > 0 {
		if app.cursorKey, err = handlers.DeriveCursorKey(cfg.CursorSecret); err != nil {
			return nil, fmt.Errorf("framework: cursor secret: %w", err)
		}
	} else {
		// Without a secret the App makes up its own key, so cursors stay
		// unforgeable and unreadable; they then open only on this App.
		app.cursorKey = make([]byte, handlers.CursorKeySize)
		rand.Read(app.cursorKey) // never fails; it crashes the program if it could
	}
	if app.docsEnabled() {
		if app.docs, err = newDocsPage(cfg.OpenAPI); err != nil {
			return nil, err
		}
	}
	if app.adminEnabled() {
		if app.admin, err = newAdminPage(cfg); err != nil {
			return nil, err
		}
	}
	if !cfg.ComputeCounts {
		if app.counts, err = counts.New(cfg.DB); err != nil {
			return nil, fmt.Errorf("framework: %w", err)
		}
	}
	app.authorizer = cfg.Authorizer
	if app.authorizer == nil {
		e, err := auth.NewEnforcer(auth.EnforcerConfig{
			Model:         cfg.CasbinModel,
			Adapter:       cfg.PolicyAdapter,
			PolicyFile:    cfg.PolicyFile,
			Policy:        cfg.Policy,
			AnonymousRole: cfg.AnonymousRole,
		})
		if err != nil {
			return nil, fmt.Errorf("framework: %w", err)
		}
		app.authorizer, app.enforcer = e, e
	}
	app.clientIP = clientIPExtractor(cfg.TrustedProxies)
	app.limiter = newLimiter(cfg.RateLimit)
	if cfg.Metrics.On {
		if app.metrics, err = newMetrics(cfg.Metrics, app); err != nil {
			return nil, fmt.Errorf("framework: metrics: %w", err)
		}
	}
	if tp := cfg.Tracing.TracerProvider; tp != nil {
		// A span per statement, a child of the request's span.
		cfg.DB.AddQueryHook(bunotel.NewQueryHook(bunotel.WithTracerProvider(tp), bunotel.WithFormattedQueries(false)))
	}
	return app, nil
}

// Enforcer returns the casbin enforcer the App built, or nil when
// Config.Authorizer was given.
func (a *App) Enforcer() *auth.Enforcer { return a.enforcer }

// Option adjusts the registration of one model.
type Option func(*introspect.Options)

// WithName sets the resource name used in URLs and policies; the default is
// bun's table name.
func WithName(name string) Option {
	return func(o *introspect.Options) { o.Name = name }
}

// Owner names the column (JSON or Go name) that holds the id of a row's
// owner, as the autoapi:"owner" tag does. A policy can then grant an
// action on owned rows only, e.g. "p, user, posts, update:own".
func Owner(field string) Option {
	return func(o *introspect.Options) { o.Owner = field }
}

// Cascade makes the named has-many or has-one relations (JSON or Go names)
// follow this resource's soft deletes and restores, as the
// autoapi:"cascade" tag on the relation field does.
func Cascade(relations ...string) Option {
	return func(o *introspect.Options) { o.Cascade = append(o.Cascade, relations...) }
}

// RequireIfMatch makes the resource's single-record writes (PATCH,
// DELETE, restore) need If-Match with the ETag the client read: without
// it they are a 428, so no client can overwrite a change it has not seen.
func RequireIfMatch() Option {
	return func(o *introspect.Options) { o.RequireIfMatch = true }
}

// Register adds the bun model T as a resource. All reflection and
// validation happen here; the error names the model and field at fault.
func Register[T any](app *App, opts ...Option) error {
	var o introspect.Options
	for _, opt := range opts {
		opt(&o)
	}
	return app.register((*T)(nil), o)
}

func (a *App) register(model any, o introspect.Options) error {
	if a.mounted {
		return fmt.Errorf("framework: register %T before mounting the routes", model)
	}
	desc, err := introspect.Build(a.cfg.DB, model, o)
	if err != nil {
		return err
	}
	if err := handlers.CheckValidationTags(a.validator, desc); err != nil {
		return err
	}
	if desc.SoftDeletable() && len(desc.Table.Unique) > 0 {
		// bun's unique tag becomes a table-wide constraint, which deleted
		// rows keep holding.
		a.cfg.Logger.Warn("bun's unique tag on a soft-deletable model makes deleted rows keep their values; is it a mistake? Try autoapi:\"unique\" for uniqueness among live rows",
			"model", desc.ModelName)
	}
	if sd := desc.Table.SoftDeleteField; sd != nil && !sd.NullZero && !sd.IsPtr {
		// The framework stores NULL for live rows; bun's own filter on
		// such a field compares with the zero value instead.
		a.cfg.Logger.Warn("bun's soft_delete tag without nullzero: the API stores NULL for live rows, so bun's own queries on this model will not see them; is it a mistake? Try bun:\",soft_delete,nullzero\"",
			"model", desc.ModelName, "field", sd.GoName)
	}
	if a.docs != nil && "/"+desc.Name == docsPath {
		return fmt.Errorf("framework: model %s: resource name %q is the path of the docs page; choose another with WithName, or turn the page off with OpenAPIConfig.NoDocsPage", desc.ModelName, desc.Name)
	}
	if a.cfg.Prefix == "" {
		for _, spec := range slices.Concat(a.healthSpecs(), a.metricsSpecs()) {
			if spec.Path == "/"+desc.Name {
				return fmt.Errorf("framework: model %s: resource name %q is the path of %s, and the API has no prefix; choose another with WithName, or move that endpoint", desc.ModelName, desc.Name, strings.ToLower(spec.Summary[:1])+spec.Summary[1:])
			}
		}
	}
	if desc.Name == string(handlers.OpPurge) || desc.Name == string(handlers.OpBatch) {
		return fmt.Errorf("framework: model %s: resource name %q is the path of POST /%s; choose another with WithName", desc.ModelName, desc.Name, desc.Name)
	}
	if a.admin != nil && "/"+desc.Name == a.admin.path {
		return fmt.Errorf("framework: model %s: resource name %q is the path of the admin page; choose another with WithName, or move the page with AdminConfig.Path", desc.ModelName, desc.Name)
	}
	if prev, dup := a.byName[desc.Name]; dup {
		return fmt.Errorf("framework: model %s: resource name %q is already registered by model %s", desc.ModelName, desc.Name, prev.desc.ModelName)
	}
	r := &resource{desc: desc, specs: handlers.ResourceSpecs(desc, a.limits()), overrides: map[Operation]HandlerFunc{}}
	a.resources = append(a.resources, r)
	a.byName[desc.Name] = r
	return nil
}

// Override replaces the generated handler for one operation of a resource.
// The handler can call ctx.Default() to run the generated one.
func (a *App) Override(resourceName string, op Operation, h HandlerFunc, opts ...OverrideOption) error {
	if a.mounted {
		return fmt.Errorf("framework: override %s %s before mounting the routes", resourceName, op)
	}
	r, ok := a.byName[resourceName]
	if !ok {
		return fmt.Errorf("framework: override: no resource %q is registered", resourceName)
	}
	if handlers.Generated(op) == nil {
		return fmt.Errorf("framework: override %s: unknown operation %q", resourceName, op)
	}
	spec := r.spec(op)
	if spec == nil {
		return fmt.Errorf("framework: override %s %s: model %s has no soft-delete column, so it has no restore route", resourceName, op, r.desc.ModelName)
	}
	if h == nil {
		return fmt.Errorf("framework: override %s %s: handler is nil", resourceName, op)
	}
	var o overrideOptions
	for _, opt := range opts {
		opt(&o)
	}
	for status := range o.schemas {
		if status < 100 || status > 599 {
			return fmt.Errorf("framework: override %s %s: %d is not an HTTP status", resourceName, op, status)
		}
	}
	spec.Overridden = true
	spec.Schemas = o.schemas
	r.overrides[op] = h
	return nil
}

// OverrideOption adjusts how an override is described.
type OverrideOption func(*overrideOptions)

type overrideOptions struct {
	schemas map[int]any
}

// Responds declares that the override answers status with a JSON body
// shaped like body (a value of the Go type the body is marshalled from),
// in place of what the generated handler answers with it; the OpenAPI
// document describes that type instead.
func Responds(status int, body any) OverrideOption {
	return func(o *overrideOptions) {
		if o.schemas == nil {
			o.schemas = map[int]any{}
		}
		o.schemas[status] = body
	}
}

// spec returns the resource's operation op, or nil when it has none.
func (r *resource) spec(op Operation) *handlers.Spec {
	for i := range r.specs {
		if r.specs[i].Op == op {
			return &r.specs[i]
		}
	}
	return nil
}

// Router is where routes are added: *echo.Echo and *echo.Group both are.
type Router interface {
	Add(method, path string, handler echo.HandlerFunc, middleware ...echo.MiddlewareFunc) *echo.Route
}

// Mount adds every resource's routes to r under the configured prefix,
// and the health and metrics endpoints at the root of r. Call Install on
// the *echo.Echo first (NewEcho does both), so that errors are
// problem+json, callers' addresses follow Config.TrustedProxies, and
// requests are observed. Mount on the *echo.Echo itself: on a group, the
// health and metrics endpoints would be under the group's path and behind
// its middleware.
// A resource on which the policy grants nothing is a warning in the log.
func (a *App) Mount(r Router) {
	a.mounted = true
	a.warnUngranted()
	routes := a.routes()
	for _, rt := range routes {
		r.Add(rt.method, rt.path, rt.handler, rt.middleware...)
	}
	addMethodRoutes(r, routes)
	for _, res := range a.resources {
		base := a.cfg.Prefix + "/" + res.desc.Name
		if !res.desc.SoftDeletable() {
			// Otherwise ":id" would take "restore" and answer 405.
			r.Add(http.MethodPost, base+"/"+handlers.SegmentRestore, notFound)
		}
		// Echo lets a trailing :id swallow further segments ("1/restore"),
		// which would make unknown sub-paths look like items or answer 405;
		// this route claims them so they are a plain 404.
		r.Add(echo.RouteNotFound, base+"/:id/*", notFound)
	}
}

// route is one route of the API.
type route struct {
	method, path string
	handler      echo.HandlerFunc
	middleware   []echo.MiddlewareFunc
}

// routes lists every route of the API, one per operation of the table,
// in its order. A GET also answers HEAD.
func (a *App) routes() []route {
	related := make(map[reflect.Type]*introspect.Resource, len(a.resources))
	descs := make([]*introspect.Resource, 0, len(a.resources))
	for _, res := range a.resources {
		related[res.desc.Type] = res.desc
		descs = append(descs, res.desc)
	}
	var routes []route
	add := func(spec *handlers.Spec, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
		path := a.pathOf(spec)
		if a.observing() {
			mw = append([]echo.MiddlewareFunc{tagRoute(spec, path)}, mw...)
		}
		routes = append(routes, route{spec.Method, path, h, mw})
		if spec.Method == http.MethodGet {
			routes = append(routes, route{http.MethodHead, path, h, mw})
		}
	}
	table := a.table()
	docs := a.newDocuments(table)
	svcs := make(map[*introspect.Resource]*handlers.Service, len(a.resources))
	for _, res := range a.resources {
		ep := &handlers.Endpoint{Related: related, Validator: a.validator, Hooks: res.hooks, Resource: res.desc, DB: a.cfg.DB, Authorizer: a.authorizer, Limits: a.limits(), CursorKey: a.cursorKey}
		if a.counts != nil {
			ep.Counts = a.counts
		}
		ep.RowLocks, ep.ILike = a.engine.rowLocks, a.engine.ilike
		svcs[res.desc] = handlers.NewService(ep)
	}
	for _, spec := range table {
		switch spec.Op {
		case handlers.OpAllPermissions:
			add(spec, handlers.AllPermissions(a.authorizer, descs), a.authenticate)
		case handlers.OpOpenAPI:
			add(spec, docs.serve, a.authenticate)
		case handlers.OpDocs:
			// Not authenticated: the page is the same for everyone, and a
			// stale token must not keep a caller from it. What it shows
			// comes from the document, which follows the caller.
			add(spec, a.docs.handler(spec.Path))
		case handlers.OpAdmin:
			add(spec, a.admin.handler(spec.Path))
		case handlers.OpLive:
			add(spec, a.live)
		case handlers.OpReady:
			add(spec, a.ready)
		case handlers.OpMetrics:
			add(spec, a.metrics.serve())
		case handlers.OpUpsert:
			add(spec, a.upsert(svcs[spec.Resource], a.byName[spec.Resource.Name]), a.authenticate, a.limitBody)
		case handlers.OpBatch:
			add(spec, a.batch(svcs), a.authenticate, a.limitBody)
		case handlers.OpPurge:
			add(spec, handlers.Purge(a.authorizer, a.purgeOrder(), a.purgeOne), a.authenticate, a.limitBody)
		case handlers.OpRestoreDryRun, handlers.OpBulkRestoreDryRun, handlers.OpDeleteDryRun:
			svc := svcs[spec.Resource]
			op, _ := handlers.DryRunOf(spec.Op)
			run := handlers.DryRun(op)
			add(spec, func(c echo.Context) error {
				return run(handlers.NewContext(c, svc, op, nil))
			}, a.authenticate, a.limitBody)
		case handlers.OpPermissions:
			svc := svcs[spec.Resource]
			add(spec, func(c echo.Context) error {
				return handlers.ResourcePermissions(handlers.NewContext(c, svc, handlers.OpPermissions, nil))
			}, a.authenticate)
		default:
			if !spec.Overridable() {
				panic(fmt.Sprintf("framework: no handler for operation %q", spec.Op))
			}
			add(spec, a.handler(svcs[spec.Resource], a.byName[spec.Resource.Name], spec.Op), a.authenticate, a.limitBody)
		}
	}
	return routes
}

// table lists every operation of the API: the API-wide ones, then each
// resource's, in registration order. A dry run previews the generated
// handler alone, so an operation served by an override, or intercepted
// by a lifecycle hook, has none.
func (a *App) table() []*handlers.Spec {
	var out []*handlers.Spec
	api := slices.Concat(handlers.APISpecs(), []handlers.Spec{handlers.PurgeSpec(), a.batchSpec()}, a.openAPISpecs(), a.docsSpecs(), a.adminSpecs(), a.healthSpecs(), a.metricsSpecs())
	for i := range api {
		out = append(out, &api[i])
	}
	for _, res := range a.resources {
		for i := range res.specs {
			if op, ok := handlers.DryRunOf(res.specs[i].Op); ok && (res.spec(op).Overridden || res.hooks.Intercept(op)) {
				continue
			}
			out = append(out, &res.specs[i])
		}
	}
	return out
}

// pathOf is where spec is served: under the prefix, or from the root.
func (a *App) pathOf(spec *handlers.Spec) string {
	if spec.Root {
		return spec.Path
	}
	return a.cfg.Prefix + spec.Path
}

// limits are the request limits of the configuration.
func (a *App) limits() handlers.Limits {
	return handlers.Limits{
		DefaultLimit: a.cfg.DefaultLimit,
		MaxLimit:     a.cfg.MaxLimit,
		Filter:       handlers.FilterLimits{MaxLength: a.cfg.MaxFilterLength, MaxConditions: a.cfg.MaxFilterConditions},
	}
}

// routeMethods are the methods a path of the API answers 405 to, with
// Allow, when it does not serve them.
var routeMethods = []string{
	http.MethodConnect, http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodPatch,
	http.MethodPost, http.MethodPut, http.MethodTrace, echo.PROPFIND, echo.REPORT,
}

// addMethodRoutes makes every path of routes answer OPTIONS with 204 and
// every other method it does not serve with a 405, both with an Allow
// header listing the methods it does serve and OPTIONS. Echo would answer
// them itself, but not where a catch-all route is nearer than the path
// (GET /R/1/restore would be a 404), and its Allow would also list the
// 405 handlers themselves.
func addMethodRoutes(r Router, routes []route) {
	served := map[string][]string{}
	var paths []string
	for _, rt := range routes {
		if _, ok := served[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		served[rt.path] = append(served[rt.path], rt.method)
	}
	for _, path := range paths {
		methods := append(slices.Clone(served[path]), http.MethodOptions)
		slices.Sort(methods)
		allow := strings.Join(methods, ", ")
		r.Add(http.MethodOptions, path, func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderAllow, allow)
			return c.NoContent(http.StatusNoContent)
		})
		for _, m := range routeMethods {
			if !slices.Contains(methods, m) {
				r.Add(m, path, func(c echo.Context) error {
					c.Response().Header().Set(echo.HeaderAllow, allow)
					return handlers.Problemf(http.StatusMethodNotAllowed, "%s is not allowed here; this path allows %s", m, allow)
				})
			}
		}
	}
}

func notFound(echo.Context) error { return echo.ErrNotFound }

// handler serves op of res: the override when there is one, else the
// generated handler.
func (a *App) handler(svc *handlers.Service, res *resource, op Operation) echo.HandlerFunc {
	run := a.operate(svc, res, op)
	if a.metrics == nil || rowChange(op, false, false) == "" {
		return run
	}
	soft := res.desc.SoftDeletable()
	return func(c echo.Context) error {
		// The rows the statements changed, cascades included, counted
		// once the operation succeeded.
		ctx, changes := handlers.WithChanges(c.Request().Context())
		c.SetRequest(c.Request().WithContext(ctx))
		err := run(c)
		if err == nil {
			change := rowChange(op, soft, c.QueryParam("permanent") == "true")
			changes.Each(func(r *introspect.Resource, n int) { a.metrics.changed(r.Name, change, int64(n)) })
		}
		return err
	}
}

// operate runs op of res: the override when there is one, else the
// generated handler.
func (a *App) operate(svc *handlers.Service, res *resource, op Operation) echo.HandlerFunc {
	generated := handlers.Generated(op)
	h := generated
	o, overridden := res.overrides[op]
	if overridden {
		h = o
	}
	if !overridden || (op != OpUpdate && op != OpDelete && op != OpRestore) {
		return func(c echo.Context) error {
			return h(handlers.NewContext(c, svc, op, generated))
		}
	}
	// An override of a write meets If-Match as the generated handler
	// does: the precondition is checked, with the record locked, in a
	// transaction the override's statements (through Context.DB) then
	// run in, so that it writes only a record that meets it.
	return func(c echo.Context) error {
		if c.Request().Header.Get("If-Match") == "" && !res.desc.RequireIfMatch {
			return o(handlers.NewContext(c, svc, op, generated))
		}
		run := func(ctx context.Context) error {
			c.SetRequest(c.Request().WithContext(ctx))
			hc := handlers.NewContext(c, svc, op, generated)
			if err := hc.Precondition(); err != nil {
				return err
			}
			return o(hc)
		}
		ctx := c.Request().Context()
		if handlers.HasTx(ctx) {
			return run(ctx)
		}
		return a.cfg.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return run(handlers.WithTx(ctx, tx))
		})
	}
}

// rowChange is how op changes the rows it reaches, as the metrics count
// it: "" for operations that change no row's deletion state.
func rowChange(op Operation, soft, permanent bool) string {
	switch op {
	case OpRestore, OpBulkRestore:
		return "restored"
	case OpDelete, OpBulkDelete:
		if !soft || permanent {
			return "deleted"
		}
		return "soft_deleted"
	}
	return ""
}

// authenticate resolves the caller before any handler runs; bad
// credentials stop the request with a 401.
func (a *App) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := auth.Resolve(a.cfg.Authenticator, c.Request())
		if a.limiter != nil {
			// Charged before bad credentials are refused, to the
			// caller's address: guessing tokens is limited too.
			if lerr := a.limiter.allow(c, a.clientIP(c.Request()), p, err != nil); lerr != nil {
				return lerr
			}
		}
		if err != nil {
			return err
		}
		req := c.Request()
		c.SetRequest(req.WithContext(auth.WithPrincipal(req.Context(), p)))
		return next(c)
	}
}

func (a *App) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > a.cfg.MaxBodyBytes {
			return handlers.NewProblem(http.StatusRequestEntityTooLarge, "the request body is too large")
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, a.cfg.MaxBodyBytes)
		return next(c)
	}
}

// HTTPErrorHandler renders every error as problem+json; set it on the
// *echo.Echo that serves the routes.
func (a *App) HTTPErrorHandler() echo.HTTPErrorHandler {
	return handlers.ErrorHandler(a.cfg.Logger)
}

// maxRequestIDLength bounds the X-Request-Id a caller may choose.
const maxRequestIDLength = 128

// RequestIDMiddleware gives every response an X-Request-Id: the caller's,
// when it sent an acceptable one (at most 128 bytes of A-Z, a-z, 0-9 and
// ".", "_", ":", "-"), a generated one otherwise. The id goes into logs and
// back into a response header, so a caller must not be able to make it
// long or make it carry spaces, line breaks or escapes.
func (a *App) RequestIDMiddleware() echo.MiddlewareFunc {
	rid := middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		// 26 base32 characters, 130 bits from crypto/rand.
		Generator: rand.Text,
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := rid(next)
		return func(c echo.Context) error {
			// Echo's RequestID keeps whatever non-empty header it finds,
			// so an unacceptable one is dropped before it looks.
			hdr := c.Request().Header
			if id, ok := hdr[echo.HeaderXRequestID]; ok && (len(id) != 1 || !acceptableRequestID(id[0])) {
				hdr.Del(echo.HeaderXRequestID)
			}
			return h(c)
		}
	}
}

// acceptableRequestID reports whether a caller's request id may be kept.
func acceptableRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

// NewEcho returns an *echo.Echo with the App's routes, installed as
// Install does.
func (a *App) NewEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	a.Install(e)
	a.Mount(e)
	return e
}
