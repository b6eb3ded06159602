package handlers

import (
	"context"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Service runs one resource's statements: reads, writes, soft deletes and
// their cascades, the locks and lifecycle hooks around them, the checks of
// references, includes and the translation of database errors. It is
// built once per resource, when routes are mounted, from the resource's
// Endpoint, and works out there what does not change between requests.
//
// The handlers are split in three: the Service owns the statements; a
// request's grants (see grants) hold who calls and what their grants reach,
// resolved once per request; and Context, what a handler gets, holds the
// request and its grants and offers overrides their API. A statement that
// depends on the caller takes their grants as an argument, so what it may
// see is visible at the call.
type Service struct {
	ep  *Endpoint
	res *introspect.Resource
	// hooks are the resource's lifecycle hooks, never nil; hasHooks says
	// whether there are any, so that writes run in a transaction for them.
	hooks    *Hooks
	hasHooks bool
	// cascades says soft deletes of the resource reach other rows.
	cascades bool
	// checksParents says writes check belongs-to references (see
	// checkParents).
	checksParents bool
	// precision is the coarsest deletion-time precision of the resource
	// and the resources its cascades reach (see deleteTime).
	precision time.Duration
	// totals are the totals of filtered lists, by their conditions, which
	// gen writes out with their values to key them.
	totals totals
	gen    schema.QueryGen
	// etaggers work out the rows' ETags, with a key derived from the
	// cursor key (see etag).
	etaggers *sync.Pool
}

// NewService builds the service of ep's resource.
func NewService(ep *Endpoint) *Service {
	s := &Service{ep: ep, res: ep.Resource, hooks: ep.Hooks, hasHooks: ep.Hooks != nil, cascades: hasCascades(ep.Resource)}
	if s.hooks == nil {
		s.hooks = &Hooks{}
	}
	for i := range s.res.Relations {
		rel := &s.res.Relations[i]
		if _, registered := ep.Related[rel.Related]; registered && rel.Kind == schema.BelongsToRelation {
			s.checksParents = true
		}
	}
	s.precision = s.stampPrecision(s.res)
	s.gen = schema.NewQueryGen(ep.DB.Dialect())
	s.etaggers = newETaggers(etagKey(ep.CursorKey))
	return s
}

// txKey carries the transaction of a batch, which every operation of it
// runs in (see WithTx).
type txKey struct{}

// WithTx returns ctx in which the handlers run every statement in tx:
// the operations of one batch, committed or rolled back together.
func WithTx(ctx context.Context, tx bun.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// HasTx reports whether ctx carries a transaction of WithTx.
func HasTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(bun.Tx)
	return ok
}

// db is the database a request's statements run on: its batch's
// transaction, or the database.
func (s *Service) db(ctx context.Context) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	return s.ep.DB
}

// inTx runs fn in a transaction when tx is true, else on the database.
// A dry run always has one, and rolls it back with errDryRun when fn
// succeeds. Within a batch, fn runs in the batch's transaction.
func (s *Service) inTx(ctx context.Context, tx bool, fn func(ctx context.Context, db bun.IDB) error) error {
	if outer, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return fn(ctx, outer)
	}
	dry := dryRunOf(ctx)
	if !tx && !dry {
		return fn(ctx, s.ep.DB)
	}
	return s.ep.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := fn(ctx, tx); err != nil || !dry {
			return err
		}
		return errDryRun
	})
}

// registered is the registered resource of the model a relation of res
// points at, or child when it has none, so that cascades given at its
// registration apply further down.
func (s *Service) registered(rel *introspect.Relation, child *introspect.Resource) *introspect.Resource {
	if r, ok := s.ep.Related[rel.Related]; ok {
		return r
	}
	return child
}
