package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/database"
)

// operationsFlags are the server's operational settings, as flags.
type operationsFlags struct {
	accessLog, metrics, trace *bool
	rateReads, rateWrites     *float64
	corsOrigins, proxies      *string
	shutdown                  *time.Duration
	readHeader, read, write   *time.Duration
	idle                      *time.Duration

	// timeouts and shutdownTimeout are the parsed values, after apply.
	timeouts        framework.ServerTimeouts
	shutdownTimeout time.Duration
}

func addOperationsFlags(fs *flag.FlagSet) *operationsFlags {
	d := framework.DefaultServerTimeouts()
	return &operationsFlags{
		accessLog:   fs.Bool("access-log", true, "log one line per request to stderr"),
		metrics:     fs.Bool("metrics", false, "serve Prometheus metrics at /metrics"),
		trace:       fs.Bool("trace", false, "print an OpenTelemetry span per request and per SQL statement to stdout"),
		rateReads:   fs.Float64("rate-reads", 0, "reads (GET, HEAD) a second each caller may send, in bursts of as many (0: no limit)"),
		rateWrites:  fs.Float64("rate-writes", 0, "writes a second each caller may send, in bursts of as many (0: no limit)"),
		corsOrigins: fs.String("cors-origin", "", "comma-separated origins whose pages may call the API (https://app.example.com)"),
		proxies:     fs.String("trusted-proxy", "", "comma-separated CIDR ranges of proxies whose X-Forwarded-For names the caller"),
		shutdown:    fs.Duration("shutdown-timeout", 10*time.Second, "on SIGTERM or SIGINT, how long requests in flight may take to finish"),
		readHeader:  fs.Duration("read-header-timeout", d.ReadHeader, "how long a client may take to send a request's headers"),
		read:        fs.Duration("read-timeout", d.Read, "how long a client may take to send a whole request"),
		write:       fs.Duration("write-timeout", d.Write, "how long the server may take to answer, from the end of the request's headers"),
		idle:        fs.Duration("idle-timeout", d.Idle, "how long a kept-alive connection may wait for its next request"),
	}
}

// apply sets o's operational settings from the flags, and returns what
// stops the tracer (a no-op without -trace); spans go to stdout.
func (f *operationsFlags) apply(o *options, stdout io.Writer) (func(context.Context) error, error) {
	f.timeouts = framework.ServerTimeouts{ReadHeader: *f.readHeader, Read: *f.read, Write: *f.write, Idle: *f.idle}
	f.shutdownTimeout = *f.shutdown
	for name, d := range map[string]time.Duration{"shutdown-timeout": f.shutdownTimeout, "read-header-timeout": *f.readHeader, "read-timeout": *f.read, "write-timeout": *f.write, "idle-timeout": *f.idle} {
		if d <= 0 {
			return nil, fmt.Errorf("-%s must be positive", name)
		}
	}
	stop := func(context.Context) error { return nil }
	var tp *sdktrace.TracerProvider
	if *f.trace {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(stdout))
		if err != nil {
			return nil, err
		}
		tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		stop = tp.Shutdown
	}
	list := func(s string) []string {
		var out []string
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	o.operations = func(c *framework.Config) {
		c.AccessLog = framework.AccessLogConfig{On: *f.accessLog}
		c.Metrics.On = *f.metrics
		if tp != nil {
			c.Tracing.TracerProvider = tp
		}
		c.RateLimit.Reads = framework.Rate{PerSecond: *f.rateReads}
		c.RateLimit.Writes = framework.Rate{PerSecond: *f.rateWrites}
		c.CORS.AllowOrigins = list(*f.corsOrigins)
		c.TrustedProxies = list(*f.proxies)
	}
	return stop, nil
}

// backupCommand writes a consistent copy of the example's SQLite database
// to a new file, while a server may be using it.
func backupCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("example backup", flag.ExitOnError)
	dbPath := fs.String("db", "autoapi.db", "SQLite database file")
	to := fs.String("to", "", "the new file to write the copy to (required)")
	_ = fs.Parse(args)
	if *to == "" {
		return errors.New("backup: -to FILE is required")
	}
	if database.IsPostgres(*dbPath) {
		return errors.New("backup: for PostgreSQL use pg_dump; see docs/operations.md")
	}
	ctx := context.Background()
	db, err := database.Open(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := database.Backup(ctx, db, *to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", *dbPath, *to)
	return nil
}
