package handlers

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Generated returns the framework's handler for op.
func Generated(op Operation) HandlerFunc {
	switch op {
	case OpList:
		return List
	case OpGet:
		return Get
	case OpCreate:
		return Create
	case OpUpdate:
		return Update
	case OpDelete:
		return Delete
	case OpRestore:
		return Restore
	case OpBulkDelete:
		return BulkDelete
	case OpBulkRestore:
		return BulkRestore
	}
	return nil
}

// List serves GET /R: live rows (all rows with includeDeleted=true, only
// deleted ones with onlyDeleted=true, for a caller allowed read_deleted),
// filtered, sorted and paginated.
func List(c *Context) error {
	rq, params, withDeleted, err := c.svc.readRequest(&c.grants, c.Request(), false)
	if err != nil {
		return err
	}
	res := c.svc.res
	includes, err := c.svc.includes(&c.grants, rq)
	if err != nil {
		return err
	}

	ctx := c.Request().Context()
	rows := res.NewSlice()
	// A list shows deleted rows only when asked to.
	listed := rq.rows()
	if listed == withDeletedRows && !rq.including() {
		listed = liveRows
	}
	// What the caller may see, worked out once for the total and the page:
	// the soft-delete and ownership predicates stand outside the caller's
	// conditions, so no condition can widen past them.
	v, vargs, _ := c.grants.visibility(res, rq.readScope, rq.deletedScope, listed)
	w, wargs, hasWhere := rq.where(c.svc.ep.ILike)
	// filtered selects the rows the request asks for, before paging.
	filtered := func(model any) *bun.SelectQuery {
		q := unscoped(c.svc.db(c.Request().Context()).NewSelect().Model(model), res)
		if hasWhere {
			q = q.Where(w, wargs...)
		}
		return where(q, v, vargs)
	}

	var total int64
	if rq.count {
		total, err = c.svc.listTotal(ctx, rq, listed,
			func() string {
				return c.svc.gen.FormatQuery(w+" AND "+v, append(wargs[:len(wargs):len(wargs)], vargs...)...)
			},
			func() (int64, error) { return filtered(rows.Interface()).Count(ctx) })
		if err != nil {
			return c.DBError(err)
		}
	}
	// A cursor is bound to the query, the caller and what the caller may
	// see. The fingerprint is worked out when a cursor is first read or
	// written, and once: a page read after a cursor writes the next one.
	var (
		bound    cursorScope
		hasBound bool
	)
	cursorFor := func() cursorScope {
		if !hasBound {
			bound = cursorScope{query: fingerprint(res.Name, params), principal: c.Principal().ID, read: rq.readScope, deleted: rq.deletedScope}
			hasBound = true
		}
		return bound
	}
	q := filtered(rows.Interface())
	if rq.cursor != "" {
		values, err := decodeCursor(c.svc.ep.CursorKey, cursorFor(), rq.sort, rq.cursor)
		if err != nil {
			return err
		}
		q = afterKeys(q, rq.sort, values)
	}
	// One row more than the page tells whether there is a next page.
	q = orderBy(q, rq.sort).Limit(int64(rq.limit + 1)).Offset(int64(rq.offset))
	if err := q.Scan(ctx); err != nil {
		return c.DBError(err)
	}
	list := rows.Elem()
	next := ""
	if list.Len() > rq.limit {
		list = list.Slice(0, rq.limit)
		if next, err = encodeCursor(c.svc.ep.CursorKey, cursorFor(), rq.sort, list.Index(rq.limit-1)); err != nil {
			return err
		}
	}
	if err := c.svc.loadIncludes(ctx, &c.grants, list, includes); err != nil {
		return c.DBError(err)
	}

	fields := rq.output(res.Exposed(withDeleted))
	b := append(make([]byte, 0, 256+list.Len()*256), listOpen...)
	for i := 0; i < list.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendRecord(b, list.Index(i), fields, includes); err != nil {
			return err
		}
	}
	meta := ListMeta{Limit: rq.limit, NextCursor: next}
	if rq.count {
		meta.Total = &total
	}
	if rq.cursor == "" {
		meta.Offset = &rq.offset
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	b = append(append(append(b, listMeta...), raw...), '}')
	return c.Blob(http.StatusOK, jsonContentType, b)
}

