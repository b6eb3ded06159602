package framework

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/internal/handlers"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// PurgeOptions selects what Purge removes.
type PurgeOptions struct {
	// Resource limits the purge to one resource; empty means every
	// soft-deletable resource.
	Resource string
	// OlderThan keeps rows deleted more recently than now minus OlderThan.
	OlderThan time.Duration
	// DryRun counts what would be removed and removes nothing.
	DryRun bool
	// BatchSize bounds the rows removed per statement (500), so that a
	// large purge never holds the write lock for long.
	BatchSize int
}

// PurgeCount is what a purge did to one resource: Resource, Removed (on
// a dry run, what would be) and Kept, the old deleted rows other rows
// still refer to through a foreign key, which stay until those go. POST
// {prefix}/purge answers with the same values.
type PurgeCount = handlers.PurgeCount

// defaultPurgeBatch is PurgeOptions.BatchSize when it is not set.
const defaultPurgeBatch = 500

// purgeOrder lists the registered resources in the order a purge takes
// them: every resource after those whose rows refer to its rows (through
// a belongs-to relation), so that one purge removes old deleted children
// before their old deleted parents, which would otherwise be kept for
// them until the next. Where resources refer to each other in a cycle,
// the first of them registered comes after the others.
func (a *App) purgeOrder() []*introspect.Resource {
	referrers := map[reflect.Type][]*introspect.Resource{}
	for _, r := range a.resources {
		for _, rel := range r.desc.Relations {
			if rel.Kind == schema.BelongsToRelation && rel.Related != r.desc.Type {
				referrers[rel.Related] = append(referrers[rel.Related], r.desc)
			}
		}
	}
	var out []*introspect.Resource
	state := map[*introspect.Resource]int{} // 1: being placed, 2: placed
	var place func(desc *introspect.Resource)
	place = func(desc *introspect.Resource) {
		if state[desc] != 0 {
			return // placed, or a cycle
		}
		state[desc] = 1
		for _, child := range referrers[desc.Type] {
			place(child)
		}
		state[desc] = 2
		out = append(out, desc)
	}
	for _, r := range a.resources {
		place(r.desc)
	}
	return out
}

// purgeOne is POST {prefix}/purge's purge of one resource the handler
// chose and authorized.
func (a *App) purgeOne(ctx context.Context, desc *introspect.Resource, olderThan time.Duration, dryRun bool) (PurgeCount, error) {
	return a.purge(ctx, desc, time.Now().UTC().Add(-olderThan), PurgeOptions{OlderThan: olderThan, DryRun: dryRun, BatchSize: defaultPurgeBatch})
}

// Purge permanently removes rows soft-deleted before now minus OlderThan,
// in bounded batches, and returns the counts per resource.
func (a *App) Purge(ctx context.Context, opts PurgeOptions) ([]PurgeCount, error) {
	if opts.OlderThan < 0 {
		return nil, fmt.Errorf("framework: purge: OlderThan must not be negative")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = defaultPurgeBatch
	}
	var targets []*introspect.Resource
	for _, desc := range a.purgeOrder() {
		if (opts.Resource == "" || desc.Name == opts.Resource) && desc.SoftDeletable() {
			targets = append(targets, desc)
		}
	}
	if opts.Resource != "" && len(targets) == 0 {
		return nil, fmt.Errorf("framework: purge: no soft-deletable resource %q is registered", opts.Resource)
	}
	cutoff := time.Now().UTC().Add(-opts.OlderThan)
	var counts []PurgeCount
	for _, desc := range targets {
		c, err := a.purge(ctx, desc, cutoff, opts)
		if err != nil {
			return counts, fmt.Errorf("framework: purge %s: %w", desc.Name, err)
		}
		counts = append(counts, c)
	}
	return counts, nil
}

