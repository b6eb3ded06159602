package handlers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// The soft-delete state changes. Each is one guarded UPDATE: a delete only
// matches live rows and a restore only deleted ones, so of two racing
// requests exactly one changes the row. Cascades run in the same
// transaction, stamped with the same time, so that a restore can tell the
// rows its cascade deleted from those deleted on their own.

// softDeleteQuery marks live rows of res deleted at now, by p, as the
// resource's soft-delete strategy records a deletion.
func softDeleteQuery(db bun.IDB, res *introspect.Resource, model any, now time.Time, p auth.Principal) *bun.UpdateQuery {
	live, args := res.SoftDelete.Live()
	q := res.SoftDelete.SetDeleted(unscoped(db.NewUpdate().Model(model), res), now, deletedBy(res.SoftDelete.By, p)).
		Where(live, args...)
	if res.UpdatedAt != nil {
		q = q.Set("? = ?", res.UpdatedAt.Ident, now)
	}
	return q
}

// restoreQuery brings deleted rows of res back.
func restoreQuery(db bun.IDB, res *introspect.Resource, model any, now time.Time) *bun.UpdateQuery {
	deleted, args := res.SoftDelete.Deleted()
	q := res.SoftDelete.SetRestored(unscoped(db.NewUpdate().Model(model), res)).
		Where(deleted, args...)
	if res.UpdatedAt != nil {
		q = q.Set("? = ?", res.UpdatedAt.Ident, now)
	}
	return q
}

// stampQuery is a write that changes nothing on the deleted rows of res
// it matches and returns their keys and deletion times into model: a
// restore runs it first, so that it holds the write lock before it reads
// anything, and restores each row's cascade by its time.
func stampQuery(db bun.IDB, res *introspect.Resource, model any) *bun.UpdateQuery {
	deleted, args := res.SoftDelete.Deleted()
	q := unscoped(db.NewUpdate().Model(model), res).
		Set("? = ?", res.PK.Ident, res.PK.Ident).
		Where(deleted, args...)
	if at := res.SoftDelete.At; at != nil {
		return q.Returning("?, ?", res.PK.Ident, at.Ident)
	}
	return q.Returning("?", res.PK.Ident)
}

// deleteTime is the time a soft delete stamps on its rows and on those
// its cascades reach: now, at the coarsest precision any of them records
// (see introspect.SoftDelete.Precision), so that a restore finds the
// cascade's rows by equality with the parent's stamp.
func (s *Service) deleteTime() time.Time {
	return now().Truncate(s.precision)
}

// stampPrecision is the coarsest deletion-time precision of res and of
// the resources its cascades reach, worked out once by NewService.
func (s *Service) stampPrecision(res *introspect.Resource) time.Duration {
	p := time.Microsecond
	if res.SoftDelete != nil {
		p = res.SoftDelete.Precision()
	}
	for i := range res.Relations {
		child := res.Relations[i].Cascade
		if child == nil {
			continue
		}
		p = max(p, s.stampPrecision(s.registered(&res.Relations[i], child)))
	}
	return p
}

// hasCascades reports whether soft deletes of res reach other rows.
func hasCascades(res *introspect.Resource) bool {
	for i := range res.Relations {
		if res.Relations[i].Cascade != nil {
			return true
		}
	}
	return false
}

// cascadeDelete soft-deletes the live rows that the cascading relations of
// res tie to the rows with keys, then theirs, with the same stamp.
func (s *Service) cascadeDelete(ctx context.Context, db bun.IDB, res *introspect.Resource, keys []any, now time.Time, p auth.Principal) error {
	return s.eachCascade(ctx, res, keys, func(rel *introspect.Relation, child *introspect.Resource, dest any) ([]any, error) {
		_, err := softDeleteQuery(db, child, child.New().Interface(), now, p).
			Where("? IN (?)", rel.JoinColumn, bun.In(keys)).
			Returning("?", child.PK.Ident).Exec(ctx, dest)
		return nil, err
	}, func(child *introspect.Resource, childKeys []any) error {
		return s.cascadeDelete(ctx, db, child, childKeys, now, p)
	})
}

