package framework

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/autoapi-go/autoapi/internal/handlers"
)

// metrics are the App's Prometheus collectors. Every label set is
// bounded: routes are the table's patterns, operations and resources
// the registered ones, statuses their class.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// rows counts rows by resource and change: soft_deleted, restored,
	// deleted (for good, by a delete) and purged.
	rows *prometheus.CounterVec
}

// newMetrics registers the App's collectors on cfg's registry, or on one
// of the App's own.
func newMetrics(cfg MetricsConfig, a *App) (*metrics, error) {
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	labels := []string{"route", "operation", "resource", "status"}
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoapi_http_requests_total", Help: "HTTP requests answered, by route pattern, operation, resource and status class.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "autoapi_http_request_duration_seconds", Help: "Time to answer HTTP requests, by route pattern, operation, resource and status class.",
			Buckets: prometheus.DefBuckets,
		}, labels),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "autoapi_http_requests_in_flight", Help: "HTTP requests being answered.",
		}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoapi_rows_changed_total", Help: "Rows soft-deleted, restored, deleted for good or purged, by resource and change.",
		}, []string{"resource", "change"}),
	}
	cs := []prometheus.Collector{m.requests, m.duration, m.inFlight, m.rows,
		collectors.NewDBStatsCollector(a.cfg.DB.DB, "autoapi"),
	}
	if e := a.enforcer; e != nil {
		stat := func(name, help string, read func() uint64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(read()) })
		}
		cs = append(cs,
			stat("autoapi_authz_allowed_total", "Authorization questions answered yes.", func() uint64 { return e.Stats().Allowed }),
			stat("autoapi_authz_denied_total", "Authorization questions answered no.", func() uint64 { return e.Stats().Denied }),
			stat("autoapi_authz_cache_hits_total", "casbin decisions served from the decision cache.", func() uint64 { return e.Stats().CacheHits }),
			stat("autoapi_authz_cache_misses_total", "casbin decisions computed by casbin.", func() uint64 { return e.Stats().CacheMisses }),
		)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// metricsSpecs is the route of the metrics endpoint, at the root.
func (a *App) metricsSpecs() []handlers.Spec {
	if a.metrics == nil {
		return nil
	}
	return []handlers.Spec{{
		Op: handlers.OpMetrics, ID: "getMetrics", Summary: "Prometheus metrics", Method: http.MethodGet, Path: a.cfg.Metrics.Path,
		Root: true, Hidden: true, Responses: []handlers.Response{{Status: http.StatusOK}},
	}}
}

// serveMetrics serves what the registry gathers.
func (m *metrics) serve() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

// changed counts n rows of resource changed by change.
func (m *metrics) changed(resource, change string, n int64) {
	if m != nil && n > 0 {
		m.rows.WithLabelValues(resource, change).Add(float64(n))
	}
}
