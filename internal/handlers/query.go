package handlers

import (
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Query parameters with a meaning of their own; every other parameter of a
// list request names a field to filter on.
const (
	paramLimit          = "limit"
	paramOffset         = "offset"
	paramPage           = "page"
	paramSort           = "sort"
	paramCount          = "count"
	paramFields         = "fields"
	paramIncludeDeleted = "includeDeleted"
	paramOnlyDeleted    = "onlyDeleted"
	paramFilter         = "filter"
)

// readQuery is a parsed and validated list or get request. Fields in it
// come from the resource's whitelist; values are typed and only ever bound
// as parameters.
type readQuery struct {
	limit  int
	offset int
	// count is false when the caller opted out of the total with count=false.
	count bool
	// includeDeleted is nil when the parameter was not given.
	includeDeleted *bool
	onlyDeleted    bool
	// fields is the sparse field set, nil for all fields.
	fields  []*introspect.Field
	filters []condition
	// expr is the compiled ?filter= expression, or nil.
	expr *filterSQL
	// sort is the full order: the requested keys, then the primary key.
	sort []sortKey
	// cursor is the ?cursor= token, "" for the first or an offset page.
	cursor string
	// include is the raw ?include= list, resolved by the handler.
	include string
	// readScope and deletedScope are how far the caller's read and
	// read_deleted grants reach.
	readScope, deletedScope scope
}

// including reports whether deleted rows were asked for with
// includeDeleted=true.
func (q *readQuery) including() bool { return q.includeDeleted != nil && *q.includeDeleted }

// asksForDeleted reports whether the request needs read_deleted.
func (q *readQuery) asksForDeleted() bool { return q.including() || q.onlyDeleted }

// output returns the fields to write: the sparse set when one was asked
// for, in struct order, else every exposed field.
func (q *readQuery) output(exposed []*introspect.Field) []*introspect.Field {
	if q.fields == nil {
		return exposed
	}
	out := make([]*introspect.Field, 0, len(q.fields))
	for _, f := range exposed {
		if slices.Contains(q.fields, f) {
			out = append(out, f)
		}
	}
	return out
}

type sortKey struct {
	field *introspect.Field
	desc  bool
	// notNull is set when the query itself rules out NULL for the field
	// (the soft-delete column in the trash view), which spares the NULL
	// ordering term and lets the index serve the order.
	notNull bool
}

// nullable reports whether the key's values may be NULL in this query.
func (k sortKey) nullable() bool { return k.field.NullInDB && !k.notNull }

// condition is one "field op value" filter.
type condition struct {
	field *introspect.Field
	op    string
	value any
}

// Filter operators of the simple form ?field[op]=value.
const (
	opEq   = "eq"
	opNe   = "ne"
	opGt   = "gt"
	opGte  = "gte"
	opLt   = "lt"
	opLte  = "lte"
	opLike = "like"
	opIn   = "in"
	opNull = "null"
)

var comparisons = map[string]string{opEq: "=", opNe: "<>", opGt: ">", opGte: ">=", opLt: "<", opLte: "<="}

// sql renders the condition with the column from the whitelist and the
// value as a bound parameter.
func (c condition) sql() (string, []any) {
	switch c.op {
	case opIn:
		return "? IN (?)", []any{c.field.Ident, bun.In(c.value)}
	case opNull:
		if isNull, _ := c.value.(bool); isNull {
			return "? IS NULL", []any{c.field.Ident}
		}
		return "? IS NOT NULL", []any{c.field.Ident}
	case opLike:
		// Case-insensitive on every engine, as ~ in expressions.
		return `LOWER(?) LIKE LOWER(?) ESCAPE '\'`, []any{c.field.Ident, c.value}
	default:
		return "? " + comparisons[c.op] + " ?", []any{c.field.Ident, c.value}
	}
}

// filtered reports whether the request has conditions of its own.
func (rq *readQuery) filtered() bool { return len(rq.filters) > 0 || rq.expr != nil }

// where renders every filter of the request, simple and expression, ANDed
// inside one pair of parentheses; ok is false when there are none. The
// soft-delete predicate is never part of it: callers AND it outside.
func (rq *readQuery) where() (query string, args []any, ok bool) {
	var parts []string
	for _, c := range rq.filters {
		q, a := c.sql()
		parts = append(parts, "("+q+")")
		args = append(args, a...)
	}
	if rq.expr != nil {
		parts = append(parts, rq.expr.query)
		args = append(args, rq.expr.args...)
	}
	if len(parts) == 0 {
		return "", nil, false
	}
	return "(" + strings.Join(parts, " AND ") + ")", args, true
}

// params parses the query string strictly. Echo's QueryParams drops
// what it cannot parse, such as a pair with a ';', so a malformed request
// would be answered as if the parameter had not been sent.
func (c *Context) params() (url.Values, error) {
	v, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, malformedQuery()
	}
	return v, nil
}

func malformedQuery() *Problem {
	return NewProblem(http.StatusBadRequest, "the query string is malformed")
}

