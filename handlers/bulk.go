package handlers

import (
	"context"
	"net/http"
	"strconv"
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

// bulkFilter parses the filters of a bulk request into a WHERE fragment.
func (c *Context) bulkFilter(withDeleted bool) (string, []any, error) {
	params, err := c.params()
	if err != nil {
		return "", nil, err
	}
	for _, name := range pageOnlyParams {
		if params.Has(name) {
			return "", nil, fieldProblem(name, "is not a parameter of a bulk operation")
		}
	}
	rq, err := parseReadQuery(params, c.ep.Resource, withDeleted, c.ep.Limits, false)
	if err != nil {
		return "", nil, err
	}
	w, args, ok := rq.where()
	if !ok {
		return "", nil, NewProblem(http.StatusBadRequest, "a bulk operation needs at least one filter")
	}
	return w, args, nil
}

// BulkDelete serves DELETE /R?<filters>: soft-deletes (or, without a
// soft-delete column, deletes) every live row the filters match.
func BulkDelete(c *Context) error {
	if err := c.Require(auth.ActionDelete); err != nil {
		return err
	}
	res := c.ep.Resource
	w, args, err := c.bulkFilter(res.SoftDeletable() && c.Can(auth.ActionReadDeleted))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if !res.SoftDeletable() {
		r, err := c.ep.DB.NewDelete().Model(res.New().Interface()).Where(w, args...).Exec(ctx)
		if err != nil {
			return c.DBError(err)
		}
		n, _ := r.RowsAffected()
		return c.bulkAnswer(`{"success":true,"softDeleted":false,"count":`, n)
	}
	now := now()
	var n int64
	err = c.inTx(ctx, true, func(ctx context.Context, db bun.IDB) error {
		keys := newKeys(res)
		_, err := softDeleteQuery(db, res, res.New().Interface(), now, c.principal).
			Where(w, args...).Returning("?", res.PK.Ident).Exec(ctx, keys.Interface())
		if err != nil {
			return err
		}
		ks := keysOf(keys)
		n = int64(len(ks))
		return c.cascadeDelete(ctx, db, res, ks, now, c.principal)
	})
	if err != nil {
		return c.DBError(err)
	}
	return c.bulkAnswer(`{"success":true,"softDeleted":true,"count":`, n)
}

// BulkRestore serves POST /R/restore?<filters>: restores every deleted row
// the filters match, with their cascades. One unique collision aborts the
// whole batch with a 409: no row is skipped silently.
func BulkRestore(c *Context) error {
	if err := c.Require(auth.ActionRestore); err != nil {
		return err
	}
	res := c.ep.Resource
	w, args, err := c.bulkFilter(c.Can(auth.ActionReadDeleted))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := now()
	var n int64
	err = c.inTx(ctx, true, func(ctx context.Context, db bun.IDB) error {
		// A write first, which takes the write lock and returns each
		// row's deletion time for its cascades.
		rows := res.NewSlice()
		_, err := unscoped(db.NewUpdate().Model(rows.Interface()), res).
			Set("? = ?", res.SoftDelete.Ident, res.SoftDelete.Ident).
			Where(w, args...).Where("? IS NOT NULL", res.SoftDelete.Ident).
			Returning("?, ?", res.PK.Ident, res.SoftDelete.Ident).Exec(ctx)
		if err != nil {
			return err
		}
		list := rows.Elem()
		if list.Len() == 0 {
			return nil
		}
		byStamp := map[time.Time][]any{}
		var all []any
		for i := 0; i < list.Len(); i++ {
			key := res.PK.Value(list.Index(i)).Interface()
			stamp, _ := res.SoftDelete.TimeOf(res.SoftDelete.Value(list.Index(i)))
			byStamp[stamp] = append(byStamp[stamp], key)
			all = append(all, key)
		}
		r, err := restoreQuery(db, res, res.New().Interface(), now).
			Where("? IN (?)", res.PK.Ident, bun.In(all)).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		for stamp, keys := range byStamp {
			if err := c.cascadeRestore(ctx, db, res, keys, stamp, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return c.DBError(err)
	}
	return c.bulkAnswer(`{"success":true,"restored":true,"count":`, n)
}

func (c *Context) bulkAnswer(prefix string, n int64) error {
	b := strconv.AppendInt([]byte(prefix), n, 10)
	return c.Blob(http.StatusOK, jsonContentType, append(b, '}'))
}
