package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// OpPurge serves POST /purge: permanent removal of rows soft-deleted
// longer ago than an age, over the resources the caller may purge (see
// Purgeable).
const OpPurge Operation = "purge"

// The parameters of POST /purge.
const (
	paramOlderThan = "olderThan"
	paramResource  = "resource"
	paramDryRun    = "dryRun"
)

// PurgeCount is what a purge did, or on a dry run would do, to one
// resource.
type PurgeCount struct {
	Resource string `json:"resource"`
	// Removed counts the rows removed (on a dry run: old deleted rows,
	// which would go unless other rows still refer to them).
	Removed int64 `json:"removed"`
	// Kept counts old deleted rows that other rows still refer to through
	// a foreign key; they stay until those rows go. Always 0 on a dry run.
	Kept int64 `json:"kept"`
}

// PurgeResult is the data of POST /purge's answer.
type PurgeResult struct {
	DryRun    bool         `json:"dryRun"`
	Resources []PurgeCount `json:"resources"`
}

// PurgeFunc purges res, or on a dry run counts what it would purge.
type PurgeFunc func(ctx context.Context, res *introspect.Resource, olderThan time.Duration, dryRun bool) (PurgeCount, error)

// PurgeSpec is the operation of POST /purge.
func PurgeSpec() Spec {
	return Spec{
		Op: OpPurge, ID: "purge", Method: http.MethodPost, Path: "/" + string(OpPurge),
		Summary: "Remove for good the rows soft-deleted longer ago than an age",
		Params: []Param{
			{Name: paramOlderThan, In: "query", Type: ParamString, Required: true, Description: "The age, as a Go duration (720h, 90m, 0s for the whole trash): rows soft-deleted longer ago than this go."},
			{Name: paramResource, In: "query", Type: ParamString, Description: "Purge this resource only; default: every soft-deletable resource on which the caller may hard_delete and read_deleted every record."},
			{Name: paramDryRun, In: "query", Type: ParamBoolean, Default: "false", Description: "Count what would go and remove nothing."},
		},
		Action:    auth.ActionHardDelete,
		Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopePurged}}, problems(commonProblems)...),
	}
}

// Purgeable reports whether a caller may purge res: it has soft deletes,
// and the caller may hard_delete and read_deleted every row of it, as
// holds says of an action. Without read_deleted, a purge's counts by age
// would tell the caller when rows they may not see were deleted. The
// handler and the OpenAPI document both ask this.
func Purgeable(res *introspect.Resource, holds func(action string) bool) bool {
	return res.SoftDeletable() && holds(auth.ActionHardDelete) && holds(auth.ActionReadDeleted)
}

// Purge returns the handler of POST /purge over resources, which it takes
// in their order. A caller purges the resources Purgeable allows them;
// naming another is a 401 or 403, like a permanent delete they may not
// make. Like App.Purge, a purge runs no lifecycle hooks.
func Purge(authz Authorizer, resources []*introspect.Resource, purge PurgeFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		params, err := queryParams(c.Request())
		if err != nil {
			return err
		}
		if err := checkParams(params, []string{paramOlderThan, paramResource, paramDryRun}); err != nil {
			return err
		}
		if !params.Has(paramOlderThan) {
			return fieldProblem(paramOlderThan, "is required")
		}
		olderThan, err := time.ParseDuration(params.Get(paramOlderThan))
		if err != nil || olderThan < 0 {
			return fieldProblem(paramOlderThan, `must be a duration of 0 or more, such as "720h"`)
		}
		dryRun := false
		if params.Has(paramDryRun) {
			if dryRun, err = parseStrictBool(paramDryRun, params.Get(paramDryRun)); err != nil {
				return err
			}
		}
		p := auth.FromContext(c.Request().Context())
		named := params.Get(paramResource)
		var targets []*introspect.Resource
		for _, res := range resources {
			if named != "" && res.Name != named {
				continue
			}
			var failed error
			if !Purgeable(res, func(action string) bool {
				ok, err := authz.Allowed(p, res.Name, action)
				if err != nil {
					failed = err
				}
				return ok
			}) {
				if failed != nil {
					return failed
				}
				continue
			}
			if res.SoftDelete.At == nil && olderThan > 0 {
				// Its deleted rows have no age.
				if named != "" {
					return fieldProblem(paramOlderThan, res.Name+" records no deletion time, so only 0s purges it")
				}
				continue
			}
			targets = append(targets, res)
		}
		if len(targets) == 0 {
			// A resource the caller may not purge is refused like one that
			// does not exist, so the answer names nothing they cannot see.
			what := "any resource"
			if named != "" {
				what = named
			}
			if p.Anonymous() {
				return auth.Unauthenticated("authentication is required to purge " + what)
			}
			return Problemf(http.StatusForbidden, "you may not purge %s", strings.TrimSpace(what))
		}
		out := PurgeResult{DryRun: dryRun, Resources: make([]PurgeCount, 0, len(targets))}
		for _, res := range targets {
			n, err := purge(c.Request().Context(), res, olderThan, dryRun)
			if err != nil {
				return err
			}
			out.Resources = append(out.Resources, n)
		}
		return writeData(c, out)
	}
}