// itemParams are the parameters a single-record request accepts.
var itemParams = map[string]bool{paramFields: true, paramIncludeDeleted: true, paramInclude: true}

// parseReadQuery validates every query parameter of a list request, or of a
// get when item is true. withDeleted says whether the caller may see the
// soft-delete column; for anyone else it is an unknown field.
func parseReadQuery(params url.Values, res *introspect.Resource, withDeleted bool, lim Limits, item bool) (*readQuery, error) {
	rq := &readQuery{limit: lim.DefaultLimit, count: true}
	page := 0
	// Sorted, so that a request with several faults always gets the same
	// answer.
	for _, name := range slices.Sorted(maps.Keys(params)) {
		values := params[name]
		if len(values) != 1 {
			return nil, fieldProblem(name, "must be given at most once")
		}
		if item && !itemParams[name] {
			return nil, fieldProblem(name, "unknown query parameter for a single record")
		}
		v := values[0]
		var err error
		switch name {
		case paramLimit:
			rq.limit, err = parseBoundedInt(name, v, 1, lim.MaxLimit)
		case paramOffset:
			rq.offset, err = parseBoundedInt(name, v, 0, maxOffset)
		case paramPage:
			page, err = parseBoundedInt(name, v, 1, maxOffset)
		case paramCount:
			rq.count, err = parseStrictBool(name, v)
		case paramIncludeDeleted, paramOnlyDeleted:
			var b bool
			if b, err = parseStrictBool(name, v); err == nil && !res.SoftDeletable() {
				err = fieldProblem(name, res.Name+" has no soft deletes")
			}
			if name == paramOnlyDeleted {
				rq.onlyDeleted = b
			} else {
				rq.includeDeleted = &b
			}
		case paramFields:
			rq.fields, err = parseFields(v, res, withDeleted)
		case paramSort:
			rq.sort, err = parseSort(v, res, withDeleted)
		case paramFilter:
			rq.expr, err = compileFilter(v, res, withDeleted, lim.Filter)
		case paramCursor, paramInclude:
			if v == "" {
				err = fieldProblem(name, "must not be empty")
			} else if name == paramCursor {
				rq.cursor = v
			} else {
				rq.include = v
			}
		default:
			var c condition
			c, err = parseCondition(name, v, res, withDeleted)
			rq.filters = append(rq.filters, c)
		}
		if err != nil {
			return nil, err
		}
	}
	if page > 0 {
		if _, both := params[paramOffset]; both {
			return nil, fieldProblem(paramPage, "cannot be combined with offset")
		}
		if (page - 1) > maxOffset/rq.limit {
			return nil, fieldProblem(paramPage, "is too large")
		}
		rq.offset = (page - 1) * rq.limit
	}
	if rq.including() && rq.onlyDeleted {
		return nil, fieldProblem(paramOnlyDeleted, "cannot be combined with includeDeleted=true")
	}
	if rq.cursor != "" && (params.Has(paramOffset) || params.Has(paramPage)) {
		return nil, fieldProblem(paramCursor, "cannot be combined with offset or page")
	}
	if rq.sort == nil && rq.onlyDeleted {
		// The trash view shows the latest deletions first, and of rows
		// deleted at one instant (a cascade) the highest key first: the
		// order of the soft-delete index (column, key) read backwards, so
		// a page never sorts the whole trash.
		rq.sort = []sortKey{{field: res.PK, desc: true}}
		if at := res.SoftDelete.Order(); at != nil {
			rq.sort = []sortKey{{field: at, desc: true}, {field: res.PK, desc: true}}
		}
	}
	if !slices.ContainsFunc(rq.sort, func(k sortKey) bool { return k.field == res.PK }) {
		// The key breaks ties, so pages are stable and cursors exact.
		rq.sort = append(rq.sort, sortKey{field: res.PK})
	}
	if rq.onlyDeleted {
		for i := range rq.sort {
			rq.sort[i].notNull = rq.sort[i].field == res.SoftDelete.Order()
		}
	}
	return rq, nil
}

