package handlers

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Dry runs. A dry run of restore or delete runs the generated handler
// itself in a transaction that is always rolled back, and answers with the
// rows the operation changed in it: the same statements, locks, cascades,
// unique indexes and foreign keys decide, so what it reports is what the
// operation would do at that moment, conflicts included, which a second
// implementation that predicts the effects could not promise.
//
// A dry run answers only about rows the caller may see: a restore's or a
// permanent delete's reaches the deleted rows their read_deleted grant
// reaches, a soft delete's the live rows their read reaches. Without that
// bound a caller allowed restore but not read_deleted could learn, at no
// cost, which deleted rows exist and what they hold. Operations that an
// override serves or a lifecycle hook intercepts have no dry run (see
// Hooks.Intercept).

// The dry-run operations: each previews the operation DryRunOf names.
const (
	// OpRestoreDryRun serves POST /R/:id/restore/dry-run.
	OpRestoreDryRun Operation = "restore_dry_run"
	// OpBulkRestoreDryRun serves POST /R/restore/dry-run?<filters>.
	OpBulkRestoreDryRun Operation = "bulk_restore_dry_run"
	// OpDeleteDryRun serves POST /R/:id/deletion/dry-run[?permanent=true].
	OpDeleteDryRun Operation = "delete_dry_run"
)

// SegmentDryRun ends the path of a dry run; SegmentDelete names the
// delete a dry run of DELETE /R/:id previews.
const (
	SegmentDryRun = "dry-run"
	SegmentDelete = "deletion"
)

// dryRuns maps each dry-run operation to the operation it previews.
var dryRuns = map[Operation]Operation{
	OpRestoreDryRun:     OpRestore,
	OpBulkRestoreDryRun: OpBulkRestore,
	OpDeleteDryRun:      OpDelete,
}

// DryRunOf returns the operation op previews, and false when op is not
// a dry run.
func DryRunOf(op Operation) (Operation, bool) {
	base, ok := dryRuns[op]
	return base, ok
}

// DryRunResult is the data of a dry run's answer: the rows the operation
// would change, by resource, the served resource first and then those
// its cascades reach, in the order they are met.
type DryRunResult struct {
	Rows []DryRunRows `json:"rows"`
}

// DryRunRows are the rows of one resource a dry run's operation changed.
type DryRunRows struct {
	Resource string `json:"resource"`
	Count    int    `json:"count"`
	// IDs are the rows' keys, present only for a caller who may read
	// every row of the resource, live and deleted: the others learn how
	// many rows, not which.
	IDs []any `json:"ids,omitempty"`
}

// errDryRun rolls back the transaction of a dry run once its operation
// has succeeded in it.
var errDryRun = errors.New("handlers: dry run")

// Changes collects the rows an operation changes, by resource, as its
// statements report them: for a dry run's answer, and for the metrics of
// a real request.
type Changes struct {
	order []*introspect.Resource
	keys  map[*introspect.Resource][]any
	// dryRun rolls the operation's transaction back.
	dryRun bool
}

type changesKey struct{}

// WithChanges returns ctx with a new Changes that the operation run with
// it fills in.
func WithChanges(ctx context.Context) (context.Context, *Changes) {
	ch := &Changes{keys: map[*introspect.Resource][]any{}}
	return context.WithValue(ctx, changesKey{}, ch), ch
}

// Each calls fn with every resource whose rows changed, in the order
// met, and how many.
func (ch *Changes) Each(fn func(res *introspect.Resource, n int)) {
	for _, r := range ch.order {
		fn(r, len(ch.keys[r]))
	}
}

// changesOf returns the Changes ctx collects into, or nil.
func changesOf(ctx context.Context) *Changes {
	ch, _ := ctx.Value(changesKey{}).(*Changes)
	return ch
}

// dryRunOf reports whether ctx belongs to a dry run.
func dryRunOf(ctx context.Context) bool {
	ch := changesOf(ctx)
	return ch != nil && ch.dryRun
}

// changed records that keys of res changed; a no-op when nothing
// collects.
func changed(ctx context.Context, res *introspect.Resource, keys ...any) {
	ch := changesOf(ctx)
	if ch == nil || len(keys) == 0 {
		return
	}
	if _, seen := ch.keys[res]; !seen {
		ch.order = append(ch.order, res)
	}
	ch.keys[res] = append(ch.keys[res], keys...)
}

// DryRun returns the handler of a dry run of op: op's generated handler
// run in a transaction that is rolled back. The caller needs what op
// needs; op's own answer stands when it fails (404, 409 and so on).
func DryRun(op Operation) HandlerFunc {
	run := Generated(op)
	return func(c *Context) error {
		res := c.svc.res
		see := auth.ActionReadDeleted
		if op == OpDelete && c.QueryParam(paramPermanent) != "true" {
			see = auth.ActionRead // a soft delete, or a delete of a table without soft deletes, takes live rows
		}
		visible := c.grants.scope(res, see)
		if see == auth.ActionReadDeleted {
			visible = c.grants.readDeleted(res)
		}
		if visible == scopeNone {
			return c.grants.deny(see)
		}
		c.grants.capped, c.grants.cap = true, visible
		ctx, d := WithChanges(c.Request().Context())
		d.dryRun = true
		c.SetRequest(c.Request().WithContext(ctx))
		err := run(c)
		if err == nil {
			// Every success path of the previewable handlers runs in a
			// transaction, which a dry run rolls back with errDryRun.
			return NewProblem(http.StatusInternalServerError, "the dry run completed without its transaction")
		}
		if !errors.Is(err, errDryRun) {
			return err
		}
		out := DryRunResult{Rows: []DryRunRows{}}
		// The served resource first, though a permanent delete removes
		// its children before it.
		order := d.order
		if i := slices.Index(order, res); i > 0 {
			order = append(append([]*introspect.Resource{res}, order[:i]...), order[i+1:]...)
		}
		for _, r := range order {
			keys := d.keys[r]
			rows := DryRunRows{Resource: r.Name, Count: len(keys)}
			if c.grants.scope(r, auth.ActionRead) == scopeAll && (!r.SoftDeletable() || c.grants.readDeleted(r) == scopeAll) {
				rows.IDs = keys
			}
			out.Rows = append(out.Rows, rows)
		}
		return writeData(c.Context, out)
	}
}
