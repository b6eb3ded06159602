package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/internal/handlers"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// batchSpec is the operation of POST /batch.
func (a *App) batchSpec() handlers.Spec {
	return handlers.Spec{
		Op: handlers.OpBatch, ID: "batch", Method: http.MethodPost, Path: "/batch",
		Summary: "Run several writes in one transaction",
		Body:    handlers.BodyBatch,
		Responses: append([]handlers.Response{{Status: http.StatusOK, Envelope: handlers.EnvelopeBatch}},
			handlers.Problems(http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
				http.StatusRequestEntityTooLarge, http.StatusPreconditionFailed, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity,
				http.StatusPreconditionRequired, http.StatusInternalServerError, http.StatusServiceUnavailable)...),
	}
}

// batchError is what stops a batch's transaction: the failed operation.
type batchError struct{ problem *handlers.Problem }

func (e *batchError) Error() string { return e.problem.Error() }

// batch serves POST /batch: each operation runs as it would alone (the
// same handler, override or generated, the same authorization, hooks,
// cascades and preconditions), all in one transaction; the first failure
// rolls every one back and answers with its problem, naming it.
func (a *App) batch(svcs map[*introspect.Resource]*handlers.Service) echo.HandlerFunc {
	byName := make(map[string]*introspect.Resource, len(a.resources))
	for _, r := range a.resources {
		byName[r.desc.Name] = r.desc
	}
	return func(c echo.Context) error {
		steps, err := handlers.ParseBatch(c, a.cfg.MaxBatchOperations, byName)
		if err != nil {
			return err
		}
		results := make([]handlers.BatchResult, len(steps))
		changes := make([]*handlers.Changes, len(steps))
		err = a.cfg.DB.RunInTx(c.Request().Context(), nil, func(ctx context.Context, tx bun.Tx) error {
			ctx = handlers.WithTx(ctx, tx)
			keys := map[string]json.RawMessage{}
			for i := range steps {
				s := &steps[i]
				opCtx := ctx
				if a.metrics != nil {
					opCtx, changes[i] = handlers.WithChanges(ctx)
				}
				r, err := a.runStep(c, opCtx, svcs[s.Res], s, keys)
				if err != nil {
					return err
				}
				if r.Status >= 400 {
					return &batchError{handlers.BatchFailure(i, s, r.Status, r.Body)}
				}
				if s.Ref != "" {
					keys[s.Ref] = handlers.CreatedKey(s.Res, r.Body)
				}
				results[i] = r
			}
			return nil
		})
		var failed *batchError
		if errors.As(err, &failed) {
			return failed.problem
		}
		if err != nil {
			// The transaction's own failure (a commit refused, a
			// deadlock): a problem, never the driver's text.
			return svcs[steps[0].Res].Failure(err)
		}
		for i, s := range steps {
			if changes[i] != nil {
				change := rowChange(s.Op, s.Res.SoftDeletable(), s.Permanent)
				changes[i].Each(func(r *introspect.Resource, n int) { a.metrics.changed(r.Name, change, int64(n)) })
			}
		}
		return c.JSON(http.StatusOK, handlers.Data[[]handlers.BatchResult]{Data: results})
	}
}

// runStep runs one operation of a batch through the handler that serves
// it alone, on a request of its own that carries the batch's caller and
// transaction, and records its answer.
func (a *App) runStep(c echo.Context, ctx context.Context, svc *handlers.Service, s *handlers.BatchStep, keys map[string]json.RawMessage) (handlers.BatchResult, error) {
	method, path, idText, body, err := s.Request(a.cfg.Prefix, keys)
	if err != nil {
		return handlers.BatchResult{}, err
	}
	header := http.Header{}
	if s.IfMatch != "" {
		header.Set("If-Match", s.IfMatch)
	}
	return a.runRequest(c, ctx, a.operate(svc, a.byName[s.Res.Name], s.Op), method, path, idText, body, header)
}

// runRequest runs h on a request of its own (method, path, the key
// idText, a JSON body, header) in ctx, for the caller of c, and keeps its
// answer instead of sending it: a batch and an upsert send theirs only
// once their transaction has committed.
func (a *App) runRequest(c echo.Context, ctx context.Context, h echo.HandlerFunc, method, path, idText string, body []byte, header http.Header) (handlers.BatchResult, error) {
	req, err := http.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	if err != nil {
		return handlers.BatchResult{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.RemoteAddr = c.Request().RemoteAddr
	req.Header.Set(echo.HeaderXRequestID, c.Response().Header().Get(echo.HeaderXRequestID))
	if body != nil {
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	w := &bufferedResponse{header: http.Header{}}
	sub := c.Echo().NewContext(req, w)
	if idText != "" {
		sub.SetParamNames("id")
		sub.SetParamValues(idText)
	}
	if err := h(sub); err != nil {
		a.HTTPErrorHandler()(err, sub)
	}
	return handlers.BatchResult{
		Status: w.status, Body: w.body.Bytes(), Header: w.header,
		ETag: w.header.Get("ETag"), Location: w.header.Get(echo.HeaderLocation),
	}, nil
}

// bufferedResponse keeps one operation's answer in memory.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
