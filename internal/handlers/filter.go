package handlers

import (
	"fmt"
	"strconv"
	"strings"

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
// builds the tree of cond.go, the same the simple filters parse to, and
// checks every field against the resource's whitelist and every literal
// against its field's kind as it goes, so each fault is reported at its
// position.
//
// The parser is hand-written because the grammar is tiny and must report
// positions. github.com/ganigeorgiev/fexpr, PocketBase's filter parser, was
// considered and rejected: it has no unary "!" and its errors carry no
// position. General expression libraries evaluate in Go rather than emit
// SQL. The parser is fuzzed (FuzzCompileFilter: any input is a 400 or SQL
// of whitelisted identifiers and placeholders only; FuzzSimpleMatchesFilter:
// a simple filter and the equivalent expression render the same SQL).

// FilterLimits bounds the expression form.
type FilterLimits struct {
	// MaxLength is the longest accepted expression, in bytes (2000).
	MaxLength int
	// MaxConditions is the most comparisons an expression may hold (50).
	MaxConditions int
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

// filterParser builds the tree of an expression from its tokens.
type filterParser struct {
	toks        []token
	i           int
	depth       int
	res         *introspect.Resource
	withDeleted bool
	conditions  int
	limits      FilterLimits
}

// parseFilter parses expr for res. withDeleted says whether the soft-delete
// column is part of the language for this caller.
func parseFilter(expr string, res *introspect.Resource, withDeleted bool, lim FilterLimits) (*cond, error) {
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
	root, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, filterError(t.pos, "unexpected %q", t.text)
	}
	return &root, nil
}

// compileFilter parses expr and renders it on its own, as the SQL that
// parseReadQuery's where ANDs with the simple filters.
func compileFilter(expr string, res *introspect.Resource, withDeleted bool, lim FilterLimits, ilike bool) (*filterSQL, error) {
	root, err := parseFilter(expr, res, withDeleted, lim)
	if err != nil {
		return nil, err
	}
	return render(root, ilike), nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *filterParser) expr() (cond, error) { return p.chain(tokOr, condOr, p.and) }
func (p *filterParser) and() (cond, error)  { return p.chain(tokAnd, condAnd, p.unary) }

// chain parses operand { sep operand } into one node of kind, even for a
// single operand: the tree keeps the grammar's levels, and the SQL their
// parentheses.
func (p *filterParser) chain(sep tokenKind, kind condKind, operand func() (cond, error)) (cond, error) {
	first, err := operand()
	if err != nil {
		return cond{}, err
	}
	operands := []cond{first}
	for p.peek().kind == sep {
		p.next()
		c, err := operand()
		if err != nil {
			return cond{}, err
		}
		operands = append(operands, c)
	}
	return cond{kind: kind, operands: operands}, nil
}

// maxFilterDepth bounds nesting of parentheses and "!" together; databases
// refuse expressions nested much deeper.
const maxFilterDepth = 32

func (p *filterParser) unary() (cond, error) {
	if t := p.peek(); t.kind == tokNot || t.kind == tokLParen {
		if p.depth++; p.depth > maxFilterDepth {
			return cond{}, filterError(t.pos, "is nested deeper than %d levels", maxFilterDepth)
		}
		defer func() { p.depth-- }()
	}
	switch t := p.peek(); t.kind {
	case tokNot:
		p.next()
		c, err := p.unary()
		if err != nil {
			return cond{}, err
		}
		return cond{kind: condNot, operands: []cond{c}}, nil
	case tokLParen:
		p.next()
		c, err := p.expr()
		if err != nil {
			return cond{}, err
		}
		if t := p.next(); t.kind != tokRParen {
			return cond{}, filterError(t.pos, "expected ')'")
		}
		return c, nil
	case tokIdent:
		return p.comparison()
	case tokEOF:
		return cond{}, filterError(t.pos, "unexpected end of expression")
	default:
		return cond{}, filterError(t.pos, "expected a field name, '(' or '!' but found %q", t.text)
	}
}

// filterOps are the expression's comparison operators; ~, !~ and null are
// handled apart.
var filterOps = map[string]cmpOp{"=": cmpEq, "!=": cmpNe, ">": cmpGt, ">=": cmpGte, "<": cmpLt, "<=": cmpLte}

func (p *filterParser) comparison() (cond, error) {
	name := p.next()
	if p.conditions++; p.conditions > p.limits.MaxConditions {
		return cond{}, filterError(name.pos, "has more than %d conditions", p.limits.MaxConditions)
	}
	f, ok := p.res.Lookup(name.text, p.withDeleted)
	if !ok {
		return cond{}, filterError(name.pos, "unknown field %q", name.text)
	}
	if f.Kind == introspect.KindOther {
		return cond{}, filterError(name.pos, "cannot filter on field %q", name.text)
	}
	op := p.next()
	if op.kind != tokOp {
		return cond{}, filterError(op.pos, "expected an operator after %q", name.text)
	}
	lit := p.next()
	switch lit.kind {
	case tokString, tokNumber, tokIdent:
	default:
		return cond{}, filterError(lit.pos, "expected a value after %q", op.text)
	}

	if lit.kind == tokIdent && lit.text == "null" {
		switch op.text {
		case "=":
			return nullCond(f, true), nil
		case "!=":
			return nullCond(f, false), nil
		}
		return cond{}, filterError(op.pos, "null compares with = or != only")
	}
	if op.text == "~" || op.text == "!~" {
		if f.Kind != introspect.KindString || lit.kind != tokString {
			return cond{}, filterError(op.pos, "%s compares a text field with a string", op.text)
		}
		return likeCond(f, containsPattern(lit.text), op.text == "!~"), nil
	}
	value, ok := literalValue(f, lit)
	if !ok {
		return cond{}, fieldProblem(f.JSON, mustBe(f)+" (filter position "+strconv.Itoa(lit.pos)+")")
	}
	return compareCond(f, filterOps[op.text], value), nil
}

// literalValue converts a literal to the field's type. The literal must be
// written as the kind is, a quoted string for text and timestamps, a number
// for numeric fields, true or false for booleans; its text is then read as
// every value written as text is.
func literalValue(f *introspect.Field, lit token) (any, bool) {
	var want tokenKind
	switch f.Kind {
	case introspect.KindString, introspect.KindTime:
		want = tokString
	case introspect.KindInt, introspect.KindUint, introspect.KindFloat:
		want = tokNumber
	case introspect.KindBool:
		want = tokIdent
	default:
		return nil, false
	}
	if lit.kind != want {
		return nil, false
	}
	return parseText(f.Kind, lit.text)
}
