// Package framework is the public face of autoapi: configure an App,
// register bun models with Register, override generated handlers, and mount
// the routes on Echo.
package framework

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/casbin/casbin/v2/persist"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/handlers"
)

// Config configures an App. The zero value of every field but DB and a
// policy source is a usable default.
type Config struct {
	// DB is the database every resource lives in. Required.
	DB *bun.DB
	// Prefix is prepended to every route; "/api" when empty.
	Prefix string
	// DefaultLimit is the list page size when a request names none (20).
	DefaultLimit int
	// MaxLimit is the largest page size a request may ask for (100).
	MaxLimit int
	// MaxBodyBytes bounds request bodies (1 MiB); larger ones get a 413.
	MaxBodyBytes int64
	// CursorSecret is the key material (any length; HKDF-SHA256 derives
	// the key) with which the pagination cursors of list responses are
	// encrypted and authenticated, so that their holder can neither read
	// nor alter them, and a cursor works only for the query, the caller
	// and the caller's permissions it was made for. When empty, the App
	// picks a random key in New: cursors are just as safe, but work only
	// on the App that issued them and only until it restarts, so a
	// deployment with several instances must give each the same secret.
	CursorSecret []byte
	// MaxFilterLength bounds a ?filter= expression, in bytes (2000).
	MaxFilterLength int
	// MaxFilterConditions bounds the comparisons in one ?filter= (50).
	MaxFilterConditions int
	// ComputeCounts makes every list total a count over the table, instead
	// of reading the totals without filters from the counts table
	// (autoapi_counts), which Migrate keeps with triggers, and reusing the
	// totals of filtered lists while the table's version there is
	// unchanged. Set it when the triggers are unwelcome: every write to a
	// table also updates one of its rows in the counts table (one of 16 on
	// PostgreSQL, so that concurrent writers rarely wait for each other),
	// which docs/benchmarks.md measures.
	ComputeCounts bool

	// Authenticator resolves the caller; with none, every caller is
	// anonymous.
	Authenticator auth.Authenticator

	// Authorizer decides who may do what. When nil, a casbin enforcer is
	// built from CasbinModel and the first policy source set among
	// PolicyAdapter, PolicyFile and Policy.
	Authorizer handlers.Authorizer
	// CasbinModel is the casbin model text; auth.DefaultModel when empty.
	CasbinModel string
	// PolicyAdapter is any casbin adapter holding the policy.
	PolicyAdapter persist.Adapter
	// PolicyFile is the path of a casbin policy CSV file.
	PolicyFile string
	// Policy is casbin policy CSV text, e.g. an embedded file.
	Policy string
	// PolicyReloadInterval is how often App.RunPolicyReload loads the
	// policy again from PolicyAdapter, so that every instance sharing a
	// database sees a change within that time (5s).
	PolicyReloadInterval time.Duration
	// AnonymousRole is the casbin subject of callers without credentials
	// ("anonymous").
	AnonymousRole string

	// Retention is how long soft-deleted rows of a resource are kept
	// before App.RunPurges removes them for good, by resource name. Off
	// (empty) by default.
	Retention map[string]time.Duration
	// PurgeInterval is how often RunPurges runs (1h).
	PurgeInterval time.Duration

	// OpenAPI configures the OpenAPI document the App serves at
	// {Prefix}/openapi.json and {Prefix}/openapi.yaml, and the docs page
	// at {Prefix}/docs.
	OpenAPI OpenAPIConfig

	// Admin configures the admin page at {Prefix}/admin.
	Admin AdminConfig

	// MaxBatchOperations bounds the operations of one POST {Prefix}/batch
	// (100); a batch with more is a 422 before any runs.
	MaxBatchOperations int

	// Health configures GET /healthz and GET /readyz, on by default.
	Health HealthConfig
	// AccessLog configures one log record per request; off by default.
	AccessLog AccessLogConfig
	// Metrics configures Prometheus metrics; off by default.
	Metrics MetricsConfig
	// Tracing configures OpenTelemetry spans; off by default.
	Tracing TracingConfig
	// RateLimit bounds each caller's requests; off by default.
	RateLimit RateLimitConfig
	// CORS lets pages of other origins call the API; off by default.
	CORS CORSConfig
	// TrustedProxies are the CIDR ranges ("10.0.0.0/8", "::1/128") of
	// the proxies in front of the App. A request from one of them is
	// taken to come from the address its X-Forwarded-For names (the
	// nearest one that is not itself a trusted proxy), for the rate
	// limits and the access log; any other request's X-Forwarded-For is
	// ignored. None by default: the peer's address is the caller's.
	TrustedProxies []string

	// Logger receives request failures and start-up notes; slog.Default()
	// when nil.
	Logger *slog.Logger
}

