package framework

import (
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/handlers"
)

// Install readies e for the App's routes: problem+json errors (Echo's
// own 404 and 405 included), request ids, the caller's address (see
// Config.TrustedProxies), CORS, tracing, the access log and metrics, and
// panic recovery, each as configured. NewEcho calls it; an *echo.Echo of
// your own needs it before Mount.
func (a *App) Install(e *echo.Echo) {
	e.HTTPErrorHandler = a.HTTPErrorHandler()
	e.IPExtractor = a.clientIP
	e.Pre(a.RequestIDMiddleware())
	if cors := a.cfg.CORS; len(cors.AllowOrigins) > 0 {
		// Before routing, so that a preflight gets its answer whatever the
		// path.
		e.Pre(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:     cors.AllowOrigins,
			AllowCredentials: cors.AllowCredentials,
			AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID, "If-Match", "If-None-Match"},
			ExposeHeaders:    []string{echo.HeaderLocation, echo.HeaderXRequestID, "ETag", "Retry-After"},
			MaxAge:           int(cors.MaxAge / time.Second),
		}))
	}
	if t := a.cfg.Tracing; t.TracerProvider != nil {
		opts := []otelhttp.Option{otelhttp.WithTracerProvider(t.TracerProvider)}
		if t.Propagators != nil {
			opts = append(opts, otelhttp.WithPropagators(t.Propagators))
		}
		e.Use(echo.WrapMiddleware(otelhttp.NewMiddleware("autoapi", opts...)))
	}
	if a.observing() {
		e.Use(a.observe)
	}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		// The error handler logs the error with its request id; the stack
		// goes to the log only.
		DisablePrintStack: true,
	}))
}

// clientIPExtractor tells the caller's address: the peer's, or behind a
// trusted proxy the one X-Forwarded-For names.
func clientIPExtractor(trusted []string) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range trusted {
		_, ipNet, _ := net.ParseCIDR(cidr) // checked by New
		opts = append(opts, echo.TrustIPRange(ipNet))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// observing reports whether requests are logged, measured or traced.
func (a *App) observing() bool {
	return a.cfg.AccessLog.On || a.metrics != nil || a.cfg.Tracing.TracerProvider != nil
}

// routeKey is where a route's first middleware leaves its routeTag for
// observe, which sees the request before routing.
const routeKey = "autoapi.route"

// routeTag is what observe says of a route's requests, worked out once
// when the route is mounted.
type routeTag struct {
	route, op, resource string
	// health marks the health endpoints, which the access log leaves
	// out unless asked.
	health bool
}

// tagRoute is the first middleware of the route of spec, served at
// path, when requests are observed.
func tagRoute(spec *handlers.Spec, path string) echo.MiddlewareFunc {
	tag := &routeTag{route: path, op: string(spec.Op), health: spec.Op == handlers.OpLive || spec.Op == handlers.OpReady}
	if spec.Resource != nil {
		tag.resource = spec.Resource.Name
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(routeKey, tag)
			return next(c)
		}
	}
}

// observe logs, measures and names the span of each request once it is
// answered. Its labels are bounded: the route's pattern, operation and
// resource, never a raw path or an id; a request no route took is
// "unmatched".
func (a *App) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if a.metrics != nil {
			a.metrics.inFlight.Inc()
			defer a.metrics.inFlight.Dec()
		}
		if err := next(c); err != nil {
			// Answered here, so that the status is known below.
			c.Error(err)
		}
		latency := time.Since(start)
		tag, _ := c.Get(routeKey).(*routeTag)
		if tag == nil {
			tag = &routeTag{route: "unmatched"}
		}
		route, op, resource := tag.route, tag.op, tag.resource
		req := c.Request()
		res := c.Response()
		class := strconv.Itoa(res.Status/100) + "xx"
		if a.metrics != nil {
			a.metrics.requests.WithLabelValues(route, op, resource, class).Inc()
			a.metrics.duration.WithLabelValues(route, op, resource, class).Observe(latency.Seconds())
		}
		id := res.Header().Get(echo.HeaderXRequestID)
		if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
			span.SetName(req.Method + " " + route)
			span.SetAttributes(
				attribute.String("http.route", route),
				attribute.String("autoapi.request_id", id),
				attribute.String("autoapi.operation", op),
				attribute.String("autoapi.resource", resource),
			)
		}
		if a.cfg.AccessLog.On && (!tag.health || a.cfg.AccessLog.Health) {
			level := slog.LevelInfo
			switch {
			case res.Status >= 500:
				level = slog.LevelError
			case res.Status >= 400:
				level = slog.LevelWarn
			}
			a.cfg.AccessLog.Logger.LogAttrs(req.Context(), level, "request",
				slog.String("request_id", id),
				slog.String("method", req.Method),
				slog.String("route", route),
				slog.String("resource", resource),
				slog.String("operation", op),
				slog.Int("status", res.Status),
				slog.Int64("bytes", res.Size),
				slog.Duration("latency", latency),
				slog.String("principal", auth.FromContext(req.Context()).ID),
				slog.String("remote", a.clientIP(req)),
			)
		}
		return nil
	}
}
