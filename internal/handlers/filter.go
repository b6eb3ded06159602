package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// The expression form of filters, ?filter=views >= 10 && (title ~ "go" || userId = 2).
//
// Grammar:
//
//	expr       = and { "||" and }
//	and        = unary { "&&" unary }
//	unary      = "!" unary | "(" expr ")" | comparison
//	comparison = field op literal
//	op         = "=" | "!=" | ">" | ">=" | "<" | "<=" | "~" | "!~"
//	literal    = string | number | "true" | "false" | "null"
//
// Strings take single or double quotes with backslash escapes. The parser
// is hand-written because the grammar is tiny and must report positions
// and compile to whitelisted columns and bound values only; general
// expression libraries evaluate in Go rather than emit SQL.

// FilterLimits bounds the expression form.
type FilterLimits struct {
	// MaxLength is the longest accepted expression, in bytes (2000).
	MaxLength int
	// MaxConditions is the most comparisons an expression may hold (50).
	MaxConditions int
}

// filterSQL is a compiled expression: SQL text whose identifiers come from
// the resource's whitelist and whose values are all "?" placeholders.
type filterSQL struct {
	query string
	args  []any
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp
	tokAnd
	tokOr
	tokNot
	tokLParen
	tokRParen
)

type token struct {
	kind tokenKind
	text string // the operator, identifier, number or unescaped string
	pos  int    // 1-based byte position in the expression
}

// filterError is a 400 that points at the position of the problem.
func filterError(pos int, format string, args ...any) *Problem {
	msg := fmt.Sprintf(format, args...)
	if pos > 0 {
		msg = fmt.Sprintf("%s at position %d", msg, pos)
	}
	return fieldProblem(paramFilter, msg)
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		start := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", start})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", start})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return nil, filterError(start, "expected %q", string([]byte{c, c}))
			}
			kind := tokAnd
			if c == '|' {
				kind = tokOr
			}
			toks = append(toks, token{kind, s[i : i+2], start})
			i += 2
		case c == '!':
			if i+1 < len(s) && (s[i+1] == '=' || s[i+1] == '~') {
				toks = append(toks, token{tokOp, s[i : i+2], start})
				i += 2
			} else {
				toks = append(toks, token{tokNot, "!", start})
				i++
			}
		case c == '=' || c == '~':
			toks = append(toks, token{tokOp, string(c), start})
			i++
		case c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, token{tokOp, s[i : i+2], start})
				i += 2
			} else {
				toks = append(toks, token{tokOp, string(c), start})
				i++
			}
		case c == '"' || c == '\'':
			text, n, err := lexString(s[i:], start)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, text, start})
			i += n
		case c == '-' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
				// A sign only continues a number right after an exponent.
				if (s[j] == '+' || s[j] == '-') && s[j-1] != 'e' && s[j-1] != 'E' {
					break
				}
				j++
			}
			toks = append(toks, token{tokNumber, s[i:j], start})
			i = j
		case isIdentByte(c, true):
			j := i + 1
			for j < len(s) && isIdentByte(s[j], false) {
				j++
			}
			toks = append(toks, token{tokIdent, s[i:j], start})
			i = j
		default:
			return nil, filterError(start, "unexpected character %q", string(rune(c)))
		}
	}
	return append(toks, token{tokEOF, "", len(s) + 1}), nil
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// lexString reads a quoted string at the start of s and returns its value
// and the number of bytes it took.
func lexString(s string, pos int) (string, int, error) {
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case quote:
			return b.String(), i + 1, nil
		case 0:
			return "", 0, filterError(pos+i, "NUL characters are not allowed")
		case '\\':
			i++
			if i >= len(s) {
				return "", 0, filterError(pos, "unterminated string")
			}
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '"', '\'':
				b.WriteByte(e)
			default:
				return "", 0, filterError(pos+i-1, "unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, filterError(pos, "unterminated string")
}

// filterParser compiles tokens straight to SQL; there is no evaluation, so
// no tree is kept.
type filterParser struct {
	toks        []token
	i           int
	depth       int
	res         *introspect.Resource
	withDeleted bool
	conditions  int
	limits      FilterLimits
	sql         strings.Builder
	args        []any
}

// compileFilter parses expr and compiles it for res. withDeleted says
// whether the soft-delete column is part of the language for this caller.
func compileFilter(expr string, res *introspect.Resource, withDeleted bool, lim FilterLimits) (*filterSQL, error) {
	if len(expr) > lim.MaxLength {
		return nil, filterError(0, "is longer than %d characters", lim.MaxLength)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, res: res, withDeleted: withDeleted, limits: lim}
	if p.peek().kind == tokEOF {
		return nil, filterError(0, "is empty")
	}
	if err := p.expr(); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, filterError(t.pos, "unexpected %q", t.text)
	}
	return &filterSQL{query: p.sql.String(), args: p.args}, nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *filterParser) expr() error { return p.chain(tokOr, " OR ", p.and) }
func (p *filterParser) and() error  { return p.chain(tokAnd, " AND ", p.unary) }

