package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// OpUpsert serves PUT /R/:id on resources whose keys clients choose: it
// creates the record with that key, or replaces the one there.
const OpUpsert Operation = "upsert"

// paramRestore asks a PUT on a soft-deleted record to restore it too.
const paramRestore = "restore"

// UpsertSpec is the operation of PUT /R/:id on res, or false when the
// database chooses res's keys: a PUT could then not name a record before
// it exists, so such resources are created with POST and replaced field
// by field with PATCH.
func UpsertSpec(res *introspect.Resource) (Spec, bool) {
	if res.PK.ReadOnly {
		return Spec{}, false
	}
	title := exportedName(res.Name)
	params := []Param{
		{Name: "id", In: "path", Type: ParamField, Field: res.PK, Required: true, Description: "The record's key."},
		{Name: "If-Match", In: "header", Type: ParamString, Description: "Replace only a record that has this ETag (* for any that is there); else 412."},
		{Name: "If-None-Match", In: "header", Type: ParamString, Description: "* creates only: 412 when a record has the key."},
	}
	if res.SoftDeletable() {
		params = append(params, Param{Name: paramRestore, In: "query", Type: ParamBoolean, Default: "false", Requires: auth.ActionRestore,
			Description: "Replace a soft-deleted record and restore it (needs restore); without it, such a record is a 409."})
	}
	preconditions := []int{http.StatusPreconditionFailed}
	if res.RequireIfMatch {
		preconditions = append(preconditions, http.StatusPreconditionRequired)
	}
	return Spec{
		Op: OpUpsert, Resource: res, ID: "upsert" + title, Method: http.MethodPut, Path: "/" + res.Name + "/:id",
		Summary: "Create a record of " + res.Name + " with this key, or replace the one there",
		Params:  params, Body: BodyReplace, Action: auth.ActionCreate, OrAction: auth.ActionUpdate,
		Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeRecord}, {Status: http.StatusCreated, Envelope: EnvelopeRecord}},
			problems(commonProblems, []int{http.StatusNotFound, http.StatusConflict}, bodyProblems, preconditions)...),
	}, true
}

// RowState is what an upsert finds under its key.
type RowState int

// Row states.
const (
	RowMissing RowState = iota
	RowLive
	RowDeleted
	// RowHidden is a deleted record the caller may not be told of.
	RowHidden
)

// LockRow locks the record with key id, in the transaction of ctx, and
// says whether it is there and whether it is soft-deleted; it sees every
// record, whoever owns it, since the key is taken either way.
func (s *Service) LockRow(ctx context.Context, id any) (RowState, error) {
	db := s.db(ctx)
	if s.ep.RowLocks {
		// A key no row has yet locks nothing by a row lock: two creates
		// of it would race to the unique index, or deadlock. The key's
		// advisory lock, held to the end of the transaction, queues them.
		if _, err := db.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
			s.res.Name+"/"+fmt.Sprint(id)); err != nil {
			return RowMissing, err
		}
	}
	keys, err := s.lockMatching(ctx, db, "? = ?", []any{s.res.PK.Ident, id})
	if err != nil || len(keys) == 0 {
		return RowMissing, err
	}
	if !s.res.SoftDeletable() {
		return RowLive, nil
	}
	deleted, args := s.res.SoftDelete.Deleted()
	gone, err := unscoped(db.NewSelect().Model(s.res.New().Interface()), s.res).
		Where("? = ?", s.res.PK.Ident, id).Where(deleted, args...).Exists(ctx)
	if err != nil {
		return RowMissing, err
	}
	if gone {
		return RowDeleted, nil
	}
	return RowLive, nil
}

// ParseKey reads the key of a path, or false when it names no record.
func (s *Service) ParseKey(text string) (any, bool) { return parseID(s.res, text) }

// UpsertRequest reads a PUT's query string and body for the key idText:
// whether it asks to restore, and the body as a create of that key takes
// it (the key set) and as a replace does (every writable field the body
// leaves out set to null where it may be, else to its zero value, since a
// PUT states the whole record).
func (s *Service) UpsertRequest(c echo.Context, idText string) (restore bool, create, replace []byte, err error) {
	r := c.Request()
	params, err := queryParams(r)
	if err != nil {
		return false, nil, nil, err
	}
	if err := checkParams(params, []string{paramRestore}); err != nil {
		return false, nil, nil, err
	}
	if params.Has(paramRestore) {
		if restore, err = parseStrictBool(paramRestore, params.Get(paramRestore)); err != nil {
			return false, nil, nil, err
		}
	}
	if err := checkJSONBody(c); err != nil {
		return false, nil, nil, err
	}
	raw, err := readBody(r)
	if err != nil {
		return false, nil, nil, err
	}
	var body map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		return false, nil, nil, NewProblem(http.StatusBadRequest, "the request body must be a JSON object")
	}
	pk := s.res.PK
	var key json.RawMessage
	if pk.Kind == introspect.KindString {
		key, _ = json.Marshal(idText)
	} else {
		key = json.RawMessage(idText)
	}
	if sent, ok := body[pk.JSON]; ok {
		if text, err := keyText(sent); err != nil || text != idText {
			return false, nil, nil, fieldProblem(pk.JSON, "must be the key of the path, or left out")
		}
	}
	body[pk.JSON] = key
	if create, err = json.Marshal(body); err != nil {
		return false, nil, nil, err
	}
	delete(body, pk.JSON) // a key never changes: PATCH refuses it
	for _, f := range s.res.Fields {
		if _, ok := body[f.JSON]; ok || f.Hidden || f.ReadOnly || f == pk || s.res.IsDeletionField(f) || f == s.res.Owner {
			continue
		}
		if f.Nullable {
			body[f.JSON] = json.RawMessage("null")
			continue
		}
		zero, err := json.Marshal(reflect.Zero(f.Type).Interface())
		if err != nil {
			return false, nil, nil, err
		}
		body[f.JSON] = zero
	}
	replace, err = json.Marshal(body)
	return restore, create, replace, err
}

// Failure is what a database error of one of the service's statements
// answers: a problem, never the driver's text (see Context.DBError).
func (s *Service) Failure(err error) error { return s.dbError(err) }