// readRequest checks read permission and parses a list (or, with item, a
// get) request. withDeleted says whether the caller may read deleted rows;
// a request that asks for them without that permission is refused here.
func (s *Service) readRequest(g *grants, r *http.Request, item bool) (rq *readQuery, params url.Values, withDeleted bool, err error) {
	read, err := g.require(auth.ActionRead)
	if err != nil {
		return nil, nil, false, err
	}
	res := s.res
	readDeleted := g.readDeleted(res)
	withDeleted = readDeleted != scopeNone
	if params, err = queryParams(r); err != nil {
		return nil, nil, false, err
	}
	if rq, err = parseReadQuery(params, res, withDeleted, s.ep.Limits, item); err != nil {
		return nil, nil, false, err
	}
	if rq.asksForDeleted() && !withDeleted {
		return nil, nil, false, g.deny(auth.ActionReadDeleted)
	}
	rq.readScope, rq.deletedScope = read, readDeleted
	return rq, params, withDeleted, nil
}

// rows says which deleted rows a read asks for.
func (rq *readQuery) rows() deletedRows {
	switch {
	case rq.onlyDeleted:
		return onlyDeletedRows
	case rq.includeDeleted == nil || *rq.includeDeleted:
		return withDeletedRows
	}
	return liveRows
}

// Get serves GET /R/:id. A soft-deleted row is a 404 unless the caller may
// read deleted rows (and did not ask for includeDeleted=false).
func Get(c *Context) error {
	rq, params, withDeleted, err := c.svc.readRequest(&c.grants, c.Request(), true)
	if err != nil {
		return err
	}
	res := c.svc.res
	includes, err := c.svc.includes(&c.grants, rq)
	if err != nil {
		return err
	}
	id, ok := parseID(res, c.ID())
	if !ok {
		return c.NotFound(c.ID())
	}
	// A one-row slice, so that includes load the same way as for a list.
	rows := res.NewSlice()
	q := unscoped(c.svc.db(c.Request().Context()).NewSelect().Model(rows.Interface()), res).Where("? = ?", res.PK.Ident, id)
	// A get shows a deleted row to whoever may read it, unless the request
	// says includeDeleted=false.
	v, args, _ := c.grants.visibility(res, rq.readScope, rq.deletedScope, rq.rows())
	q = where(q, v, args)
	ctx := c.Request().Context()
	if err := q.Limit(1).Scan(ctx); err != nil {
		return c.DBError(err)
	}
	if rows.Elem().Len() == 0 {
		return c.NotFound(c.ID())
	}
	row := rows.Elem().Index(0)
	// The ETag is the record's: an answer that leaves fields out or
	// embeds other records is another representation, so it has none.
	if !params.Has(paramFields) && len(includes) == 0 {
		tag := c.svc.setETag(c, &c.grants, row)
		if h := c.Request().Header.Get("If-None-Match"); h != "" && matchesETag(h, tag, false) {
			return c.NoContent(http.StatusNotModified)
		}
	}
	if err := c.svc.loadIncludes(ctx, &c.grants, rows.Elem(), includes); err != nil {
		return c.DBError(err)
	}
	return writeRecord(c, http.StatusOK, row, rq.output(res.Exposed(withDeleted)), includes)
}