// OpenAPIConfig configures the OpenAPI document.
type OpenAPIConfig struct {
	// Mode says who gets which document; DocumentPerCaller by default.
	Mode DocumentMode
	// Title is the document's info.title ("autoapi").
	Title string
	// Version is the API's version, info.version ("1.0.0").
	Version string
	// Description is the document's info.description, Markdown.
	Description string
	// License is the SPDX identifier of the API's license (info.license),
	// e.g. "Apache-2.0"; none when empty.
	License string
	// NoDocsPage leaves out the docs page: {Prefix}/docs serves an
	// interactive reference of the document (Swagger UI) whose every file
	// is built into the binary, unless this is set. With DocumentOff there
	// is no page either.
	NoDocsPage bool
}

// AdminConfig configures the admin page: a console in the browser for the
// trash (live, all and deleted rows, restore, permanent delete and purge),
// built into the binary. It is an API client like any other: it holds no
// privilege, and shows each caller what their own token allows.
type AdminConfig struct {
	// Off leaves the page out. With OpenAPIConfig.Mode DocumentOff there
	// is no page either: it reads the caller's document.
	Off bool
	// Path is where the page is under the prefix ("/admin"); its files
	// are under Path + "/".
	Path string
}

// DocumentMode says who gets which OpenAPI document.
type DocumentMode int

// Document modes.
const (
	// DocumentPerCaller serves each caller the API it may use: operations
	// it may not perform are left out, and so are the soft-delete and
	// deleted-by fields, includeDeleted, onlyDeleted, restore and
	// permanent delete on resources where it lacks read_deleted, restore
	// or hard_delete.
	DocumentPerCaller DocumentMode = iota
	// DocumentFull serves every caller the whole API.
	DocumentFull
	// DocumentOff serves no document: the routes do not exist.
	DocumentOff
)

// withDefaults fills in defaults and rejects contradictory settings.
func (c Config) withDefaults() (Config, error) {
	if c.DB == nil {
		return c, fmt.Errorf("framework: Config.DB is required")
	}
	if c.Prefix == "" {
		c.Prefix = "/api"
	}
	if !strings.HasPrefix(c.Prefix, "/") {
		return c, fmt.Errorf("framework: Config.Prefix %q must start with '/'", c.Prefix)
	}
	c.Prefix = strings.TrimSuffix(c.Prefix, "/")
	if c.DefaultLimit == 0 {
		c.DefaultLimit = 20
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = 100
	}
	if c.DefaultLimit < 1 || c.MaxLimit < 1 || c.DefaultLimit > c.MaxLimit {
		return c, fmt.Errorf("framework: Config.DefaultLimit (%d) must be between 1 and Config.MaxLimit (%d)", c.DefaultLimit, c.MaxLimit)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxBodyBytes < 0 {
		return c, fmt.Errorf("framework: Config.MaxBodyBytes must be positive")
	}
	if c.MaxFilterLength == 0 {
		c.MaxFilterLength = 2000
	}
	if c.MaxFilterConditions == 0 {
		c.MaxFilterConditions = 50
	}
	if c.MaxFilterLength < 0 || c.MaxFilterConditions < 0 {
		return c, fmt.Errorf("framework: Config.MaxFilterLength and MaxFilterConditions must be positive")
	}
	if c.PolicyReloadInterval == 0 {
		c.PolicyReloadInterval = 5 * time.Second
	}
	if c.PolicyReloadInterval < 0 {
		return c, fmt.Errorf("framework: Config.PolicyReloadInterval must be positive")
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = time.Hour
	}
	if c.PurgeInterval < 0 {
		return c, fmt.Errorf("framework: Config.PurgeInterval must be positive")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch c.OpenAPI.Mode {
	case DocumentPerCaller, DocumentFull, DocumentOff:
	default:
		return c, fmt.Errorf("framework: Config.OpenAPI.Mode %d is not a DocumentMode", c.OpenAPI.Mode)
	}
	if c.OpenAPI.Title == "" {
		c.OpenAPI.Title = "autoapi"
	}
	if c.MaxBatchOperations == 0 {
		c.MaxBatchOperations = 100
	}
	if c.MaxBatchOperations < 0 {
		return c, fmt.Errorf("framework: Config.MaxBatchOperations must be positive")
	}
	if err := c.validateOperations(); err != nil {
		return c, err
	}
	if c.Admin.Path == "" {
		c.Admin.Path = defaultAdminPath
	}
	if !adminPathPattern.MatchString(c.Admin.Path) {
		return c, fmt.Errorf("framework: Config.Admin.Path %q must be one path segment such as /admin: letters, digits, '-' and '_'", c.Admin.Path)
	}
	switch c.Admin.Path {
	case docsPath, "/" + handlers.SegmentPermissions, "/" + string(handlers.OpPurge):
		if !c.Admin.Off {
			return c, fmt.Errorf("framework: Config.Admin.Path %q is the path of another route", c.Admin.Path)
		}
	}
	if c.OpenAPI.Version == "" {
		c.OpenAPI.Version = "1.0.0"
	}
	return c, nil
}
