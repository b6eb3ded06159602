package framework_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// opsApp is an App of widgets, migrated, with configure applied to its
// Config, and its *echo.Echo from NewEcho.
func opsApp(t *testing.T, configure func(*framework.Config)) (*framework.App, *echo.Echo) {
	t.Helper()
	cfg := baseConfig(dbtest.Open(t))
	if configure != nil {
		configure(&cfg)
	}
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Widget](app); err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return app, app.NewEcho()
}

// call is one request to e from remote ("192.0.2.1:1234" when empty).
type call struct {
	method, url, token, body, remote string
	headers                          map[string]string
}

func (c call) do(t *testing.T, e *echo.Echo) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	if c.remote != "" {
		req.RemoteAddr = c.remote
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// TestHealth: /healthz answers while the process serves; /readyz checks
// the database, the schema and the policy, and names what is not ready
// in a 503 problem; neither needs credentials or is in the document.
func TestHealth(t *testing.T) {
	_, e := opsApp(t, nil)
	for _, c := range []struct {
		call
		status int
		want   string
	}{
		{call{method: "GET", url: "/healthz"}, 200, `{"status":"ok"}`},
		{call{method: "GET", url: "/healthz", token: "no-such-token"}, 200, `{"status":"ok"}`},
		{call{method: "HEAD", url: "/healthz"}, 200, ``},
		{call{method: "GET", url: "/readyz"}, 200, `{"status":"ready","checks":{"database":"ok","policy":"ok","schema":"ok"}}`},
		{call{method: "POST", url: "/readyz"}, 405, `"status":405`},
		{call{method: "GET", url: "/api/openapi.json", token: adminToken}, 200, `"/api/widgets"`},
	} {
		rec := c.do(t, e)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", c.method, c.url, rec.Code, rec.Body, c.status, c.want)
		}
	}
	if doc := (call{method: "GET", url: "/api/openapi.json", token: adminToken}).do(t, e).Body.String(); strings.Contains(doc, "healthz") || strings.Contains(doc, "readyz") {
		t.Error("the document describes the health endpoints")
	}

	// A table the database lacks: not ready, and the problem says which.
	db := dbtest.Open(t)
	app, err := framework.New(baseConfig(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Widget](app); err != nil {
		t.Fatal(err)
	}
	e = app.NewEcho()
	rec := call{method: "GET", url: "/readyz"}.do(t, e)
	if rec.Code != 503 || rec.Header().Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(rec.Body.String(), `"detail":"not ready: schema: table widgets is missing or cannot be read: run Migrate"`) {
		t.Errorf("readyz without the table: %d %s", rec.Code, rec.Body)
	}
	if err := app.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec := (call{method: "GET", url: "/readyz"}).do(t, e); rec.Code != 200 {
		t.Errorf("readyz after Migrate: %d %s", rec.Code, rec.Body)
	}
	// A table dropped under the running App is seen at the next probe.
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE widgets RENAME TO widgets_gone"); err != nil {
		t.Fatal(err)
	}
	if rec := (call{method: "GET", url: "/readyz"}).do(t, e); rec.Code != 503 {
		t.Errorf("readyz after the table went: %d %s", rec.Code, rec.Body)
	}
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE widgets_gone RENAME TO widgets"); err != nil {
		t.Fatal(err)
	}

	// A database that does not answer within the deadline.
	_, slow := opsApp(t, func(c *framework.Config) { c.Health.Timeout = time.Nanosecond })
	if rec := (call{method: "GET", url: "/readyz"}).do(t, slow); rec.Code != 503 || !strings.Contains(rec.Body.String(), `"message":"no answer within 1ns"`) {
		t.Errorf("readyz past its deadline: %d %s", rec.Code, rec.Body)
	}

	// A database that does not answer: not ready, without its error text.
	if dbtest.Current() == dbtest.SQLite {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		rec := call{method: "GET", url: "/readyz"}.do(t, e)
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), `{"field":"database","message":"the ping failed"}`) || strings.Contains(rec.Body.String(), "sql:") {
			t.Errorf("readyz with the database closed: %d %s", rec.Code, rec.Body)
		}
	}

	// Moved, or off.
	_, e = opsApp(t, func(c *framework.Config) {
		c.Health = framework.HealthConfig{LivePath: "/live", ReadyPath: "/ops/ready"}
	})
	for url, status := range map[string]int{"/live": 200, "/ops/ready": 200, "/healthz": 404} {
		if rec := (call{method: "GET", url: url}).do(t, e); rec.Code != status {
			t.Errorf("moved: GET %s: %d", url, rec.Code)
		}
	}
	_, e = opsApp(t, func(c *framework.Config) { c.Health.Off = true })
	if rec := (call{method: "GET", url: "/healthz"}).do(t, e); rec.Code != 404 {
		t.Errorf("off: GET /healthz: %d", rec.Code)
	}
}

