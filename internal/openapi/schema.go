package openapi

import (
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// types returns a schema type list, with "null" added when nullable: OpenAPI
// 3.1 spells nullability as a type array.
func types(t string, nullable bool) *openapi3.Types {
	if nullable {
		return &openapi3.Types{t, "null"}
	}
	return &openapi3.Types{t}
}

// valueSchema is the schema of a field's JSON value, null left out.
func valueSchema(f *introspect.Field) *openapi3.Schema {
	if f.Quoted {
		// json's ",string" option writes numbers and booleans as strings.
		return &openapi3.Schema{Type: types("string", false)}
	}
	if f.CustomJSON && f.Kind != introspect.KindTime {
		// The type writes its own JSON: its shape is its choice, which
		// its kind does not tell.
		return &openapi3.Schema{}
	}
	t := f.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch f.Kind {
	case introspect.KindString:
		return &openapi3.Schema{Type: types("string", false)}
	case introspect.KindInt:
		s := &openapi3.Schema{Type: types("integer", false), Format: "int64"}
		if bits := intBits(t); bits <= 32 {
			s.Format = "int32"
			if bits < 32 {
				lo, hi := -math.Pow(2, float64(bits-1)), math.Pow(2, float64(bits-1))-1
				s.Min, s.Max = &lo, &hi
			}
		}
		return s
	case introspect.KindUint:
		lo := 0.0
		s := &openapi3.Schema{Type: types("integer", false), Format: "int64", Min: &lo}
		if bits := intBits(t); bits < 64 {
			hi := math.Pow(2, float64(bits)) - 1
			s.Max = &hi
		}
		return s
	case introspect.KindFloat:
		s := &openapi3.Schema{Type: types("number", false), Format: "double"}
		if t.Kind() == reflect.Float32 {
			s.Format = "float"
		}
		return s
	case introspect.KindBool:
		return &openapi3.Schema{Type: types("boolean", false)}
	case introspect.KindTime:
		return &openapi3.Schema{Type: types("string", false), Format: "date-time"}
	}
	// A struct, slice or map the JSON encoder writes as it likes: any
	// value. Guessing a shape from the Go type would be a guess.
	return &openapi3.Schema{}
}

// intBits is the width of an integer type; int and uint count as 64.
func intBits(t reflect.Type) int {
	switch t.Kind() {
	case reflect.Int8, reflect.Uint8:
		return 8
	case reflect.Int16, reflect.Uint16:
		return 16
	case reflect.Int32, reflect.Uint32:
		return 32
	}
	return 64
}

// fieldSchema is the schema of a field in a record: its value, null when
// the field can be null.
func fieldSchema(f *introspect.Field) *openapi3.Schema {
	s := valueSchema(f)
	if (f.Nullable || f.NullInDB) && s.Type != nil {
		s.Type = types((*s.Type)[0], true)
	}
	return s
}

// constrain maps the field's validate tag onto JSON Schema keywords where
// a keyword says the same thing, and reports whether the tag has
// "required". Rules without an exact keyword (cross-field rules, dive,
// alternatives with "|", rules that only apply when a value is present)
// are left out rather than approximated.
func constrain(s *openapi3.Schema, f *introspect.Field) (required bool) {
	if f.Validate == "" {
		return false
	}
	rules := strings.Split(f.Validate, ",")
	omitEmpty := false
	for _, r := range rules {
		switch r {
		case "omitempty", "omitnil", "omitzero":
			omitEmpty = true
		case "dive":
			// Rules after dive apply to elements.
			return required
		}
	}
	isString := s.Type != nil && s.Type.Includes("string") && s.Format == ""
	isNumber := s.Type != nil && (s.Type.Includes("integer") || s.Type.Includes("number"))
	for _, r := range rules {
		if strings.Contains(r, "|") {
			continue
		}
		name, arg, _ := strings.Cut(r, "=")
		switch name {
		case "required":
			required = true
			continue
		case "omitempty", "omitnil", "omitzero":
			continue
		}
		if omitEmpty {
			// The rule holds only for non-empty values; the empty value
			// passes, which a plain keyword would forbid.
			continue
		}
		switch {
		case name == "email" && isString:
			s.Format = "email"
		case (name == "url" || name == "uri") && isString:
			s.Format = "uri"
		case name == "uuid" && isString:
			s.Format = "uuid"
		case name == "oneof":
			s.Enum = enumValues(s, strings.Fields(arg))
		case isString:
			n, err := strconv.ParseUint(arg, 10, 64)
			if err != nil {
				continue
			}
			switch name {
			case "max", "lte":
				s.MaxLength = &n
			case "min", "gte":
				s.MinLength = n
			case "len":
				s.MinLength, s.MaxLength = n, &n
			case "lt":
				if n > 0 {
					m := n - 1
					s.MaxLength = &m
				}
			case "gt":
				s.MinLength = n + 1
			}
		case isNumber:
			v, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				continue
			}
			switch name {
			case "max", "lte":
				s.Max = &v
			case "min", "gte":
				s.Min = &v
			case "len", "eq":
				s.Min, s.Max = &v, &v
			case "lt":
				s.ExclusiveMax = openapi3.ExclusiveBound{Value: &v}
			case "gt":
				s.ExclusiveMin = openapi3.ExclusiveBound{Value: &v}
			}
		}
	}
	// required fails a string's zero value, "": at least one character.
	// A pointer's zero value is nil instead, and "" passes.
	if required && !omitEmpty && isString && f.Type != nil && f.Type.Kind() == reflect.String && s.MinLength == 0 {
		s.MinLength = 1
	}
	return required
}

// enumValues types the words of a oneof rule as the schema's type.
func enumValues(s *openapi3.Schema, words []string) []any {
	out := make([]any, 0, len(words))
	for _, w := range words {
		switch {
		case s.Type != nil && s.Type.Includes("integer"):
			n, err := strconv.ParseInt(w, 10, 64)
			if err != nil {
				return nil
			}
			out = append(out, n)
		case s.Type != nil && s.Type.Includes("number"):
			n, err := strconv.ParseFloat(w, 64)
			if err != nil {
				return nil
			}
			out = append(out, n)
		default:
			out = append(out, w)
		}
	}
	return out
}
