package handlers

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/autoapi-go/autoapi/introspect"
)

// appendRecord appends the JSON object for one record (a struct value) with
// the given fields. It walks the precomputed field list instead of calling
// json.Marshal on the model, so that fields the caller may not see (the
// soft-delete column, json:"-") are never serialised, not even as null.
//
// includes, when given, follow the fields as members of their own.
func appendRecord(b []byte, v reflect.Value, fields []*introspect.Field, includes []*include) ([]byte, error) {
	b = append(b, '{')
	first := true
	for _, f := range fields {
		fv := f.Value(v)
		if f.OmitEmpty && fv.IsZero() {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.JSONKey()...)
		var err error
		if b, err = appendValue(b, f, fv); err != nil {
			return nil, err
		}
	}
	if len(includes) > 0 {
		var err error
		if b, err = appendIncludes(b, v, includes); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, f *introspect.Field, v reflect.Value) ([]byte, error) {
	if f.Time != introspect.NotTime {
		t, ok := f.TimeOf(v)
		if !ok {
			return append(b, "null"...), nil
		}
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		v = v.Elem()
	}
	switch f.Kind {
	case introspect.KindInt:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case introspect.KindUint:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case introspect.KindBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case introspect.KindString:
		return appendString(b, v.String()), nil
	case introspect.KindFloat:
		if x := v.Float(); !math.IsInf(x, 0) && !math.IsNaN(x) && x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.AppendInt(b, int64(x), 10), nil
		}
	}
	raw, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped the way encoding/json
// escapes it (HTML-safe). encoding/json has no append-style API, and
// marshalling each string separately would allocate once per field.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