// chain parses operand { sep operand } inside one pair of parentheses.
func (p *filterParser) chain(sep tokenKind, sql string, operand func() error) error {
	p.sql.WriteByte('(')
	if err := operand(); err != nil {
		return err
	}
	for p.peek().kind == sep {
		p.next()
		p.sql.WriteString(sql)
		if err := operand(); err != nil {
			return err
		}
	}
	p.sql.WriteByte(')')
	return nil
}

// maxFilterDepth bounds nesting of parentheses and "!" together; databases
// refuse expressions nested much deeper.
const maxFilterDepth = 32

func (p *filterParser) unary() error {
	if t := p.peek(); t.kind == tokNot || t.kind == tokLParen {
		if p.depth++; p.depth > maxFilterDepth {
			return filterError(t.pos, "is nested deeper than %d levels", maxFilterDepth)
		}
		defer func() { p.depth-- }()
	}
	switch t := p.peek(); t.kind {
	case tokNot:
		p.next()
		p.sql.WriteString("NOT ")
		return p.unary()
	case tokLParen:
		p.next()
		if err := p.expr(); err != nil {
			return err
		}
		if t := p.next(); t.kind != tokRParen {
			return filterError(t.pos, "expected ')'")
		}
		return nil
	case tokIdent:
		return p.comparison()
	case tokEOF:
		return filterError(t.pos, "unexpected end of expression")
	default:
		return filterError(t.pos, "expected a field name, '(' or '!' but found %q", t.text)
	}
}

func (p *filterParser) comparison() error {
	name := p.next()
	if p.conditions++; p.conditions > p.limits.MaxConditions {
		return filterError(name.pos, "has more than %d conditions", p.limits.MaxConditions)
	}
	f, ok := p.res.Lookup(name.text, p.withDeleted)
	if !ok {
		return filterError(name.pos, "unknown field %q", name.text)
	}
	if f.Kind == introspect.KindOther {
		return filterError(name.pos, "cannot filter on field %q", name.text)
	}
	op := p.next()
	if op.kind != tokOp {
		return filterError(op.pos, "expected an operator after %q", name.text)
	}
	lit := p.next()
	switch lit.kind {
	case tokString, tokNumber, tokIdent:
	default:
		return filterError(lit.pos, "expected a value after %q", op.text)
	}

	if lit.kind == tokIdent && lit.text == "null" {
		switch op.text {
		case "=":
			p.sql.WriteString("(? IS NULL)")
		case "!=":
			p.sql.WriteString("(? IS NOT NULL)")
		default:
			return filterError(op.pos, "null compares with = or != only")
		}
		p.args = append(p.args, f.Ident)
		return nil
	}
	if op.text == "~" || op.text == "!~" {
		if f.Kind != introspect.KindString || lit.kind != tokString {
			return filterError(op.pos, "%s compares a text field with a string", op.text)
		}
		not := ""
		if op.text == "!~" {
			not = "NOT "
		}
		// LOWER on both sides: contains is case-insensitive on every
		// engine (SQLite's LIKE is, PostgreSQL's is not).
		p.sql.WriteString(`(LOWER(?) ` + not + `LIKE LOWER(?) ESCAPE '\')`)
		p.args = append(p.args, f.Ident, "%"+likeEscaper.Replace(lit.text)+"%")
		return nil
	}
	value, err := literalValue(f, lit)
	if err != nil {
		return fieldProblem(f.JSON, err.Error()+" (filter position "+strconv.Itoa(lit.pos)+")")
	}
	sqlOp := op.text
	if sqlOp == "!=" {
		sqlOp = "<>"
	}
	p.sql.WriteString("(? " + sqlOp + " ?)")
	p.args = append(p.args, f.Ident, value)
	return nil
}

// likeEscaper escapes LIKE's own wildcards in a contains (~) value.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// literalValue converts a literal to the field's type.
func literalValue(f *introspect.Field, lit token) (any, error) {
	mismatch := fmt.Errorf("must be %s %s", article(f.Kind), f.Kind)
	switch f.Kind {
	case introspect.KindString:
		if lit.kind != tokString {
			return nil, mismatch
		}
		return lit.text, nil
	case introspect.KindBool:
		if lit.kind == tokIdent && (lit.text == "true" || lit.text == "false") {
			return lit.text == "true", nil
		}
		return nil, mismatch
	case introspect.KindTime:
		if lit.kind == tokString {
			if t, err := time.Parse(time.RFC3339Nano, lit.text); err == nil {
				return t, nil
			}
		}
		return nil, mismatch
	case introspect.KindInt:
		if lit.kind == tokNumber {
			if n, err := strconv.ParseInt(lit.text, 10, 64); err == nil {
				return n, nil
			}
		}
		return nil, mismatch
	case introspect.KindUint:
		if lit.kind == tokNumber {
			if n, err := strconv.ParseUint(lit.text, 10, 64); err == nil {
				return n, nil
			}
		}
		return nil, mismatch
	case introspect.KindFloat:
		if lit.kind == tokNumber {
			if x, err := strconv.ParseFloat(lit.text, 64); err == nil {
				return x, nil
			}
		}
		return nil, mismatch
	}
	return nil, mismatch
}
