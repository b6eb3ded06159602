package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
)

// Bulk operations act on every row a filter matches, in one transaction:
// DELETE /R?<filters> and POST /R/restore?<filters>. A filter is required,
// so that no request wipes a table by accident.

// pageOnlyParams make no sense for a bulk operation.
var pageOnlyParams = []string{paramLimit, paramOffset, paramPage, paramSort, paramCount, paramFields,
	paramInclude, paramCursor, paramIncludeDeleted, paramOnlyDeleted}

// bulkFilter checks the caller may do action, and parses the filters of a
// bulk request into a WHERE fragment that also keeps to the rows the grant
// reaches.
func (s *Service) bulkFilter(g *grants, r *http.Request, action string) (string, []any, error) {
	if _, err := g.require(action); err != nil {
		return "", nil, err
	}
	withDeleted := g.seesDeleted(s.res)
	params, err := queryParams(r)
	if err != nil {
		return "", nil, err
	}
	for _, name := range pageOnlyParams {
		if params.Has(name) {
			return "", nil, fieldProblem(name, "is not a parameter of a bulk operation")
		}
	}
	rq, err := parseReadQuery(params, s.res, withDeleted, s.ep.Limits, false)
	if err != nil {
		return "", nil, err
	}
	w, args, ok := rq.where(s.ep.ILike)
	if !ok {
		return "", nil, NewProblem(http.StatusBadRequest, "a bulk operation needs at least one filter")
	}
	if g.reach.cond != "" {
		w, args = w+" AND ("+g.reach.cond+")", append(args, g.reach.args...)
	}
	return w, args, nil
}

// BulkDelete serves DELETE /R?<filters>: soft-deletes (or, without a
// soft-delete column, deletes) every live row the filters match.
func BulkDelete(c *Context) error {
	res := c.svc.res
	w, args, err := c.svc.bulkFilter(&c.grants, c.Request(), auth.ActionDelete)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	hooks := c.svc.hooks
	permanent := !res.SoftDeletable()
	now := c.svc.deleteTime()
	var n int64
	err = c.svc.inTx(ctx, true, func(ctx context.Context, db bun.IDB) error {
		if live, liveArgs := res.SoftDelete.Live(); live != "" {
			// Live rows only, outside the caller's conditions.
			w, args = "("+w+") AND "+live, append(args, liveArgs...)
		}
		if hooks.BeforeDelete != nil {
			keys, err := c.svc.lockMatching(ctx, db, w, args)
			if err != nil {
				return err
			}
			if err := c.svc.runDeleteHook(ctx, db, &c.grants, hooks.BeforeDelete, keys, permanent); err != nil {
				return err
			}
			w, args = "? IN (?)", []any{res.PK.Ident, bun.In(keys)}
		}
		keys := newKeys(res)
		var err error
		if permanent {
			_, err = db.NewDelete().Model(res.New().Interface()).Where(w, args...).
				Returning("?", res.PK.Ident).Exec(ctx, keys.Interface())
		} else {
			_, err = softDeleteQuery(db, res, res.New().Interface(), now, c.grants.principal).
				Where(w, args...).Returning("?", res.PK.Ident).Exec(ctx, keys.Interface())
		}
		if err != nil {
			return err
		}
		ks := keysOf(keys)
		n = int64(len(ks))
		changed(ctx, res, ks...)
		if !permanent {
			if err := c.svc.cascadeDelete(ctx, db, res, ks, now, c.grants.principal); err != nil {
				return err
			}
		}
		return c.svc.runDeleteHook(ctx, db, &c.grants, hooks.AfterDelete, ks, permanent)
	})
	if err != nil {
		return c.DBError(err)
	}
	if permanent {
		return writeJSON(c, BulkDeleteResult{Success: true, Count: n})
	}
	return writeJSON(c, BulkDeleteResult{Success: true, SoftDeleted: true, Count: n})
}

// lockRow locks the row with key id (spelled idText in the request) when
// it also matches cond (with its args; "" for none) and the own-rows
// condition of g's operation, through lockMatching; a row that does not
// is a 404.
func (s *Service) lockRow(ctx context.Context, db bun.IDB, g *grants, id any, idText string, cond string, args ...any) error {
	res := s.res
	where, whereArgs := "? = ?", []any{res.PK.Ident, id}
	for _, extra := range []struct {
		cond string
		args []any
	}{{cond, args}, {g.reach.cond, g.reach.args}} {
		if extra.cond != "" {
			where, whereArgs = where+" AND ("+extra.cond+")", append(whereArgs, extra.args...)
		}
	}
	keys, err := s.lockMatching(ctx, db, where, whereArgs)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return notFound(res, idText)
	}
	return nil
}

// lockMatching returns the keys of the rows matching where, through a
// no-op UPDATE: the transaction takes the write lock before a hook reads
// anything, and no other writer can change the rows until it ends.
func (s *Service) lockMatching(ctx context.Context, db bun.IDB, where string, args []any) ([]any, error) {
	res := s.res
	keys := newKeys(res)
	_, err := unscoped(db.NewUpdate().Model(res.New().Interface()), res).
		Set("? = ?", res.PK.Ident, res.PK.Ident).Where(where, args...).
		Returning("?", res.PK.Ident).Exec(ctx, keys.Interface())
	return keysOf(keys), err
}

// BulkRestore serves POST /R/restore?<filters>: restores every deleted row
// the filters match, with their cascades. One unique collision aborts the
// whole batch with a 409: no row is skipped silently.
func BulkRestore(c *Context) error {
	res := c.svc.res
	w, args, err := c.svc.bulkFilter(&c.grants, c.Request(), auth.ActionRestore)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := now()
	var n int64
	err = c.svc.inTx(ctx, true, func(ctx context.Context, db bun.IDB) error {
		// A write first, which takes the write lock and returns each
		// row's deletion time for its cascades.
		rows := res.NewSlice()
		_, err := stampQuery(db, res, rows.Interface()).Where(w, args...).Exec(ctx)
		if err != nil {
			return err
		}
		list := rows.Elem()
		if list.Len() == 0 {
			return nil
		}
		hooks := c.svc.hooks
		byStamp := map[time.Time][]any{}
		var all []any
		for i := 0; i < list.Len(); i++ {
			key := res.PK.Value(list.Index(i)).Interface()
			stamp, _ := res.SoftDelete.StampOf(list.Index(i))
			byStamp[stamp] = append(byStamp[stamp], key)
			all = append(all, key)
		}
		if err := c.svc.runRestoreHook(ctx, db, &c.grants, hooks.BeforeRestore, all); err != nil {
			return err
		}
		r, err := restoreQuery(db, res, res.New().Interface(), now).
			Where("? IN (?)", res.PK.Ident, bun.In(all)).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		changed(ctx, res, all...)
		for stamp, keys := range byStamp {
			if err := c.svc.cascadeRestore(ctx, db, res, keys, stamp, now); err != nil {
				return err
			}
		}
		return c.svc.runRestoreHook(ctx, db, &c.grants, hooks.AfterRestore, all)
	})
	if err != nil {
		return c.DBError(err)
	}
	return writeJSON(c, BulkRestoreResult{Success: true, Restored: true, Count: n})
}