// Create serves POST /R: the body's writable fields, timestamps set by the
// server, the soft-delete column always NULL.
func Create(c *Context) error {
	s, err := c.grants.require(auth.ActionCreate)
	if err != nil {
		return err
	}
	if _, err := c.Query(); err != nil {
		return err
	}
	res := c.svc.res
	rec := res.New()
	set, err := decodeBody(c, res, rec.Elem(), c.grants.seesDeleted(res))
	if err != nil {
		return err
	}
	if err := c.grants.checkOwnerSet(rec.Elem(), set, s, auth.ActionCreate); err != nil {
		return err
	}
	if me, ok := c.grants.ownerValue(res); ok && !containsField(set, res.Owner) {
		// The owner is stamped from the caller unless the body names one.
		setValue(res.Owner.Value(rec.Elem()), me)
	}
	if err := checkNewKey(res, rec.Elem(), set); err != nil {
		return err
	}
	// On create every field counts as set: a required field left out is
	// as wrong as one sent empty.
	if err := c.svc.validateFields(rec.Elem(), res.Fields); err != nil {
		return err
	}
	now := now()
	for _, f := range []*introspect.Field{res.CreatedAt, res.UpdatedAt} {
		if f != nil {
			f.SetTime(f.Value(rec.Elem()), now)
		}
	}
	ctx := c.Request().Context()
	hooks := c.svc.hooks
	// One statement needs no transaction; parent checks and hooks do.
	err = c.svc.inTx(ctx, c.svc.hasHooks || c.svc.checksParents, func(ctx context.Context, tx bun.IDB) error {
		if hooks.BeforeCreate != nil {
			if err := hooks.BeforeCreate(ctx, c.svc.event(tx, &c.grants), rec.Interface()); err != nil {
				return hookErr(err)
			}
		}
		// The parents first, locked until commit (see checkParents).
		if err := c.svc.checkParents(ctx, tx, &c.grants, rec.Elem(), res.Fields); err != nil {
			return err
		}
		q := tx.NewInsert().Model(rec.Interface()).Returning("*")
		if res.SoftDeletable() {
			q = res.SoftDelete.InsertLive(q)
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if hooks.AfterCreate != nil {
			return hookErr(hooks.AfterCreate(ctx, c.svc.event(tx, &c.grants), rec.Interface()))
		}
		return nil
	})
	if err != nil {
		return c.svc.writeError(ctx, &c.grants, err, rec.Elem(), res.Fields)
	}
	pk := res.PK.Value(rec.Elem())
	c.Response().Header().Set("Location", strings.TrimSuffix(c.Request().URL.Path, "/")+"/"+formatKey(pk))
	c.svc.setETag(c, &c.grants, rec.Elem())
	return writeRecord(c, http.StatusCreated, rec.Elem(), res.Exposed(c.grants.seesDeleted(res)), nil)
}

// checkNewKey refuses a create that leaves a client-chosen key out, sends
// it empty or names a path segment of the framework's own routes, which
// could never be read back at its URL.
func checkNewKey(res *introspect.Resource, rec reflect.Value, set []*introspect.Field) error {
	if res.PK.ReadOnly {
		return nil // generated by the database
	}
	msg := ""
	key := res.PK.Value(rec)
	switch {
	case !containsField(set, res.PK):
		msg = "is required: the key is chosen by the client"
	case key.Kind() == reflect.String && key.String() == "":
		msg = "must not be empty"
	case key.Kind() == reflect.String && slices.Contains(reservedKeys, key.String()):
		msg = "must not be " + strconv.Quote(key.String()) + ", which names a route of the API"
	case key.Kind() == reflect.String && (key.String() == "." || key.String() == ".."):
		// Browsers and HTTP libraries remove dot segments from a path
		// before they send it, so no request could name the row.
		msg = "must not be " + strconv.Quote(key.String()) + ", which clients remove from paths"
	case key.Kind() == reflect.String && url.PathEscape(key.String()) != key.String():
		// A key a path must escape ("a/b", "50%") could not be named in
		// one: the router matches the path as sent.
		msg = "must be usable in a URL path as it is: ASCII letters, digits and -._~$&+=:@ only"
	default:
		return nil
	}
	return unprocessable([]FieldError{{Field: res.PK.JSON, Message: msg}})
}

// Update serves PATCH /R/:id: only the fields in the body change, and only
// on a live row.
func Update(c *Context) error {
	s, err := c.grants.require(auth.ActionUpdate)
	if err != nil {
		return err
	}
	if _, err := c.Query(); err != nil {
		return err
	}
	ifMatch := ifMatchOf(c.Request())
	if err := c.svc.requirePrecondition(ifMatch); err != nil {
		return err
	}
	res := c.svc.res
	rec := res.New()
	set, err := decodeBody(c, res, rec.Elem(), c.grants.seesDeleted(res))
	if err != nil {
		return err
	}
	if containsField(set, res.PK) {
		// A key names the row in URLs and references; it never changes,
		// so on update it is read-only like a generated one.
		return fieldProblem(res.PK.JSON, "read-only field")
	}
	if err := c.grants.checkOwnerSet(rec.Elem(), set, s, auth.ActionUpdate); err != nil {
		return err
	}
	if err := c.svc.validateFields(rec.Elem(), set); err != nil {
		return err
	}
	id, ok := parseID(res, c.ID())
	if !ok {
		return c.NotFound(c.ID())
	}
	if res.UpdatedAt != nil && len(set) > 0 {
		res.UpdatedAt.SetTime(res.UpdatedAt.Value(rec.Elem()), now())
		set = append(set, res.UpdatedAt)
	}
	ctx := c.Request().Context()
	if len(set) == 0 {
		// Nothing to change: answer with the record as it is, as a merge
		// patch of {} would, once it meets the precondition as a change
		// would have to.
		err := c.svc.inTx(ctx, ifMatch != "", func(ctx context.Context, db bun.IDB) error {
			if err := c.svc.checkIfMatch(ctx, db, &c.grants, ifMatch, id, c.ID(), OpUpdate, false); err != nil {
				return err
			}
			q := unscoped(db.NewSelect().Model(rec.Interface()), res).Where("? = ?", res.PK.Ident, id)
			return ownRows(&c.grants, liveOnly(res, q)).Scan(ctx)
		})
		if errors.Is(err, sql.ErrNoRows) {
			return c.NotFound(c.ID())
		}
		if err != nil {
			return c.DBError(err)
		}
		c.svc.setETag(c, &c.grants, rec.Elem())
		return writeRecord(c, http.StatusOK, rec.Elem(), res.Exposed(c.grants.seesDeleted(res)), nil)
	}
	hooks := c.svc.hooks
	// One statement needs no transaction; parent checks, hooks and a
	// precondition do.
	err = c.svc.inTx(ctx, c.svc.hasHooks || c.svc.checksParents || ifMatch != "", func(ctx context.Context, tx bun.IDB) error {
		// The precondition first: it locks the row, as the write would.
		if err := c.svc.checkIfMatch(ctx, tx, &c.grants, ifMatch, id, c.ID(), OpUpdate, false); err != nil {
			return err
		}
		// The parents before the row, in the order a cascading delete
		// locks them (see checkParents).
		if err := c.svc.checkParents(ctx, tx, &c.grants, rec.Elem(), set); err != nil {
			return err
		}
		if hooks.BeforeUpdate != nil {
			// The hook runs only for a row the update will change.
			cond, args := res.SoftDelete.Live()
			if err := c.svc.lockRow(ctx, tx, &c.grants, id, c.ID(), cond, args...); err != nil {
				return err
			}
			names := make([]string, 0, len(set))
			for _, f := range set {
				names = append(names, f.JSON)
			}
			if err := hooks.BeforeUpdate(ctx, c.svc.event(tx, &c.grants), id, rec.Interface(), names); err != nil {
				return hookErr(err)
			}
			// The hook may have changed a reference.
			if err := c.svc.checkParents(ctx, tx, &c.grants, rec.Elem(), set); err != nil {
				return err
			}
		}
		q := unscoped(tx.NewUpdate().Model(rec.Interface()), res).Where("? = ?", res.PK.Ident, id)
		for _, f := range set {
			q = q.Set("? = ?", f.Ident, f.Value(rec.Elem()).Interface())
		}
		r, err := ownRows(&c.grants, liveOnly(res, q)).Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return c.NotFound(c.ID())
		}
		if hooks.AfterUpdate != nil {
			return hookErr(hooks.AfterUpdate(ctx, c.svc.event(tx, &c.grants), rec.Interface()))
		}
		return nil
	})
	if err != nil {
		return c.svc.writeError(ctx, &c.grants, err, rec.Elem(), set)
	}
	c.svc.setETag(c, &c.grants, rec.Elem())
	return writeRecord(c, http.StatusOK, rec.Elem(), res.Exposed(c.grants.seesDeleted(res)), nil)
}

