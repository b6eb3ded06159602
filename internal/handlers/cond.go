package handlers

import (
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// The filter language inside. Both spellings of a filter, the simple form
// ?views[gte]=3 (query.go) and the expression form ?filter=views >= 3
// (filter.go), parse to the tree of conds below, and the keyset condition of
// a cursor page (cursor.go) is built of the same nodes. Only the emitter
// (sqlWriter) turns a tree into SQL, so a comparison, a LIKE, an IN or a
// NULL test is spelled once whichever syntax asked for it, and a value
// written as text is read by one function, parseText.
//
// The emitter's rules are the SQL safety rules of the whole package:
// identifiers come only from a node's field, which the parsers take from
// the resource's whitelist, and are bound as bun identifier arguments; every
// value is a "?" placeholder with its argument; operators and keywords are
// constants of this file. The soft-delete predicate is not a node: callers
// AND it outside whatever the tree renders.

// condKind is what a node tests.
type condKind uint8

const (
	// condAnd and condOr join their operands; one operand is allowed and
	// still parenthesized, as the expression grammar's levels are.
	condAnd condKind = iota
	condOr
	// condNot negates its one operand.
	condNot
	// condCompare is "field op value".
	condCompare
	// condLike matches a text field against a LIKE pattern, ignoring case.
	condLike
	// condIn is "field IN (values)", value being a []any.
	condIn
	// condNull is "field IS NULL", or IS NOT NULL when negated.
	condNull
	// condFalse matches no row.
	condFalse
)

// cmpOp is the operator of a condCompare.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpNe
	cmpGt
	cmpGte
	cmpLt
	cmpLte
)

// cmpSQL spells each comparison; the only operator text the emitter writes.
var cmpSQL = [...]string{cmpEq: " = ", cmpNe: " <> ", cmpGt: " > ", cmpGte: " >= ", cmpLt: " < ", cmpLte: " <= "}

// cond is one node of a filter tree. It is a value, not an interface, so
// the simple filters of a request sit in one slice without a heap object
// each.
type cond struct {
	kind condKind
	// not negates a condLike or condNull.
	not bool
	// op is the operator of a condCompare.
	op cmpOp
	// field is the whitelisted column of a comparison, LIKE, IN or NULL test.
	field *introspect.Field
	// value is the typed value of a condCompare, the pattern of a condLike,
	// or the []any of a condIn; it is only ever bound.
	value any
	// operands are the children of condAnd, condOr and condNot.
	operands []cond
}

func compareCond(f *introspect.Field, op cmpOp, v any) cond {
	return cond{kind: condCompare, field: f, op: op, value: v}
}

func nullCond(f *introspect.Field, isNull bool) cond {
	return cond{kind: condNull, field: f, not: !isNull}
}

func inCond(f *introspect.Field, values []any) cond {
	return cond{kind: condIn, field: f, value: values}
}

// likeCond matches f against pattern, a LIKE pattern whose own wildcards
// the caller has escaped with likeEscaper.
func likeCond(f *introspect.Field, pattern string, not bool) cond {
	return cond{kind: condLike, field: f, value: pattern, not: not}
}

// likeEscaper escapes LIKE's own wildcards and its escape character, so
// that "%", "_" and "\" in a value match themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// wildcardPattern turns the simple form's "*" wildcard into LIKE's "%".
func wildcardPattern(v string) string {
	return strings.ReplaceAll(likeEscaper.Replace(v), "*", "%")
}

// containsPattern is the pattern of the expression form's ~: v anywhere.
func containsPattern(v string) string {
	return "%" + likeEscaper.Replace(v) + "%"
}

// filterSQL is a rendered tree: SQL text whose identifiers come from the
// resource's whitelist and whose values are all "?" placeholders.
type filterSQL struct {
	query string
	args  []any
}

// render emits c on its own; ilike as Endpoint.ILike says.
func render(c *cond, ilike bool) *filterSQL {
	w := sqlWriter{ilike: ilike}
	w.cond(c)
	return &filterSQL{query: w.sb.String(), args: w.args}
}

// sqlWriter is the one SQL emitter of filter trees.
type sqlWriter struct {
	sb   strings.Builder
	args []any
	// ilike renders a match ignoring case as ILIKE, else as LIKE (see
	// Endpoint.ILike).
	ilike bool
}

func (w *sqlWriter) cond(c *cond) {
	switch c.kind {
	case condAnd:
		w.chain(c.operands, " AND ")
	case condOr:
		w.chain(c.operands, " OR ")
	case condNot:
		w.sb.WriteString("NOT ")
		w.cond(&c.operands[0])
	case condCompare:
		w.sb.WriteString("(?")
		w.sb.WriteString(cmpSQL[c.op])
		w.sb.WriteString("?)")
		w.args = append(w.args, c.field.Ident, c.value)
	case condLike:
		// Case is ignored as the engine ignores it, with an operator an
		// index can serve (a trigram index on PostgreSQL): not LOWER() on
		// both sides, a function call on every row that no index serves. On
		// SQLite LIKE folds ASCII letters only, as SQLite's LOWER does; on
		// PostgreSQL ILIKE folds as LOWER does, by the database's LC_CTYPE.
		w.sb.WriteString("(?")
		if c.not {
			w.sb.WriteString(" NOT")
		}
		if w.ilike {
			w.sb.WriteString(` ILIKE ? ESCAPE '\')`)
		} else {
			w.sb.WriteString(` LIKE ? ESCAPE '\')`)
		}
		w.args = append(w.args, c.field.Ident, c.value)
	case condIn:
		w.sb.WriteString("(? IN (?))")
		w.args = append(w.args, c.field.Ident, bun.In(c.value))
	case condNull:
		if c.not {
			w.sb.WriteString("(? IS NOT NULL)")
		} else {
			w.sb.WriteString("(? IS NULL)")
		}
		w.args = append(w.args, c.field.Ident)
	case condFalse:
		w.sb.WriteString("(1 = 0)")
	}
}

// chain emits operands joined by sep inside one pair of parentheses.
func (w *sqlWriter) chain(operands []cond, sep string) {
	w.sb.WriteByte('(')
	for i := range operands {
		if i > 0 {
			w.sb.WriteString(sep)
		}
		w.cond(&operands[i])
	}
	w.sb.WriteByte(')')
}

// parseText reads text as a value of kind k. It is the one reading of a
// value written as text: the simple filters, the expression's literals and
// the cursor's keys all go through it, so that a value means the same
// wherever it is written. ok is false when text is no such value; each
// syntax words that fault its own way.
func parseText(k introspect.Kind, text string) (v any, ok bool) {
	var err error
	switch k {
	case introspect.KindString:
		// Neither engine stores NUL in text; PostgreSQL refuses it outright.
		return text, strings.IndexByte(text, 0) < 0
	case introspect.KindInt:
		v, err = strconv.ParseInt(text, 10, 64)
	case introspect.KindUint:
		v, err = strconv.ParseUint(text, 10, 64)
	case introspect.KindFloat:
		v, err = strconv.ParseFloat(text, 64)
	case introspect.KindBool:
		// Exactly "true" or "false": a switch must not turn on by a lucky
		// spelling, nor off by a typo.
		switch text {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return nil, false
	case introspect.KindTime:
		v, err = time.Parse(time.RFC3339Nano, text)
	default:
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	return v, true
}

// mustBe is the fault of a value that is not of f's kind.
func mustBe(f *introspect.Field) string {
	return "must be " + article(f.Kind) + " " + f.Kind.String()
}

func article(k introspect.Kind) string {
	if k == introspect.KindInt || k == introspect.KindUint {
		return "an"
	}
	return "a"
}