// TestOperationsConfig: bad settings fail New, naming the setting.
func TestOperationsConfig(t *testing.T) {
	db := dbtest.Open(t)
	for want, configure := range map[string]func(*framework.Config){
		"Health.LivePath":      func(c *framework.Config) { c.Health.LivePath = "healthz" },
		"both \"/x\"":          func(c *framework.Config) { c.Health.LivePath, c.Health.ReadyPath = "/x", "/x" },
		"under the API prefix": func(c *framework.Config) { c.Metrics = framework.MetricsConfig{On: true, Path: "/api/metrics"} },
		"Health.Timeout":       func(c *framework.Config) { c.Health.Timeout = -time.Second },
		"RateLimit.Reads":      func(c *framework.Config) { c.RateLimit.Reads.PerSecond = -1 },
		"TrustedProxies":       func(c *framework.Config) { c.TrustedProxies = []string{"10.0.0.1"} },
		"credentials": func(c *framework.Config) {
			c.CORS = framework.CORSConfig{AllowOrigins: []string{"*"}, AllowCredentials: true}
		},
		"empty origin": func(c *framework.Config) { c.CORS.AllowOrigins = []string{""} },
		"CORS.MaxAge": func(c *framework.Config) {
			c.CORS = framework.CORSConfig{AllowOrigins: []string{"https://a.example"}, MaxAge: -1}
		},
		"RateLimit.Expire":      func(c *framework.Config) { c.RateLimit.Expire = -1 },
		"Config.Health.ReadyPa": func(c *framework.Config) { c.Health.ReadyPath = "/a b" },
	} {
		cfg := baseConfig(db)
		cfg.Prefix = "/api"
		configure(&cfg)
		if _, err := framework.New(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: New: %v", want, err)
		}
	}
	// Without a prefix, no resource may take an endpoint's path.
	cfg := baseConfig(db)
	cfg.Prefix = "/"
	cfg.Metrics.On = true
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"readyz", "metrics"} {
		if err := framework.Register[Widget](app, framework.WithName(name)); err == nil || !strings.Contains(err.Error(), "has no prefix") {
			t.Errorf("a resource named %s without a prefix: %v", name, err)
		}
	}
}