// Delete serves DELETE /R/:id: a soft delete that only matches a live row
// when the resource has a soft-delete column, a real DELETE otherwise.
func Delete(c *Context) error {
	params, err := c.Query(paramPermanent)
	if err != nil {
		return err
	}
	permanent, err := parsePermanent(params)
	if err != nil {
		return err
	}
	ifMatch := ifMatchOf(c.Request())
	if permanent {
		return deletePermanently(c, ifMatch)
	}
	if _, err := c.grants.require(auth.ActionDelete); err != nil {
		return err
	}
	if err := c.svc.requirePrecondition(ifMatch); err != nil {
		return err
	}
	res := c.svc.res
	id, ok := parseID(res, c.ID())
	if !ok {
		return c.NotFound(c.ID())
	}
	ctx := c.Request().Context()
	if !res.SoftDeletable() {
		if err := c.svc.removeRow(ctx, &c.grants, id, c.ID(), ifMatch); err != nil {
			return err
		}
		return writeDeleted(c, EnvelopeDeleted)
	}
	now := c.svc.deleteTime()
	hooks := c.svc.hooks
	err = c.svc.inTx(ctx, c.svc.cascades || c.svc.hasHooks || ifMatch != "", func(ctx context.Context, db bun.IDB) error {
		if err := c.svc.checkIfMatch(ctx, db, &c.grants, ifMatch, id, c.ID(), OpDelete, false); err != nil {
			return err
		}
		if hooks.BeforeDelete != nil {
			// Lock the live row first: the hook runs only for a row that
			// will change, and reads nothing before the write lock.
			cond, args := res.SoftDelete.Live()
			if err := c.svc.lockRow(ctx, db, &c.grants, id, c.ID(), cond, args...); err != nil {
				return err
			}
			if err := c.svc.runDeleteHook(ctx, db, &c.grants, hooks.BeforeDelete, []any{id}, false); err != nil {
				return err
			}
		}
		r, err := ownRows(&c.grants, softDeleteQuery(db, res, res.New().Interface(), now, c.grants.principal).
			Where("? = ?", res.PK.Ident, id)).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return c.NotFound(c.ID())
		}
		changed(ctx, res, id)
		if err := c.svc.cascadeDelete(ctx, db, res, []any{id}, now, c.grants.principal); err != nil {
			return err
		}
		return c.svc.runDeleteHook(ctx, db, &c.grants, hooks.AfterDelete, []any{id}, false)
	})
	if err != nil {
		return c.DBError(err)
	}
	return writeDeleted(c, EnvelopeSoftDeleted)
}

