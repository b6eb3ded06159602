package framework

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/handlers"
)

// errUndo rolls an upsert's transaction back after one of its steps
// answered with an error, which is then the upsert's answer.
var errUndo = errors.New("framework: undo")

// upsert serves PUT /R/:id on a resource whose keys clients choose. It is
// the operations a client would otherwise send one by one, run in one
// transaction under a lock on the key: a create when no record has the
// key, else a replace (a PATCH of every writable field), after a restore
// when the record is soft-deleted and the request asks for it. Each step
// is the handler that serves it alone, override or generated, with its
// own authorization, hooks and checks; the answer is the last step's.
func (a *App) upsert(svc *handlers.Service, res *resource) echo.HandlerFunc {
	create, update, restore := a.operate(svc, res, OpCreate), a.operate(svc, res, OpUpdate), a.operate(svc, res, OpRestore)
	base := a.cfg.Prefix + "/" + res.desc.Name
	return func(c echo.Context) error {
		idText := c.Param("id")
		id, ok := svc.ParseKey(idText)
		if !ok {
			return handlers.Problemf(http.StatusNotFound, "%s %s: not a key of %s", res.desc.Name, idText, res.desc.Name)
		}
		// Who may do nothing here learns nothing: not whether the key is
		// taken, nor whether its record is deleted, and takes no lock.
		p := auth.FromContext(c.Request().Context())
		scopes, err := handlers.AllowedActions(a.authorizer, p, res.desc)
		if err != nil {
			return err
		}
		if scopes[auth.ActionCreate] == "" && scopes[auth.ActionUpdate] == "" {
			if p.Anonymous() {
				return auth.Unauthenticated("authentication is required to create or update " + res.desc.Name)
			}
			return handlers.Problemf(http.StatusForbidden, "you may not create or update %s", res.desc.Name)
		}
		// A deleted record only the callers who see every deleted one are
		// told of; to the others the key is taken, as a create finds it.
		seesDeleted := scopes[auth.ActionReadDeleted] == "all"
		wantRestore, createBody, replaceBody, err := svc.UpsertRequest(c, idText)
		if err != nil {
			return err
		}
		h := c.Request().Header
		ifMatch, ifNoneMatch := h.Get("If-Match"), h.Get("If-None-Match")
		if ifNoneMatch != "" && ifNoneMatch != "*" {
			return handlers.NewProblem(http.StatusBadRequest, "If-None-Match on PUT takes only *: create, never replace")
		}
		onlyIfMatch := http.Header{}
		if ifMatch != "" {
			onlyIfMatch.Set("If-Match", ifMatch)
		}
		item := base + "/" + url.PathEscape(idText)
		var answer handlers.BatchResult
		err = a.cfg.DB.RunInTx(c.Request().Context(), nil, func(ctx context.Context, tx bun.Tx) error {
			ctx = handlers.WithTx(ctx, tx)
			state, err := svc.LockRow(ctx, id)
			if err != nil {
				return svc.Failure(err)
			}
			if state == handlers.RowDeleted && !seesDeleted {
				state = handlers.RowHidden
			}
			step := func(h echo.HandlerFunc, method, path, idText string, body []byte, header http.Header) error {
				if answer, err = a.runRequest(c, ctx, h, method, path, idText, body, header); err != nil {
					return err
				}
				if answer.Status >= 400 {
					return errUndo
				}
				return nil
			}
			switch {
			case (state == handlers.RowMissing || state == handlers.RowHidden) && ifMatch != "":
				return handlers.NewProblem(http.StatusPreconditionFailed, "no record has this key, so none has the ETag If-Match names")
			case state == handlers.RowMissing || state == handlers.RowHidden:
				// A hidden record's key is taken: the create says so.
				return step(create, http.MethodPost, base, "", createBody, nil)
			case ifNoneMatch == "*":
				return handlers.NewProblem(http.StatusPreconditionFailed, "a record has this key, and If-None-Match: * creates only")
			case state == handlers.RowDeleted && !wantRestore:
				return handlers.Problemf(http.StatusConflict, "%s %s is soft-deleted: restore it first, or PUT with ?restore=true (needs restore)", res.desc.Name, idText)
			case state == handlers.RowDeleted:
				if err := step(restore, http.MethodPost, item+"/"+handlers.SegmentRestore, idText, nil, onlyIfMatch); err != nil {
					return err
				}
				// The precondition was the restore's; the record is still
				// locked.
				return step(update, http.MethodPatch, item, idText, replaceBody, http.Header{"If-Match": {"*"}})
			default:
				return step(update, http.MethodPatch, item, idText, replaceBody, onlyIfMatch)
			}
		})
		if err != nil && !errors.Is(err, errUndo) {
			var p *handlers.Problem
			if errors.As(err, &p) {
				return p
			}
			return svc.Failure(err)
		}
		out := c.Response().Header()
		for _, k := range []string{echo.HeaderContentType, "ETag", "Accept-Patch", echo.HeaderLocation, "Retry-After", echo.HeaderWWWAuthenticate} {
			if v := answer.Header.Get(k); v != "" {
				out.Set(k, v)
			}
		}
		return c.Blob(answer.Status, answer.Header.Get(echo.HeaderContentType), answer.Body)
	}
}