func (a *App) purge(ctx context.Context, desc *introspect.Resource, cutoff time.Time, opts PurgeOptions) (PurgeCount, error) {
	db := a.cfg.DB
	count := PurgeCount{Resource: desc.Name}
	pk := desc.PK
	old, oldArgs, err := purgeable(desc, cutoff, opts.OlderThan)
	if err != nil {
		return count, err
	}
	if opts.DryRun {
		n, err := db.NewSelect().TableExpr("?", desc.Table.SQLName).
			Where(old, oldArgs...).Count(ctx)
		count.Removed = int64(n)
		return count, err
	}
	// Walk the old deleted rows in key order, one batch at a time, so a
	// row kept for a foreign key is not visited again.
	var after any
	for {
		// Keys scan into a slice of the key's own Go type.
		dest := reflect.New(reflect.SliceOf(pk.Type))
		q := db.NewSelect().TableExpr("?", desc.Table.SQLName).ColumnExpr("?", pk.Ident).
			Where(old, oldArgs...).
			OrderExpr("? ASC", pk.Ident).Limit(int64(opts.BatchSize))
		if after != nil {
			q = q.Where("? > ?", pk.Ident, after)
		}
		if err := q.Scan(ctx, dest.Interface()); err != nil {
			return count, err
		}
		keys := make([]any, dest.Elem().Len())
		for i := range keys {
			keys[i] = dest.Elem().Index(i).Interface()
		}
		if len(keys) == 0 {
			return count, nil
		}
		after = keys[len(keys)-1]
		removed, kept, err := a.purgeBatch(ctx, desc, keys, old, oldArgs)
		if err != nil {
			return count, err
		}
		a.metrics.changed(desc.Name, "purged", removed)
		count.Removed += removed
		count.Kept += kept
	}
}

// purgeable is the condition "the row was soft-deleted before cutoff",
// from the resource's soft-delete strategy; olderThan is the age cutoff
// stands for.
func purgeable(desc *introspect.Resource, cutoff time.Time, olderThan time.Duration) (string, []any, error) {
	old, args, ok := desc.SoftDelete.DeletedBefore(cutoff)
	switch {
	case ok:
		return old, args, nil
	case olderThan == 0:
		// Without a deletion time every deleted row is old enough only
		// when no age is asked for.
		deleted, args := desc.SoftDelete.Deleted()
		return deleted, args, nil
	}
	return "", nil, fmt.Errorf("model %s records no deletion time, so its deleted rows have no age; purge it with OlderThan 0, or add a deletion timestamp", desc.ModelName)
}

// purgeBatch removes the rows with keys that are still old, deleted rows
// (a restore may have happened since they were selected). When a foreign
// key refuses the batch, the rows go one by one and the referenced ones
// stay.
func (a *App) purgeBatch(ctx context.Context, desc *introspect.Resource, keys []any, old string, oldArgs []any) (removed, kept int64, err error) {
	del := func(keys []any) (int64, error) {
		r, err := a.cfg.DB.NewDelete().TableExpr("?", desc.Table.SQLName).
			Where("? IN (?)", desc.PK.Ident, bun.In(keys)).
			Where(old, oldArgs...).
			Exec(ctx)
		if err != nil {
			return 0, err
		}
		return r.RowsAffected()
	}
	n, err := del(keys)
	if err == nil {
		return n, 0, nil
	}
	if !handlers.IsForeignKeyViolation(err) {
		return 0, 0, err
	}
	for _, k := range keys {
		n, err := del([]any{k})
		switch {
		case err == nil:
			removed += n
		case handlers.IsForeignKeyViolation(err):
			kept++
		default:
			return removed, kept, err
		}
	}
	return removed, kept, nil
}

// RunPurges purges every resource that has a retention period in
// Config.Retention, now and then every Config.PurgeInterval, until ctx
// ends; run it in its own goroutine. It returns at once with an error when
// a retention names no soft-deletable resource. Failures of a round are
// logged and retried on the next one.
func (a *App) RunPurges(ctx context.Context) error {
	names := make([]string, 0, len(a.cfg.Retention))
	for name, d := range a.cfg.Retention {
		if r, ok := a.byName[name]; !ok || !r.desc.SoftDeletable() || d <= 0 {
			return fmt.Errorf("framework: Config.Retention[%q]: needs a registered soft-deletable resource and a positive period", name)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	t := time.NewTicker(a.cfg.PurgeInterval)
	defer t.Stop()
	for {
		for _, name := range names {
			counts, err := a.Purge(ctx, PurgeOptions{Resource: name, OlderThan: a.cfg.Retention[name]})
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return nil
				}
				a.cfg.Logger.ErrorContext(ctx, "scheduled purge failed", "resource", name, "error", err)
				continue
			}
			for _, c := range counts {
				if c.Removed > 0 || c.Kept > 0 {
					a.cfg.Logger.InfoContext(ctx, "purged deleted rows", "resource", c.Resource, "removed", c.Removed, "kept", c.Kept)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
