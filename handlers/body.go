package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/autoapi-go/autoapi/introspect"
)

// decodeBody reads a JSON object from the request into rec (an addressable
// struct value) and returns the fields it set. Every key must name a
// writable field and hold a value of its type; all faults are reported
// together, each naming its field.
func (c *Context) decodeBody(rec reflect.Value) ([]*introspect.Field, error) {
	// A JSON content type is required: it keeps plain HTML forms, which
	// browsers send cross-site without asking, away from every write.
	mt, params, err := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) ||
		(params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return nil, NewProblem(http.StatusUnsupportedMediaType, "the request body must be application/json (UTF-8)")
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, NewProblem(http.StatusRequestEntityTooLarge, "the request body is too large")
		}
		return nil, NewProblem(http.StatusBadRequest, "the request body could not be read")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, NewProblem(http.StatusBadRequest, "the request body must be a JSON object")
	}
	if !utf8.Valid(raw) {
		return nil, NewProblem(http.StatusBadRequest, "the request body is not valid UTF-8")
	}
	members, err := objectMembers(raw)
	if err != nil {
		return nil, err
	}

	res := c.ep.Resource
	var (
		set  []*introspect.Field
		errs []FieldError
	)
	for _, key := range slices.Sorted(maps.Keys(members)) {
		f, ok := res.FieldByJSON(key)
		if ok && res.IsDeletionField(f) && !c.canSeeDeleted(res) {
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
		value := members[key]
		if string(value) == "null" && !f.Nullable {
			errs = append(errs, FieldError{Field: key, Message: "must not be null"})
			continue
		}
		if f.Kind == introspect.KindString && bytes.Contains(value, []byte(`\u0000`)) {
			errs = append(errs, FieldError{Field: key, Message: "must not contain NUL characters"})
			continue
		}
		target := f.Value(rec)
		// Decode into a fresh value so a failed decode leaves nothing half
		// set, then copy it over.
		fresh := reflect.New(target.Type())
		if err := json.Unmarshal(value, fresh.Interface()); err != nil {
			errs = append(errs, FieldError{Field: key, Message: "must be " + article(f.Kind) + " " + f.Kind.String()})
			continue
		}
		target.Set(fresh.Elem())
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

// objectMembers splits a JSON object into its members. It walks the
// tokens rather than unmarshalling into a map, because a map would keep
// the last of two equal keys silently; a repeated key is a 400.
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