// record is one access-log record, as slog's JSON handler writes it.
type record struct {
	Level     string `json:"level"`
	Msg       string `json:"msg"`
	RequestID string `json:"request_id"`
	Method    string `json:"method"`
	Route     string `json:"route"`
	Resource  string `json:"resource"`
	Operation string `json:"operation"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	Latency   int64  `json:"latency"`
	Principal string `json:"principal"`
	Remote    string `json:"remote"`
}

// TestAccessLog: one record per request, with the route's pattern, never
// the raw path or the credentials; the level follows the status class;
// the health endpoints are left out unless asked for.
func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	_, e := opsApp(t, func(c *framework.Config) {
		c.AccessLog = framework.AccessLogConfig{On: true, Logger: logger}
	})
	calls := []call{
		{method: "POST", url: "/api/widgets", token: userToken, body: `{"name":"a","qty":1}`, remote: "198.51.100.7:4242"},
		{method: "GET", url: "/api/widgets/1?fields=name", token: userToken},
		{method: "GET", url: "/api/widgets/999", token: userToken},
		{method: "GET", url: "/api/nothing/here"},
		{method: "GET", url: "/healthz"},
		{method: "GET", url: "/api/widgets", token: "no-such-token"},
	}
	var ids []string
	for _, c := range calls {
		ids = append(ids, c.do(t, e).Header().Get(echo.HeaderXRequestID))
	}
	var got []record
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("a record that is not JSON: %s", line)
		}
		got = append(got, r)
	}
	want := []record{
		{Level: "INFO", Msg: "request", Method: "POST", Route: "/api/widgets", Resource: "widgets", Operation: "create", Status: 201, Principal: "2", Remote: "198.51.100.7"},
		{Level: "INFO", Msg: "request", Method: "GET", Route: "/api/widgets/:id", Resource: "widgets", Operation: "get", Status: 200, Principal: "2", Remote: "192.0.2.1"},
		{Level: "WARN", Msg: "request", Method: "GET", Route: "/api/widgets/:id", Resource: "widgets", Operation: "get", Status: 404, Principal: "2", Remote: "192.0.2.1"},
		{Level: "WARN", Msg: "request", Method: "GET", Route: "unmatched", Status: 404, Remote: "192.0.2.1"},
		{Level: "WARN", Msg: "request", Method: "GET", Route: "/api/widgets", Resource: "widgets", Operation: "list", Status: 401, Remote: "192.0.2.1"},
	}
	wantIDs := []string{ids[0], ids[1], ids[2], ids[3], ids[5]}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i := range want {
		g := got[i]
		if g.RequestID != wantIDs[i] || g.RequestID == "" {
			t.Errorf("record %d: request id %q, want the response's %q", i, g.RequestID, wantIDs[i])
		}
		if g.Latency <= 0 || (g.Status != 404 && g.Bytes <= 0) {
			t.Errorf("record %d: latency %d, bytes %d", i, g.Latency, g.Bytes)
		}
		g.RequestID, g.Latency, g.Bytes = "", 0, 0
		if g != want[i] {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}
	if s := buf.String(); strings.Contains(s, userToken) || strings.Contains(s, "no-such-token") || strings.Contains(s, "/api/widgets/1") || strings.Contains(s, "fields=") {
		t.Errorf("the log holds credentials or raw paths:\n%s", s)
	}

	// With Health, the probes are logged too.
	buf.Reset()
	_, e = opsApp(t, func(c *framework.Config) {
		c.AccessLog = framework.AccessLogConfig{On: true, Logger: logger, Health: true}
	})
	call{method: "GET", url: "/readyz"}.do(t, e)
	if !strings.Contains(buf.String(), `"route":"/readyz","resource":"","operation":"ready","status":200`) {
		t.Errorf("the probe's record: %s", buf.String())
	}
}

// TestMetrics scrapes the metrics after known requests.
func TestMetrics(t *testing.T) {
	app, e := opsApp(t, func(c *framework.Config) {
		c.Metrics = framework.MetricsConfig{On: true}
		c.Prefix = "/api"
	})
	for _, c := range []call{
		{method: "POST", url: "/api/widgets", token: userToken, body: `{"name":"a","qty":1}`},
		{method: "POST", url: "/api/widgets", token: userToken, body: `{"name":"b","qty":2}`},
		{method: "GET", url: "/api/widgets", token: userToken},
		{method: "GET", url: "/api/widgets", token: userToken},
		{method: "GET", url: "/api/widgets/1", token: userToken},
		{method: "GET", url: "/api/widgets/7", token: userToken},
		{method: "DELETE", url: "/api/widgets/1", token: userToken},
		{method: "DELETE", url: "/api/widgets/2", token: userToken},
		{method: "POST", url: "/api/widgets/1/restore", token: adminToken},
		{method: "DELETE", url: "/api/widgets/1?permanent=true", token: adminToken},
		{method: "GET", url: "/api/no/such/route"},
	} {
		c.do(t, e)
	}
	if _, err := app.Purge(context.Background(), framework.PurgeOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := call{method: "GET", url: "/metrics"}.do(t, e)
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`autoapi_http_requests_total{operation="create",resource="widgets",route="/api/widgets",status="2xx"} 2`,
		`autoapi_http_requests_total{operation="list",resource="widgets",route="/api/widgets",status="2xx"} 2`,
		`autoapi_http_requests_total{operation="get",resource="widgets",route="/api/widgets/:id",status="2xx"} 1`,
		`autoapi_http_requests_total{operation="get",resource="widgets",route="/api/widgets/:id",status="4xx"} 1`,
		`autoapi_http_requests_total{operation="",resource="",route="unmatched",status="4xx"} 1`,
		`autoapi_http_request_duration_seconds_count{operation="list",resource="widgets",route="/api/widgets",status="2xx"} 2`,
		`autoapi_http_requests_in_flight 1`, // the scrape itself
		`autoapi_rows_changed_total{change="soft_deleted",resource="widgets"} 2`,
		`autoapi_rows_changed_total{change="restored",resource="widgets"} 1`,
		`autoapi_rows_changed_total{change="deleted",resource="widgets"} 1`,
		`autoapi_rows_changed_total{change="purged",resource="widgets"} 1`,
		`go_sql_max_open_connections{db_name="autoapi"}`,
		`autoapi_authz_allowed_total`,
		`autoapi_authz_cache_hits_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "autoapi_authz_cache_hits_total ") && line == "autoapi_authz_cache_hits_total 0" {
			t.Error("no authorization decision came from the cache")
		}
	}
	if strings.Contains(body, "/api/widgets/1") || strings.Contains(body, "/api/no/such") {
		t.Error("a raw path is a label")
	}
	// Off by default.
	_, e = opsApp(t, nil)
	if rec := (call{method: "GET", url: "/metrics"}).do(t, e); rec.Code != 404 {
		t.Errorf("metrics off: GET /metrics: %d", rec.Code)
	}
}