const paramPermanent = "permanent"

// parsePermanent reads the only parameter DELETE /R/:id takes.
func parsePermanent(params url.Values) (bool, error) {
	if !params.Has(paramPermanent) {
		return false, nil
	}
	return parseStrictBool(paramPermanent, params.Get(paramPermanent))
}

// deletePermanently serves DELETE /R/:id?permanent=true: the row goes,
// live or deleted. It needs hard_delete; it is the erasure path for
// requests such as GDPR's.
func deletePermanently(c *Context, ifMatch string) error {
	if _, err := c.grants.require(auth.ActionHardDelete); err != nil {
		return err
	}
	if err := c.svc.requirePrecondition(ifMatch); err != nil {
		return err
	}
	res := c.svc.res
	id, ok := parseID(res, c.ID())
	if !ok {
		return c.NotFound(c.ID())
	}
	if err := c.svc.removeRow(c.Request().Context(), &c.grants, id, c.ID(), ifMatch); err != nil {
		return err
	}
	return writeDeleted(c, EnvelopeHardDeleted)
}

// removeRow deletes the row with key id (spelled idText in the request)
// for good, live or soft-deleted, with the delete hooks (permanent true)
// around it, when it meets the precondition ifMatch ("" for none): a
// soft-deleted row only when the caller may see it.
func (s *Service) removeRow(ctx context.Context, g *grants, id any, idText, ifMatch string) error {
	res := s.res
	hooks := s.hooks
	cascades := s.cascades
	err := s.inTx(ctx, s.hasHooks || cascades || ifMatch != "", func(ctx context.Context, db bun.IDB) error {
		if err := s.checkIfMatch(ctx, db, g, ifMatch, id, idText, OpDelete, true); err != nil {
			return err
		}
		if hooks.BeforeDelete != nil || cascades {
			// The row first, within the caller's reach: nothing else is
			// touched for a row that is missing or someone else's.
			if err := s.lockRow(ctx, db, g, id, idText, ""); err != nil {
				return err
			}
		}
		if err := s.runDeleteHook(ctx, db, g, hooks.BeforeDelete, []any{id}, true); err != nil {
			return err
		}
		if err := s.removeCascaded(ctx, db, res, []any{id}); err != nil {
			return err
		}
		r, err := ownRows(g, unscoped(db.NewDelete().Model(res.New().Interface()), res).
			Where("? = ?", res.PK.Ident, id)).ForceDelete().Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return notFound(res, idText)
		}
		changed(ctx, res, id)
		return s.runDeleteHook(ctx, db, g, hooks.AfterDelete, []any{id}, true)
	})
	if err != nil {
		return s.referencedError(ctx, err, id)
	}
	return nil
}