// parseFields reads a sparse field set: known, visible fields, each once.
func parseFields(v string, res *introspect.Resource, withDeleted bool) ([]*introspect.Field, error) {
	var fields []*introspect.Field
	for _, name := range strings.Split(v, ",") {
		f, ok := res.Lookup(name, withDeleted)
		if !ok {
			return nil, fieldProblem(paramFields, "unknown field "+strconv.Quote(name))
		}
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	return fields, nil
}

// maxInValues bounds an ?field[in]= list, as MaxFilterConditions bounds
// an expression.
const maxInValues = 100

// maxOffset keeps offsets inside what every database accepts.
const maxOffset = 1<<31 - 1

func parseBoundedInt(name, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || strconv.Itoa(n) != v {
		return 0, fieldProblem(name, "must be an integer")
	}
	if n < lo || n > hi {
		return 0, fieldProblem(name, "must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
	}
	return n, nil
}

// parseStrictBool accepts exactly "true" and "false": a permission switch
// must not turn on by a lucky spelling, nor off by a typo.
func parseStrictBool(name, v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fieldProblem(name, `must be "true" or "false"`)
}

func parseSort(v string, res *introspect.Resource, withDeleted bool) ([]sortKey, error) {
	var keys []sortKey
	seen := map[*introspect.Field]bool{}
	for _, part := range strings.Split(v, ",") {
		desc := strings.HasPrefix(part, "-")
		name := strings.TrimPrefix(part, "-")
		f, ok := res.Lookup(name, withDeleted)
		if !ok {
			return nil, fieldProblem(paramSort, "unknown field "+strconv.Quote(name))
		}
		if f.Kind == introspect.KindOther {
			return nil, fieldProblem(paramSort, "cannot sort on field "+strconv.Quote(name))
		}
		if seen[f] {
			return nil, fieldProblem(paramSort, "field "+strconv.Quote(name)+" is given twice")
		}
		seen[f] = true
		keys = append(keys, sortKey{field: f, desc: desc})
	}
	return keys, nil
}

func parseCondition(param, v string, res *introspect.Resource, withDeleted bool) (condition, error) {
	name, op := param, opEq
	if i := strings.IndexByte(param, '['); i > 0 && strings.HasSuffix(param, "]") {
		name, op = param[:i], param[i+1:len(param)-1]
	}
	f, ok := res.Lookup(name, withDeleted)
	if !ok {
		return condition{}, fieldProblem(param, "unknown query parameter or field")
	}
	if f.Kind == introspect.KindOther {
		return condition{}, fieldProblem(param, "cannot filter on this field")
	}
	c := condition{field: f, op: op}
	var err error
	switch op {
	case opEq, opNe, opGt, opGte, opLt, opLte:
		c.value, err = parseValue(param, f, v)
	case opLike:
		if f.Kind != introspect.KindString {
			return c, fieldProblem(param, "like applies to text fields only")
		}
		if _, err = parseValue(param, f, v); err == nil {
			c.value = likePattern(v)
		}
	case opIn:
		parts := strings.Split(v, ",")
		if len(parts) > maxInValues {
			return c, fieldProblem(param, "lists more than "+strconv.Itoa(maxInValues)+" values")
		}
		values := make([]any, len(parts))
		for i, p := range parts {
			if values[i], err = parseValue(param, f, p); err != nil {
				return c, err
			}
		}
		c.value = values
	case opNull:
		c.value, err = parseStrictBool(param, v)
	default:
		return c, fieldProblem(param, "unknown operator "+strconv.Quote(op))
	}
	return c, err
}

// likePattern turns the API's "*" wildcard into SQL's "%", escaping the
// characters LIKE would otherwise treat as wildcards.
func likePattern(v string) string {
	return strings.ReplaceAll(likeEscaper.Replace(v), "*", "%")
}

// parseValue converts a query-string value to the field's type.
func parseValue(param string, f *introspect.Field, v string) (any, error) {
	var (
		val any
		err error
	)
	switch f.Kind {
	case introspect.KindString:
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fieldProblem(param, "must not contain NUL characters")
		}
		return v, nil
	case introspect.KindInt:
		val, err = strconv.ParseInt(v, 10, 64)
	case introspect.KindUint:
		val, err = strconv.ParseUint(v, 10, 64)
	case introspect.KindFloat:
		val, err = strconv.ParseFloat(v, 64)
	case introspect.KindBool:
		return parseStrictBool(param, v)
	case introspect.KindTime:
		val, err = time.Parse(time.RFC3339Nano, v)
	default:
		return nil, fieldProblem(param, "cannot filter on this field")
	}
	if err != nil {
		return nil, fieldProblem(param, "must be "+article(f.Kind)+" "+f.Kind.String())
	}
	return val, nil
}

func article(k introspect.Kind) string {
	if k == introspect.KindInt || k == introspect.KindUint {
		return "an"
	}
	return "a"
}

// parseID converts the :id path parameter to the primary key's type. An id
// that cannot be a key cannot name a record: ok is false.
func parseID(res *introspect.Resource, id string) (any, bool) {
	return canonicalKey(res.PK, id)
}

// canonicalKey reads s as a value of the key-like field f (a primary key,
// an owner or a deleted-by column). Only the canonical spelling names a
// value, so that one row has one URL and one owner: "01", "+1" and "0001"
// are not 1.
func canonicalKey(f *introspect.Field, s string) (any, bool) {
	// Parsed at the column's width, so that a value it cannot hold names
	// nothing rather than the value it would wrap to.
	bits := 64
	if t := f.Type; t.Kind() == reflect.Pointer {
		bits = t.Elem().Bits()
	} else if f.Kind == introspect.KindInt || f.Kind == introspect.KindUint {
		bits = t.Bits()
	}
	switch f.Kind {
	case introspect.KindInt:
		n, err := strconv.ParseInt(s, 10, bits)
		return n, err == nil && strconv.FormatInt(n, 10) == s
	case introspect.KindUint:
		n, err := strconv.ParseUint(s, 10, bits)
		return n, err == nil && strconv.FormatUint(n, 10) == s
	default:
		return s, s != "" && strings.IndexByte(s, 0) < 0
	}
}