// TestTracing: a list request makes a server span named by its route,
// with the request id and operation, and its SQL statements' spans are
// its children.
func TestTracing(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	_, e := opsApp(t, func(c *framework.Config) { c.Tracing.TracerProvider = tp })
	call{method: "POST", url: "/api/widgets", token: userToken, body: `{"name":"a","qty":1}`}.do(t, e)
	before := len(spans.Ended())
	rec := call{method: "GET", url: "/api/widgets", token: userToken}.do(t, e)
	ended := spans.Ended()[before:]
	var server sdktrace.ReadOnlySpan
	for _, s := range ended {
		if s.Name() == "GET /api/widgets" {
			server = s
		}
	}
	if server == nil {
		var names []string
		for _, s := range ended {
			names = append(names, s.Name())
		}
		t.Fatalf("no span GET /api/widgets among %q", names)
	}
	attrs := map[string]string{}
	for _, a := range server.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["autoapi.request_id"] != rec.Header().Get(echo.HeaderXRequestID) || attrs["autoapi.operation"] != "list" || attrs["autoapi.resource"] != "widgets" || attrs["http.route"] != "/api/widgets" {
		t.Errorf("the request span's attributes: %v", attrs)
	}
	children := 0
	for _, s := range ended {
		if s != server && s.Parent().SpanID() == server.SpanContext().SpanID() {
			children++
			if !strings.Contains(strings.ToUpper(s.Name()), "SELECT") {
				t.Errorf("a child span %q is not a statement", s.Name())
			}
		}
	}
	if children == 0 {
		t.Error("the request span has no statement spans")
	}
}