// cascadeRestore restores the rows that the cascade of a delete stamped at
// stamp took with the rows with keys: rows deleted at another time were
// deleted on their own and stay deleted.
func (s *Service) cascadeRestore(ctx context.Context, db bun.IDB, res *introspect.Resource, keys []any, stamp, now time.Time) error {
	return s.eachCascade(ctx, res, keys, func(rel *introspect.Relation, child *introspect.Resource, dest any) ([]any, error) {
		at, atArgs, ok := child.SoftDelete.StampIs(stamp)
		if !ok {
			// Registration refuses a cascade to a model that records no
			// deletion time.
			return nil, fmt.Errorf("handlers: cascade to %s, which records no deletion time", child.Name)
		}
		_, err := restoreQuery(db, child, child.New().Interface(), now).
			Where("? IN (?)", rel.JoinColumn, bun.In(keys)).
			Where(at, atArgs...).
			Returning("?", child.PK.Ident).Exec(ctx, dest)
		return nil, err
	}, func(child *introspect.Resource, childKeys []any) error {
		return s.cascadeRestore(ctx, db, child, childKeys, stamp, now)
	})
}

// removeCascaded deletes for good, before their parents go, the rows the
// cascading relations of res tie to keys, live or soft-deleted: a
// permanent delete (an erasure) takes what a soft delete would have taken.
func (s *Service) removeCascaded(ctx context.Context, db bun.IDB, res *introspect.Resource, keys []any) error {
	return s.eachCascade(ctx, res, keys, func(rel *introspect.Relation, child *introspect.Resource, dest any) ([]any, error) {
		// The children's keys first, so their own children go before them.
		// Locked FOR UPDATE where the database has row locks: a write of a
		// grandchild holds its parent FOR SHARE (see checkParents), so it
		// either commits first and is found here, or waits and finds its
		// parent gone.
		q := unscoped(db.NewSelect().Model(child.New().Interface()), child).
			Column(child.PK.Column).Where("? IN (?)", rel.JoinColumn, bun.In(keys))
		if s.ep.RowLocks {
			q = q.For("UPDATE")
		}
		return nil, q.Scan(ctx, dest)
	}, func(child *introspect.Resource, childKeys []any) error {
		if err := s.removeCascaded(ctx, db, child, childKeys); err != nil || len(childKeys) == 0 {
			return err
		}
		_, err := unscoped(db.NewDelete().Model(child.New().Interface()), child).
			Where("? IN (?)", child.PK.Ident, bun.In(childKeys)).ForceDelete().Exec(ctx)
		return err
	})
}

// eachCascade runs change on every cascading relation of res, collecting
// the keys of the changed child rows (for a dry run's report too), and
// then next on those.
//
// The child is described by its registered resource when it has one, so
// that cascades given at its registration apply further down.
func (s *Service) eachCascade(ctx context.Context, res *introspect.Resource, keys []any,
	change func(rel *introspect.Relation, child *introspect.Resource, dest any) ([]any, error),
	next func(child *introspect.Resource, keys []any) error,
) error {
	if len(keys) == 0 {
		return nil
	}
	for i := range res.Relations {
		rel := &res.Relations[i]
		child := rel.Cascade
		if child == nil {
			continue
		}
		child = s.registered(rel, child)
		dest := newKeys(child)
		if _, err := change(rel, child, dest.Interface()); err != nil {
			return err
		}
		childKeys := keysOf(dest)
		changed(ctx, child, childKeys...)
		if err := next(child, childKeys); err != nil {
			return err
		}
	}
	return nil
}

// newKeys returns a pointer to an empty slice of res's key type, for
// RETURNING to scan the keys of changed rows into.
func newKeys(res *introspect.Resource) reflect.Value {
	return reflect.New(reflect.SliceOf(res.PK.Type))
}

// keysOf lists the keys newKeys' slice received.
func keysOf(keys reflect.Value) []any {
	list := keys.Elem()
	out := make([]any, list.Len())
	for i := range out {
		out[i] = list.Index(i).Interface()
	}
	return out
}

// errStateUnchanged means a guarded state change matched no row.
var errStateUnchanged = errors.New("handlers: no row in the expected state")
