package handlers

import (
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

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
	fields []*introspect.Field
	// filters are the simple filters, one node each, and expr the tree of
	// the ?filter= expression, or nil.
	filters []cond
	expr    *cond
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

// comparisons are the simple form's operators that compare with one value.
var comparisons = map[string]cmpOp{opEq: cmpEq, opNe: cmpNe, opGt: cmpGt, opGte: cmpGte, opLt: cmpLt, opLte: cmpLte}

// filtered reports whether the request has conditions of its own.
func (rq *readQuery) filtered() bool { return len(rq.filters) > 0 || rq.expr != nil }

// where renders every filter of the request, simple and expression, ANDed
// inside one pair of parentheses; ok is false when there are none. The
// soft-delete predicate is never part of it: callers AND it outside.
// ilike is Endpoint.ILike.
func (rq *readQuery) where(ilike bool) (query string, args []any, ok bool) {
	if !rq.filtered() {
		return "", nil, false
	}
	w := sqlWriter{ilike: ilike}
	// Room for a comparison per node, its column and its value, so a
	// request of simple filters fills one buffer and one slice.
	n := len(rq.filters) + 1
	w.sb.Grow(24 * n)
	w.args = make([]any, 0, 2*n)
	w.sb.WriteByte('(')
	for i := range rq.filters {
		if i > 0 {
			w.sb.WriteString(" AND ")
		}
		w.cond(&rq.filters[i])
	}
	if rq.expr != nil {
		if len(rq.filters) > 0 {
			w.sb.WriteString(" AND ")
		}
		w.cond(rq.expr)
	}
	w.sb.WriteByte(')')
	return w.sb.String(), w.args, true
}

// params parses the query string strictly. Echo's QueryParams drops
// what it cannot parse, such as a pair with a ';', so a malformed request
// would be answered as if the parameter had not been sent.
func queryParams(r *http.Request) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
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
			rq.expr, err = parseFilter(v, res, withDeleted, lim.Filter)
		case paramCursor, paramInclude:
			if v == "" {
				err = fieldProblem(name, "must not be empty")
			} else if name == paramCursor {
				rq.cursor = v
			} else {
				rq.include = v
			}
		default:
			var c cond
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
	if b, ok := parseText(introspect.KindBool, v); ok {
		return b.(bool), nil
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

// parseCondition parses one simple filter, the parameter param with the
// value v, to its node.
func parseCondition(param, v string, res *introspect.Resource, withDeleted bool) (cond, error) {
	name, op := param, opEq
	if i := strings.IndexByte(param, '['); i > 0 && strings.HasSuffix(param, "]") {
		name, op = param[:i], param[i+1:len(param)-1]
	}
	f, ok := res.Lookup(name, withDeleted)
	if !ok {
		return cond{}, fieldProblem(param, "unknown query parameter or field")
	}
	if f.Kind == introspect.KindOther {
		return cond{}, fieldProblem(param, "cannot filter on this field")
	}
	if cmp, ok := comparisons[op]; ok {
		value, err := parseParamValue(param, f, v)
		return compareCond(f, cmp, value), err
	}
	switch op {
	case opLike:
		if f.Kind != introspect.KindString {
			return cond{}, fieldProblem(param, "like applies to text fields only")
		}
		if _, err := parseParamValue(param, f, v); err != nil {
			return cond{}, err
		}
		return likeCond(f, wildcardPattern(v), false), nil
	case opIn:
		n := strings.Count(v, ",") + 1
		if n > maxInValues {
			return cond{}, fieldProblem(param, "lists more than "+strconv.Itoa(maxInValues)+" values")
		}
		values := make([]any, 0, n)
		for p := range strings.SplitSeq(v, ",") {
			value, err := parseParamValue(param, f, p)
			if err != nil {
				return cond{}, err
			}
			values = append(values, value)
		}
		return inCond(f, values), nil
	case opNull:
		isNull, err := parseStrictBool(param, v)
		return nullCond(f, isNull), err
	}
	return cond{}, fieldProblem(param, "unknown operator "+strconv.Quote(op))
}

// parseParamValue reads the value of a simple filter as f's kind, naming
// the parameter in its fault.
func parseParamValue(param string, f *introspect.Field, v string) (any, error) {
	if value, ok := parseText(f.Kind, v); ok {
		return value, nil
	}
	switch f.Kind {
	case introspect.KindString:
		return nil, fieldProblem(param, "must not contain NUL characters")
	case introspect.KindBool:
		return nil, fieldProblem(param, `must be "true" or "false"`)
	}
	return nil, fieldProblem(param, mustBe(f))
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
