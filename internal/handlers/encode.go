package handlers

import (
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// appendRecord appends the JSON object for one record (a struct value) with
// the given fields. It walks the precomputed field list instead of calling
// json.Marshal on the model, so that fields the caller may not see (the
// soft-delete column, json:"-") are never serialised, not even as null.
// Each field is written as json.Marshal would write it in the model (see
// introspect.Codec), the framework's timestamps aside.
//
// includes, when given, follow the fields as members of their own.
func appendRecord(b []byte, v reflect.Value, fields []*introspect.Field, includes []*include) ([]byte, error) {
	b = append(b, '{')
	first := true
	for _, f := range fields {
		fv := f.Value(v)
		if f.Omit(fv) {
			continue
		}
		mark := len(b)
		if !first {
			b = append(b, ',')
		}
		b = append(b, f.JSONKey()...)
		var (
			omitted bool
			err     error
		)
		if b, omitted, err = appendValue(b, f, fv); err != nil {
			return nil, err
		}
		if omitted {
			b = b[:mark]
			continue
		}
		first = false
	}
	if len(includes) > 0 {
		var err error
		if b, err = appendIncludes(b, v, includes); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendValue appends the JSON value of the field f holding v; omitted
// reports that encoding/json leaves it out (CodecStd decides that while
// encoding).
func appendValue(b []byte, f *introspect.Field, fv reflect.Value) (_ []byte, omitted bool, err error) {
	v := fv // the value, past a pointer; fv stays the field's for StdAppend
	switch f.Codec {
	case introspect.CodecTimestamp:
		t, ok := f.TimeOf(v)
		if !ok {
			return append(b, "null"...), false, nil
		}
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), false, nil
	case introspect.CodecTime:
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return append(b, "null"...), false, nil
			}
			v = v.Elem()
		}
		if out, ok := appendTime(b, v.Interface().(time.Time)); ok {
			return out, false, nil
		}
	case introspect.CodecScalar:
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return append(b, "null"...), false, nil
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.String:
			return appendString(b, v.String()), false, nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return strconv.AppendInt(b, v.Int(), 10), false, nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return strconv.AppendUint(b, v.Uint(), 10), false, nil
		case reflect.Bool:
			return strconv.AppendBool(b, v.Bool()), false, nil
		case reflect.Float32:
			if x := v.Float(); !math.IsInf(x, 0) && !math.IsNaN(x) {
				return appendFloat(b, x, 32), false, nil
			}
		case reflect.Float64:
			if x := v.Float(); !math.IsInf(x, 0) && !math.IsNaN(x) {
				return appendFloat(b, x, 64), false, nil
			}
		}
	}
	// Everything else, and the values above that encoding/json refuses
	// (NaN, years past 9999), so that its error is the one returned.
	return f.StdAppend(b, fv)
}

// appendTime appends t as time.Time's MarshalJSON does, or reports false
// for the times it refuses: a year outside 0-9999 or a zone offset of a
// day or more.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	if _, off := t.Zone(); off <= -24*60*60 || off >= 24*60*60 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendFloat appends a finite x as encoding/json writes a float of the
// given bit size: like ES6 number-to-string, exponents from 1e21 and below
// 1e-6, written without padding.
func appendFloat(b []byte, x float64, bits int) []byte {
	format := byte('f')
	if abs := math.Abs(x); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, x, format, -1, bits)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
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
