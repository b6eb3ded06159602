package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// decodeBody reads a JSON object from the request into rec (an addressable
// struct value of res) and returns the fields it set. withDeleted says
// whether the caller may see the deletion fields; for anyone else they are
// unknown fields. Every key must name a
// writable field and hold a value of its type; all faults are reported
// together, each naming its field.
func decodeBody(c echo.Context, res *introspect.Resource, rec reflect.Value, withDeleted bool) ([]*introspect.Field, error) {
	if err := checkJSONBody(c); err != nil {
		return nil, err
	}
	raw, err := readBody(c.Request())
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, NewProblem(http.StatusBadRequest, "the request body must be a JSON object")
	}
	if !utf8.Valid(raw) {
		return nil, NewProblem(http.StatusBadRequest, "the request body is not valid UTF-8")
	}
	return decodeObject(res, rec, raw, withDeleted)
}

// readBody reads a request body within its limit: past it, a 413.
func readBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, NewProblem(http.StatusRequestEntityTooLarge, "the request body is too large")
		}
		return nil, NewProblem(http.StatusBadRequest, "the request body could not be read")
	}
	return raw, nil
}

// checkJSONBody refuses a request body that is not plain JSON: coded, or
// of another media type.
func checkJSONBody(c echo.Context) error {
	// The body is read as it arrives: a coded one (gzip, say) would be
	// taken for malformed JSON, or worse for JSON it is not. This is
	// checked here, where bodies are read, rather than for every route,
	// since a GET or DELETE carries no body for the header to describe.
	if coding, ok := unsupportedCoding(c.Request().Header.Values("Content-Encoding")); ok {
		// RFC 7694: tell the client which codings it may use instead.
		c.Response().Header().Set("Accept-Encoding", "identity")
		return Problemf(http.StatusUnsupportedMediaType, "Content-Encoding %s is not supported; send the body unencoded", strconv.Quote(coding))
	}
	// A JSON content type is required: it keeps plain HTML forms, which
	// browsers send cross-site without asking, away from every write.
	mt, params, err := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if mt == "application/json-patch+json" {
		// A list of operations (RFC 6902), not an object: read as one it
		// would mean something else.
		c.Response().Header().Set("Accept-Patch", acceptPatch)
		return NewProblem(http.StatusUnsupportedMediaType, "JSON Patch is not supported; send the fields to change as application/json or application/merge-patch+json")
	}
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) ||
		(params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return NewProblem(http.StatusUnsupportedMediaType, "the request body must be application/json (UTF-8)")
	}
	return nil
}

// unsupportedCoding returns the first content coding in the
// Content-Encoding values that is not "identity", the only one the
// framework reads (at most 64 bytes of it, for the problem's detail).
func unsupportedCoding(values []string) (string, bool) {
	for _, v := range values {
		for _, coding := range strings.Split(v, ",") {
			coding = strings.TrimSpace(coding)
			if coding == "" || strings.EqualFold(coding, "identity") {
				continue
			}
			if len(coding) > 64 {
				coding = strings.ToValidUTF8(coding[:64], "")
			}
			return coding, true
		}
	}
	return "", false
}

// decodeObject decodes the JSON object raw (valid UTF-8) into rec and
// returns the fields it set. Each value is read as encoding/json reads it
// into that field of the model; on top of that the framework refuses
// unknown and read-only keys (matched exactly, not case-insensitively),
// repeated keys, null for a field that cannot hold it, and strings with a
// NUL character, which the databases cannot store. withDeleted tells
// whether the caller may see the soft-delete column.
func decodeObject(res *introspect.Resource, rec reflect.Value, raw []byte, withDeleted bool) ([]*introspect.Field, error) {
	members, err := splitObject(raw)
	if err != nil {
		return nil, err
	}
	var (
		set  []*introspect.Field
		errs []FieldError
	)
	for _, m := range members {
		key := m.key
		f, ok := res.FieldByJSON(key)
		if ok && res.IsDeletionField(f) && !withDeleted {
			// For a caller who may not see it, the column does not exist.
			ok = false
		}
		switch {
		case !ok:
			errs = append(errs, FieldError{Field: key, Message: "unknown field"})
			continue
		case f.ReadOnly:
			errs = append(errs, FieldError{Field: key, Message: "read-only field"})
			continue
		}
		value := m.value
		if string(value) == "null" && !f.Nullable {
			errs = append(errs, FieldError{Field: key, Message: "must not be null"})
			continue
		}
		target := f.Value(rec)
		// A string decodeScalar takes has no escapes, so no NUL either.
		if f.Codec == introspect.CodecScalar && decodeScalar(target, value) {
			set = append(set, f)
			continue
		}
		// A fresh value, so that a failed decode leaves nothing half set.
		fresh, err := f.StdDecode(value)
		if err != nil {
			errs = append(errs, FieldError{Field: key, Message: mismatch(f)})
			continue
		}
		if hasNUL(fresh) {
			errs = append(errs, FieldError{Field: key, Message: "must not contain NUL characters"})
			continue
		}
		target.Set(fresh)
		set = append(set, f)
	}
	if len(errs) > 0 {
		p := NewProblem(http.StatusBadRequest, "the request body is invalid", errs...)
		if len(errs) == 1 {
			p.Detail = errs[0].Field + ": " + errs[0].Message
		}
		return nil, p
	}
	return set, nil
}