// TestRateLimit: each caller has buckets for reads and writes; over the
// limit is a 429 problem with Retry-After; anonymous callers, and bad
// credentials, are counted by address, which comes from X-Forwarded-For
// only through a trusted proxy.
func TestRateLimit(t *testing.T) {
	_, e := opsApp(t, func(c *framework.Config) {
		c.RateLimit = framework.RateLimitConfig{Reads: framework.Rate{PerSecond: 0.01, Burst: 2}, Writes: framework.Rate{PerSecond: 0.01, Burst: 1}}
		c.TrustedProxies = []string{"10.0.0.0/8"}
	})
	read := call{method: "GET", url: "/api/widgets", token: userToken}
	for i := 0; i < 2; i++ {
		if rec := read.do(t, e); rec.Code != 200 {
			t.Fatalf("read %d: %d", i, rec.Code)
		}
	}
	rec := read.do(t, e)
	retry, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != 429 || rec.Header().Get("Content-Type") != "application/problem+json" || retry < 1 || !strings.Contains(rec.Body.String(), `"status":429`) {
		t.Errorf("the third read: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := (call{method: "POST", url: "/api/widgets", token: userToken, body: `{"name":"a","qty":1}`}).do(t, e); rec.Code != 201 {
		t.Errorf("a write has its own bucket: %d", rec.Code)
	}
	if rec := (call{method: "GET", url: "/api/widgets", token: readerToken}).do(t, e); rec.Code != 200 {
		t.Errorf("another principal has its own bucket: %d", rec.Code)
	}
	if rec := (call{method: "GET", url: "/healthz"}).do(t, e); rec.Code != 200 {
		t.Errorf("the health endpoints are not limited: %d", rec.Code)
	}

	// Anonymous callers by address: X-Forwarded-For counts behind a
	// trusted proxy only.
	anon := func(remote, xff string) int {
		c := call{method: "GET", url: "/api/widgets", remote: remote}
		if xff != "" {
			c.headers = map[string]string{"X-Forwarded-For": xff}
		}
		return c.do(t, e).Code
	}
	for i, c := range []struct {
		remote, xff string
		status      int
	}{
		{"10.1.1.1:1000", "203.0.113.5", 200},
		{"10.1.1.1:1000", "203.0.113.5", 200},
		{"10.1.1.1:1000", "203.0.113.5", 429},
		{"10.1.1.1:1000", "203.0.113.6", 200}, // another caller behind the proxy
		{"198.51.100.1:1000", "", 200},
		{"198.51.100.1:1000", "203.0.113.7", 200},
		{"198.51.100.1:1000", "203.0.113.8", 429}, // not a trusted proxy: its header is ignored
	} {
		if got := anon(c.remote, c.xff); got != c.status {
			t.Errorf("anonymous %d from %s for %s: %d, want %d", i, c.remote, c.xff, got, c.status)
		}
	}
	// An IPv6 caller counts by its /64: the addresses of one block share
	// a bucket.
	v6 := []int{anon("[2001:db8:1:2::1]:1000", ""), anon("[2001:db8:1:2::2]:1000", ""), anon("[2001:db8:1:2::3]:1000", ""), anon("[2001:db8:1:3::1]:1000", "")}
	if v6[0] != 200 || v6[1] != 200 || v6[2] != 429 || v6[3] != 200 {
		t.Errorf("IPv6 callers: %v, want [200 200 429 200]", v6)
	}
	// Guessing tokens is limited by address too.
	bad := call{method: "GET", url: "/api/widgets", token: "guess", remote: "192.0.2.99:1"}
	codes := []int{bad.do(t, e).Code, bad.do(t, e).Code, bad.do(t, e).Code}
	if codes[0] != 401 || codes[1] != 401 || codes[2] != 429 {
		t.Errorf("bad credentials: %v", codes)
	}
}

// TestCORS: a preflight from an allowed origin is answered, a request
// from it gets the headers it may read; another origin gets none; CORS
// is off by default.
func TestCORS(t *testing.T) {
	_, e := opsApp(t, func(c *framework.Config) {
		c.CORS = framework.CORSConfig{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true}
	})
	pre := call{method: "OPTIONS", url: "/api/widgets", headers: map[string]string{
		"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type",
	}}.do(t, e)
	h := pre.Header()
	if pre.Code != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Max-Age") != "600" || !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight: %d %v", pre.Code, h)
	}
	rec := call{method: "POST", url: "/api/widgets", token: userToken, body: `{"name":"a","qty":1}`, headers: map[string]string{"Origin": "https://app.example.com"}}.do(t, e)
	expose := rec.Header().Get("Access-Control-Expose-Headers")
	if rec.Code != 201 || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("cross-origin create: %d %v", rec.Code, rec.Header())
	}
	for _, hdr := range []string{"Location", "X-Request-Id", "ETag"} {
		if !strings.Contains(expose, hdr) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", expose, hdr)
		}
	}
	other := call{method: "GET", url: "/api/widgets", headers: map[string]string{"Origin": "https://evil.example"}}.do(t, e)
	if other.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin is allowed: %v", other.Header())
	}
	_, e = opsApp(t, nil)
	off := call{method: "GET", url: "/api/widgets", headers: map[string]string{"Origin": "https://app.example.com"}}.do(t, e)
	if off.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off: %v", off.Header())
	}
}
