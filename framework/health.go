package framework

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/internal/handlers"
)

// HealthConfig configures the health endpoints, which orchestrators and
// load balancers probe. They are outside the prefix, need no credentials,
// and are left out of the access log unless AccessLogConfig.Health is set.
type HealthConfig struct {
	// Off leaves both endpoints out.
	Off bool
	// LivePath answers 200 while the process serves ("/healthz").
	LivePath string
	// ReadyPath answers 200 when the App can serve requests: the database
	// answers a ping within Timeout and every registered table can be
	// read; otherwise 503 problem+json naming what is not ready
	// ("/readyz"). The policy was loaded by New; when a reload from
	// Config.PolicyAdapter fails, the check says the policy is stale, and
	// the App stays ready on the policy it has.
	ReadyPath string
	// Timeout bounds the database ping (2s).
	Timeout time.Duration
}

// healthBody is the answer of a health endpoint that is well.
type healthBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// healthSpecs are the routes of the health endpoints, at the root.
func (a *App) healthSpecs() []handlers.Spec {
	if a.cfg.Health.Off {
		return nil
	}
	spec := func(op handlers.Operation, id, path, summary string) handlers.Spec {
		return handlers.Spec{
			Op: op, ID: id, Summary: summary, Method: http.MethodGet, Path: path, Root: true, Hidden: true,
			Responses: []handlers.Response{{Status: http.StatusOK}, {Status: http.StatusServiceUnavailable, Envelope: handlers.EnvelopeProblem}},
		}
	}
	return []handlers.Spec{
		spec(handlers.OpLive, "getLive", a.cfg.Health.LivePath, "The process serves"),
		spec(handlers.OpReady, "getReady", a.cfg.Health.ReadyPath, "The App can serve requests"),
	}
}

// live serves the liveness endpoint: answering is the whole check.
func (a *App) live(c echo.Context) error {
	return c.JSON(http.StatusOK, healthBody{Status: "ok"})
}

// ready serves the readiness endpoint. Its 503 is written here, not
// returned: a probe that finds the App not ready is an answer, not a
// failure for the error log.
func (a *App) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), a.cfg.Health.Timeout)
	defer cancel()
	checks := map[string]string{"database": "ok", "schema": "ok", "policy": "ok"}
	var faults []handlers.FieldError
	fail := func(check, message string) {
		checks[check] = message
		faults = append(faults, handlers.FieldError{Field: check, Message: message})
	}
	late := func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	if err := a.cfg.DB.PingContext(ctx); err != nil {
		// The driver's text stays in the log.
		a.cfg.Logger.WarnContext(ctx, "readiness: database ping failed", "error", err)
		if late() {
			fail("database", "no answer within "+a.cfg.Health.Timeout.String())
		} else {
			fail("database", "the ping failed")
		}
	} else if table, err := a.unreadableTable(ctx); err != nil {
		a.cfg.Logger.WarnContext(ctx, "readiness: a table cannot be read", "table", table, "error", err)
		if late() {
			fail("database", "no answer within "+a.cfg.Health.Timeout.String())
		} else {
			fail("schema", "table "+table+" is missing or cannot be read: run Migrate")
		}
	}
	if a.policyStale.Load() {
		// Still ready: the policy loaded before stays in force.
		checks["policy"] = "stale: the last reload failed; the policy loaded before is in force"
	}
	if len(faults) > 0 {
		p := handlers.NewProblem(http.StatusServiceUnavailable, "not ready: "+faults[0].Field+": "+faults[0].Message, faults...)
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusServiceUnavailable, handlers.ProblemContentType, b)
	}
	return c.JSON(http.StatusOK, healthBody{Status: "ready", Checks: checks})
}

// unreadableTable names a registered table the database cannot read
// (most often: Migrate has not made it yet), with the error; "" when every
// one answers. It asks each time, so that a table dropped under a running
// App is seen.
func (a *App) unreadableTable(ctx context.Context) (string, error) {
	for _, r := range a.resources {
		rows, err := a.cfg.DB.QueryContext(ctx, "SELECT 1 FROM "+string(r.desc.Table.SQLName)+" WHERE 1 = 0")
		if err != nil {
			return r.desc.Table.Name, err
		}
		rows.Close()
	}
	return "", nil
}