// Restore serves POST /R/:id/restore. The permission is checked before the
// record is looked up, so the answer reveals nothing to a caller who may
// not restore.
func Restore(c *Context) error {
	if _, err := c.grants.require(auth.ActionRestore); err != nil {
		return err
	}
	if _, err := c.Query(); err != nil {
		return err
	}
	res := c.svc.res
	if !res.SoftDeletable() {
		return NewProblem(http.StatusNotFound, "the resource has no soft deletes")
	}
	ifMatch := ifMatchOf(c.Request())
	if err := c.svc.requirePrecondition(ifMatch); err != nil {
		return err
	}
	id, ok := parseID(res, c.ID())
	if !ok {
		return c.NotFound(c.ID())
	}
	ctx := c.Request().Context()
	rec := res.New()
	now := now()
	cascades := hasCascades(res)
	hooks := c.svc.hooks
	err := c.svc.inTx(ctx, cascades || c.svc.hasHooks || ifMatch != "", func(ctx context.Context, db bun.IDB) error {
		if err := c.svc.checkIfMatch(ctx, db, &c.grants, ifMatch, id, c.ID(), OpRestore, false); err != nil {
			return err
		}
		if hooks.BeforeRestore != nil {
			deleted, args := res.SoftDelete.Deleted()
			if err := c.svc.lockRow(ctx, db, &c.grants, id, c.ID(), deleted, args...); err != nil {
				var notFound *Problem
				if errors.As(err, &notFound) {
					return errStateUnchanged
				}
				return err
			}
			if err := c.svc.runRestoreHook(ctx, db, &c.grants, hooks.BeforeRestore, []any{id}); err != nil {
				return err
			}
		}
		var stamp time.Time
		if cascades {
			// A write first, so the transaction holds the write lock before
			// it reads anything; it returns the deletion time the cascade
			// restores by.
			row := res.New()
			r, err := ownRows(&c.grants, stampQuery(db, res, row.Interface())).
				Where("? = ?", res.PK.Ident, id).Exec(ctx)
			if errors.Is(err, sql.ErrNoRows) {
				return errStateUnchanged
			}
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 0 {
				return errStateUnchanged
			}
			stamp, _ = res.SoftDelete.StampOf(row.Elem())
		}
		r, err := ownRows(&c.grants, restoreQuery(db, res, rec.Interface(), now).
			Where("? = ?", res.PK.Ident, id)).Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errStateUnchanged
		}
		changed(ctx, res, id)
		if err := c.svc.cascadeRestore(ctx, db, res, []any{id}, stamp, now); err != nil {
			return err
		}
		return c.svc.runRestoreHook(ctx, db, &c.grants, hooks.AfterRestore, []any{id})
	})
	if errors.Is(err, errStateUnchanged) {
		// Someone else's row is "not found", like a missing one.
		exists, err := ownRows(&c.grants, unscoped(c.svc.db(ctx).NewSelect().Model(res.New().Interface()), res).
			Where("? = ?", res.PK.Ident, id)).Exists(ctx)
		if err != nil {
			return c.DBError(err)
		}
		if exists {
			return Problemf(http.StatusConflict, "%s %s is not deleted", res.Name, c.ID())
		}
		return c.NotFound(c.ID())
	}
	if err != nil {
		return c.DBError(err)
	}
	c.svc.setETag(c, &c.grants, rec.Elem())
	return writeRecord(c, http.StatusOK, rec.Elem(), res.Exposed(c.grants.seesDeleted(res)), nil, Member{Key: RestoredMember, Value: true})
}

