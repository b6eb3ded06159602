package handlers

import (
	"maps"
	"net/url"
	"slices"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// What every handler of one row asks before it touches the database, in
// the form an override uses too: the query string, checked; the row's key,
// canonical; and the rows the caller's grant reaches. The generated
// handlers ask through these, so an override that does the same inherits
// their rules.

// Query returns the request's query string, parsed strictly: a parameter
// not among allowed, one given twice, or a query string that does not
// parse is a 400 naming the parameter. An override that takes no
// parameters calls it with none.
func (c *Context) Query(allowed ...string) (url.Values, error) {
	params, err := queryParams(c.Request())
	if err != nil {
		return nil, err
	}
	if err := checkParams(params, allowed); err != nil {
		return nil, err
	}
	return params, nil
}

// checkParams refuses parameters not among allowed and repeated ones, in
// sorted order so that a request with several faults always gets the same
// answer.
func checkParams(params url.Values, allowed []string) error {
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if !slices.Contains(allowed, name) {
			return fieldProblem(name, "unknown query parameter")
		}
		if len(params[name]) != 1 {
			return fieldProblem(name, "must be given at most once")
		}
	}
	return nil
}

// Key returns the :id path parameter as a value of the resource's key, or
// the 404 for it: only the canonical spelling names a row ("05" is not 5).
func (c *Context) Key() (any, error) {
	id, ok := parseID(c.svc.res, c.ID())
	if !ok {
		return nil, c.NotFound(c.ID())
	}
	return id, nil
}

// Reach checks that the caller may do action on this resource (401 or
// 403 otherwise) and returns the condition every statement of the
// operation must carry: live rows only, and only the caller's own under
// an own-only grant such as "delete:own". A row outside it then answers
// like a missing one. Use it with bun's ApplyQueryBuilder:
//
//	reach, err := c.Reach(auth.ActionDelete)
//	...
//	c.DB().NewDelete().Model((*Attachment)(nil)).ApplyQueryBuilder(reach).Where("id = ?", id)
func (c *Context) Reach(action string) (func(bun.QueryBuilder) bun.QueryBuilder, error) {
	if _, err := c.grants.require(action); err != nil {
		return nil, err
	}
	return reachQuery(c.svc.res, c.grants.reach), nil
}

// reachQuery is the condition of Reach for a grant that reaches r.
func reachQuery(res *introspect.Resource, r reach) func(bun.QueryBuilder) bun.QueryBuilder {
	live, liveArgs := res.SoftDelete.Live()
	return func(q bun.QueryBuilder) bun.QueryBuilder {
		if res.Table.SoftDeleteField != nil {
			// The framework's own predicate, not bun's soft_delete filter.
			q = q.WhereAllWithDeleted()
		}
		return where(where(q, live, liveArgs), r.cond, r.args)
	}
}

// Matching is Reach for a bulk operation: it also reads the request's
// filters, as DELETE /R?<filters> does (a 400 for a bad or missing one,
// or for a paging parameter), and the condition it returns matches the
// rows they select within the caller's reach.
func (c *Context) Matching(action string) (func(bun.QueryBuilder) bun.QueryBuilder, error) {
	// bulkFilter checks the grant, once, and keeps its reach.
	w, args, err := c.svc.bulkFilter(&c.grants, c.Request(), action)
	if err != nil {
		return nil, err
	}
	reach := reachQuery(c.svc.res, c.grants.reach)
	return func(q bun.QueryBuilder) bun.QueryBuilder {
		return reach(q).Where(w, args...)
	}, nil
}
