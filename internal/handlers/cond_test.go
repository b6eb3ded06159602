package handlers

import (
	"reflect"
	"strings"
	"testing"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// simpleOps pairs each operator of the simple form with the expression
// operator that means the same; like and null are handled apart.
var simpleOps = []struct{ simple, expr string }{
	{opEq, "="}, {opNe, "!="}, {opGt, ">"}, {opGte, ">="}, {opLt, "<"}, {opLte, "<="}, {opLike, "~"}, {opNull, ""},
}

// quoteFilterString writes s as an expression's double-quoted string.
func quoteFilterString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// equivalentFilter returns the simple filter (parameter and value) and
// the expression that mean "field op value", ok false when the expression
// form has no equivalent.
func equivalentFilter(f *introspect.Field, simple, expr, v string) (param, value, filter string, ok bool) {
	name := f.JSON
	switch simple {
	case opLike:
		// Only a pattern with a wildcard at each end, and none inside,
		// is a contains.
		if strings.Contains(v, "*") {
			return "", "", "", false
		}
		return name + "[like]", "*" + v + "*", name + " ~ " + quoteFilterString(v), true
	case opNull:
		switch v {
		case "true":
			return name + "[null]", v, name + " = null", true
		case "false":
			return name + "[null]", v, name + " != null", true
		}
		return "", "", "", false
	}
	literal := v
	if f.Kind == introspect.KindString || f.Kind == introspect.KindTime {
		literal = quoteFilterString(v)
	}
	return name + "[" + simple + "]", v, name + " " + expr + " " + literal, true
}

// FuzzSimpleMatchesFilter checks that a simple filter and the equivalent
// expression parse to the same node: the same SQL and the same arguments.
func FuzzSimpleMatchesFilter(f *testing.F) {
	for _, seed := range []struct {
		field, op uint8
		value     string
	}{
		{0, 0, "1"}, {1, 3, "-2"}, {2, 6, `go_100%\`}, {2, 0, `a"b'c`}, {3, 4, "1.5e3"},
		{4, 0, "true"}, {6, 7, "false"}, {6, 2, "2026-01-01T00:00:00Z"}, {2, 7, "true"},
	} {
		f.Add(seed.field, seed.op, seed.value, true)
		f.Add(seed.field, seed.op, seed.value, false)
	}
	res := filterResource(f)
	limits := FilterLimits{MaxLength: 1 << 20, MaxConditions: 50}
	f.Fuzz(func(t *testing.T, field, op uint8, v string, withDeleted bool) {
		fld := res.Fields[int(field)%len(res.Fields)]
		ops := simpleOps[int(op)%len(simpleOps)]
		param, value, expr, ok := equivalentFilter(fld, ops.simple, ops.expr, v)
		if !ok {
			return
		}
		simple, err := parseCondition(param, value, res, withDeleted)
		if err != nil {
			return
		}
		tree, err := parseFilter(expr, res, withDeleted, limits)
		if err != nil {
			switch fld.Kind {
			case introspect.KindInt, introspect.KindUint, introspect.KindFloat:
				// The simple form reads numbers Go's way ("+5", "NaN",
				// "0x1p3"); the expression's number tokens are a subset.
				return
			}
			t.Fatalf("%s=%q is accepted but %q is not: %v", param, value, expr, err)
		}
		// A lone comparison is an || of one && of one.
		if tree.kind != condOr || len(tree.operands) != 1 || tree.operands[0].kind != condAnd || len(tree.operands[0].operands) != 1 {
			t.Fatalf("%q is not one comparison", expr)
		}
		got, want := render(&tree.operands[0].operands[0], false), render(&simple, false)
		if got.query != want.query || !reflect.DeepEqual(got.args, want.args) {
			t.Fatalf("%s=%q renders %s %v, but %q renders %s %v", param, value, want.query, want.args, expr, got.query, got.args)
		}
	})
}