// includes resolves the request's ?include=, if any.
func (s *Service) includes(g *grants, rq *readQuery) ([]*include, error) {
	if rq.include == "" {
		return nil, nil
	}
	return s.parseIncludes(g, rq.include, rq.including())
}

// unscoped switches off bun's own soft-delete filter on models that carry
// bun's soft_delete tag: the framework applies its own predicate, the same
// for every model, outside any group of the caller's conditions.
func unscoped[Q interface{ WhereAllWithDeleted() Q }](q Q, res *introspect.Resource) Q {
	if res.Table.SoftDeleteField != nil {
		return q.WhereAllWithDeleted()
	}
	return q
}

// liveOnly limits any query to live rows of the resource being served.
func liveOnly[Q interface {
	Where(string, ...any) Q
}](res *introspect.Resource, q Q) Q {
	cond, args := res.SoftDelete.Live()
	return where(q, cond, args)
}

// deletedBy is the value recorded in a deleted-by column: the caller's id,
// as a number for an integer column; NULL when there is no id to record,
// or when the id is not the canonical spelling of one ("02").
func deletedBy(f *introspect.Field, p auth.Principal) any {
	if f == nil {
		return nil
	}
	if v, ok := canonicalKey(f, p.ID); ok {
		return v
	}
	return nil
}

// now is the time stamped on writes, truncated to the microsecond precision
// that databases store, so that the response shows what was stored.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func formatKey(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return formatKey(v.Elem())
	}
	return url.PathEscape(v.String())
}

// Counter reads the number of live and of soft-deleted rows of a
// resource's table, which the database keeps right, and the table's write
// version, which every committed write raises. An error means the numbers
// are not known (the database was not migrated by this app, say): the
// list then counts.
type Counter interface {
	Counts(ctx context.Context, res *introspect.Resource) (live, deleted int64, err error)
	Version(ctx context.Context, res *introspect.Resource) (int64, error)
}

// listTotal is the total of a list of the rows listed: read from the
// counts table when the request has no filters and the caller sees those
// rows whole (not only their own), else counted, or taken from the
// service's totals when the table has not changed since (see totals).
// key returns the count's conditions with their values, which key it.
func (s *Service) listTotal(ctx context.Context, rq *readQuery, listed deletedRows, key func() string, count func() (int64, error)) (int64, error) {
	res := s.res
	// The counts are of whole tables: a caller limited to their own rows,
	// in what the list shows, is counted.
	ownOnly := rq.readScope == scopeOwn || (res.SoftDeletable() && listed != liveRows && rq.deletedScope == scopeOwn)
	if s.ep.Counts == nil {
		return count()
	}
	if rq.filtered() || ownOnly {
		return s.totals.get(ctx, s.ep.Counts, res, key(), count)
	}
	live, deleted, err := s.ep.Counts.Counts(ctx, res)
	switch {
	case err != nil:
		// No row or no table: the database was not migrated by this app.
		// A count is right either way; a real fault shows there.
		return count()
	case !res.SoftDeletable():
		return live, nil
	case listed == onlyDeletedRows:
		return deleted, nil
	case listed == withDeletedRows && rq.deletedScope != scopeNone:
		return live + deleted, nil
	}
	return live, nil
}