// mismatch words the error for a value encoding/json would not take.
func mismatch(f *introspect.Field) string {
	switch {
	case f.Quoted:
		return "must be a string holding " + article(f.Kind) + " " + f.Kind.String()
	case f.Time == introspect.TimeValue || f.Time == introspect.TimePointer || f.Time == introspect.BunNullTime:
		// Their JSON methods read RFC 3339 strings.
	case f.CustomJSON || f.Kind == introspect.KindOther || f.Time == introspect.SQLNullTime:
		// The type reads a form of its own (sql.NullTime, for one, the
		// object {"Time":...,"Valid":...}); only the model knows which.
		return "is not a valid value"
	}
	return "must be " + article(f.Kind) + " " + f.Kind.String()
}

// hasNUL reports whether a decoded string value, or the string a pointer
// points to, holds a NUL character.
func hasNUL(v reflect.Value) bool {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	return v.Kind() == reflect.String && strings.IndexByte(v.String(), 0) >= 0
}

// member is one key of a JSON object and its raw value.
type member struct {
	key   string
	value []byte
}

// splitObject splits the JSON object raw into its members, sorted by key
// so that errors come in a stable order. A repeated key is a 400: a map
// would keep the last of two silently.
//
// encoding/json offers no way to list an object's members without a
// token-by-token Decoder, which allocates for every token and was the
// largest cost of a create. So a valid object (json.Valid, which does not
// allocate) is split here by a walk that only has to find where each
// member ends; an invalid one goes to the Decoder, whose errors say where.
func splitObject(raw []byte) ([]member, error) {
	if !json.Valid(raw) {
		_, err := objectMembers(raw)
		if err == nil {
			err = NewProblem(http.StatusBadRequest, "the request body is not valid JSON")
		}
		return nil, err
	}
	members := make([]member, 0, 8)
	i := 1 // past the opening brace
	for {
		i = skipSpace(raw, i)
		switch raw[i] {
		case '}':
			slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
			for j := 1; j < len(members); j++ {
				if members[j].key == members[j-1].key {
					return nil, fieldProblem(members[j].key, "is given more than once")
				}
			}
			return members, nil
		case ',':
			i++
			continue
		}
		end := stringEnd(raw, i)
		var key string
		if quoted := raw[i:end]; bytes.IndexByte(quoted, '\\') < 0 {
			key = string(quoted[1 : len(quoted)-1])
		} else if err := json.Unmarshal(quoted, &key); err != nil {
			return nil, NewProblem(http.StatusBadRequest, "the request body is not valid JSON")
		}
		i = skipSpace(raw, end) + 1 // past the colon
		i = skipSpace(raw, i)
		end = valueEnd(raw, i)
		members = append(members, member{key: key, value: raw[i:end]})
		i = end
	}
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at i.
func stringEnd(raw []byte, i int) int {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(raw)
}

// valueEnd returns the index just past the JSON value starting at i.
func valueEnd(raw []byte, i int) int {
	switch raw[i] {
	case '"':
		return stringEnd(raw, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				j = stringEnd(raw, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(raw)
	}
	j := i
	for j < len(raw) && !strings.ContainsRune(",}] \t\r\n", rune(raw[j])) {
		j++
	}
	return j
}

// decodeScalar sets target, a CodecScalar field, from a plain JSON
// string, number, boolean or null without encoding/json's reflection, and
// reports whether it did. Anything it cannot take as is (escapes,
// fractions into integers, overflow, a value of another type) is left to
// encoding/json, which also decides the errors.
func decodeScalar(target reflect.Value, value []byte) bool {
	if target.Kind() == reflect.Pointer {
		if string(value) == "null" {
			target.SetZero()
			return true
		}
		p := reflect.New(target.Type().Elem())
		if !decodeScalar(p.Elem(), value) {
			return false
		}
		target.Set(p)
		return true
	}
	switch target.Kind() {
	case reflect.String:
		if n := len(value); n >= 2 && value[0] == '"' && value[n-1] == '"' && bytes.IndexByte(value, '\\') < 0 {
			target.SetString(string(value[1 : n-1]))
			return true
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, err := strconv.ParseInt(string(value), 10, target.Type().Bits()); err == nil {
			target.SetInt(n)
			return true
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, err := strconv.ParseUint(string(value), 10, target.Type().Bits()); err == nil {
			target.SetUint(n)
			return true
		}
	case reflect.Float32, reflect.Float64:
		// value is valid JSON, so a value starting so is a JSON number,
		// which ParseFloat reads as encoding/json does.
		if len(value) > 0 && (value[0] == '-' || value[0] >= '0' && value[0] <= '9') {
			if x, err := strconv.ParseFloat(string(value), target.Type().Bits()); err == nil {
				target.SetFloat(x)
				return true
			}
		}
	case reflect.Bool:
		switch string(value) {
		case "true":
			target.SetBool(true)
			return true
		case "false":
			target.SetBool(false)
			return true
		}
	}
	return false
}

// objectMembers splits a JSON object into its members with encoding/json's
// Decoder, for the errors of an invalid body.
func objectMembers(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	syntax := func(err error) error {
		return NewProblem(http.StatusBadRequest, "the request body is not valid JSON: "+jsonSyntaxDetail(err))
	}
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil, syntax(err)
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, syntax(err)
		}
		if _, dup := members[key]; dup {
			return nil, fieldProblem(key, "is given more than once")
		}
		members[key] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, NewProblem(http.StatusBadRequest, "the request body has data after the JSON object")
	}
	return members, nil
}

// jsonSyntaxDetail describes a JSON syntax error by position only; the
// decoder's own text can quote the input back.
func jsonSyntaxDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "the body must be a JSON object"
	}
	return "malformed JSON"
}
