package framework

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// AccessLogConfig configures the access log: one log/slog record per
// request, with its time, request id, method, route pattern (never the
// raw path, which can carry ids), resource, operation, status, bytes,
// latency, principal id (never the credentials) and remote address, at
// level Info, Warn for 4xx and Error for 5xx.
type AccessLogConfig struct {
	// On turns the access log on.
	On bool
	// Logger receives the records; Config.Logger when nil.
	Logger *slog.Logger
	// Health logs the requests of the health endpoints too, which
	// probes make every few seconds.
	Health bool
}

// MetricsConfig configures the Prometheus metrics (see docs/operations.md
// for the series).
type MetricsConfig struct {
	// On serves the metrics at Path.
	On bool
	// Path is where they are served, from the server's root ("/metrics").
	// Like the health endpoints, it needs no credentials: serve it where
	// only the scraper reaches, or put it behind the proxy's access rules.
	Path string
	// Registry takes the App's collectors, and Path serves what it
	// gathers; a registry of the App's own when nil. Give one to serve
	// the App's metrics beside the program's own. The series' names are
	// fixed, so one registry takes one App's: New fails on a second.
	Registry *prometheus.Registry
}

// TracingConfig configures OpenTelemetry tracing: a server span per
// request, named by its route pattern, and a child span per SQL statement
// (bun's bunotel query hook), with the request id, operation and resource
// as attributes.
type TracingConfig struct {
	// TracerProvider makes the spans; tracing is off when nil. Which
	// exporter it sends them to is the program's choice.
	TracerProvider trace.TracerProvider
	// Propagators read the caller's trace context from the request (W3C
	// traceparent and baggage when nil).
	Propagators propagation.TextMapPropagator
}

// RateLimitConfig bounds how fast each caller may send requests to the
// API: a principal by its id, an anonymous caller (or one whose
// credentials fail) by its address. Reads (GET, HEAD) and writes (every
// other method) have buckets of their own. Over the limit the answer is
// 429 problem+json with Retry-After. The buckets live in the process: with
// several instances, each limits on its own.
type RateLimitConfig struct {
	// Reads and Writes are the limits; a zero Rate is no limit.
	Reads, Writes Rate
	// Expire drops the bucket of a caller who sent nothing for this long
	// (10m), so that many callers do not pile up.
	Expire time.Duration
}

// Rate is a token bucket: PerSecond requests a second on average, and
// bursts of up to Burst at once (PerSecond rounded up when 0).
type Rate struct {
	PerSecond float64
	Burst     int
}

// CORSConfig lets pages of other origins call the API from a browser.
type CORSConfig struct {
	// AllowOrigins are the origins allowed ("https://app.example.com");
	// CORS is off when empty. "*" allows any origin, without credentials.
	AllowOrigins []string
	// AllowCredentials lets the browser send cookies and Authorization
	// with the requests (Access-Control-Allow-Credentials: true).
	AllowCredentials bool
	// MaxAge is how long a browser may keep a preflight's answer (10m).
	MaxAge time.Duration
}

// maxRate bounds a rate limit's PerSecond and Burst: more is no limit at
// all, and a burst must fit an int.
const maxRate = 1_000_000

// rootPathPattern is what a path outside the prefix may be.
var rootPathPattern = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// validateOperations fills in the defaults of the operational settings
// and checks them.
func (c *Config) validateOperations() error {
	h := &c.Health
	if h.LivePath == "" {
		h.LivePath = "/healthz"
	}
	if h.ReadyPath == "" {
		h.ReadyPath = "/readyz"
	}
	if h.Timeout == 0 {
		h.Timeout = 2 * time.Second
	}
	if h.Timeout < 0 {
		return fmt.Errorf("framework: Config.Health.Timeout must be positive")
	}
	if c.Metrics.Path == "" {
		c.Metrics.Path = "/metrics"
	}
	paths := map[string]string{}
	for _, p := range []struct {
		name, path string
		on         bool
	}{
		{"Health.LivePath", h.LivePath, !h.Off},
		{"Health.ReadyPath", h.ReadyPath, !h.Off},
		{"Metrics.Path", c.Metrics.Path, c.Metrics.On},
	} {
		if !p.on {
			continue
		}
		if !rootPathPattern.MatchString(p.path) {
			return fmt.Errorf("framework: Config.%s %q must be a path such as /healthz", p.name, p.path)
		}
		if other, dup := paths[p.path]; dup {
			return fmt.Errorf("framework: Config.%s and Config.%s are both %q", other, p.name, p.path)
		}
		if c.Prefix != "" && (p.path == c.Prefix || len(p.path) > len(c.Prefix) && p.path[:len(c.Prefix)+1] == c.Prefix+"/") {
			return fmt.Errorf("framework: Config.%s %q is under the API prefix %q", p.name, p.path, c.Prefix)
		}
		paths[p.path] = p.name
	}
	if c.AccessLog.Logger == nil {
		c.AccessLog.Logger = c.Logger
	}
	for name, r := range map[string]*Rate{"Reads": &c.RateLimit.Reads, "Writes": &c.RateLimit.Writes} {
		if r.PerSecond < 0 || r.Burst < 0 || math.IsNaN(r.PerSecond) || r.PerSecond > maxRate || r.Burst > maxRate {
			return fmt.Errorf("framework: Config.RateLimit.%s: PerSecond and Burst must be between 0 and %d", name, maxRate)
		}
		if r.PerSecond > 0 && r.Burst == 0 {
			r.Burst = int(math.Ceil(r.PerSecond))
		}
	}
	if c.RateLimit.Expire == 0 {
		c.RateLimit.Expire = 10 * time.Minute
	}
	if c.RateLimit.Expire < 0 {
		return fmt.Errorf("framework: Config.RateLimit.Expire must be positive")
	}
	for _, cidr := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			return fmt.Errorf("framework: Config.TrustedProxies: %q is not a CIDR range such as 10.0.0.0/8", cidr)
		}
	}
	for _, o := range c.CORS.AllowOrigins {
		switch {
		case o == "*" && c.CORS.AllowCredentials:
			return fmt.Errorf("framework: Config.CORS: browsers refuse credentials with the origin \"*\"; name the origins")
		case o == "":
			return fmt.Errorf("framework: Config.CORS.AllowOrigins holds an empty origin")
		}
	}
	if c.CORS.MaxAge == 0 {
		c.CORS.MaxAge = 10 * time.Minute
	}
	if c.CORS.MaxAge < 0 {
		return fmt.Errorf("framework: Config.CORS.MaxAge must be positive")
	}
	return nil
}
