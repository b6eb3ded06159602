package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// yamlMarshaler is how kin-openapi's types say what they are: each one's
// MarshalJSON is json.Marshal of its MarshalYAML.
type yamlMarshaler interface {
	MarshalYAML() (any, error)
}

// tree returns v as plain JSON values: maps of string keys, slices, and
// leaves that encoding/json writes as they are.
//
// json.Marshal(doc) writes the same text, but kin-openapi's types each
// implement MarshalJSON by marshalling their MarshalYAML, and encoding/json
// checks and compacts the output of every nested MarshalJSON again in its
// parent: a schema six levels deep is scanned six times, which made
// writing a document most of what building one cost. Taking the tree of
// MarshalYAML values once, and writing it with one json.Marshal, gives the
// same bytes (TestTreeWritesWhatKinWrites) in a fraction of the time, and
// the tree is what prune walks.
func tree(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if m, ok := v.(yamlMarshaler); ok {
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			// A nil pointer of a kin type: its MarshalYAML may answer for
			// it (nil), or dereference it; encoding/json writes null.
			return nil, nil
		}
		x, err := m.MarshalYAML()
		if err != nil {
			return nil, err
		}
		if _, same := x.(yamlMarshaler); same && reflect.TypeOf(x) == reflect.TypeOf(v) {
			return nil, fmt.Errorf("openapi: %T marshals as itself", v)
		}
		return tree(x)
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			t, err := tree(e)
			if err != nil {
				return nil, err
			}
			out[k] = t
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			t, err := tree(e)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	case string, bool, float64, int, int64, uint64, json.Number, json.RawMessage:
		return v, nil
	}
	if _, ok := v.(json.Marshaler); ok {
		return v, nil // a type of its own JSON, not kin's
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return tree(rv.Elem().Interface())
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return v, nil
		}
		if rv.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			t, err := tree(it.Value().Interface())
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = t
		}
		return out, nil
	case reflect.Slice:
		if rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return v, nil // []byte: base64, as encoding/json writes it
		}
		fallthrough
	case reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			t, err := tree(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}
	// Numbers, strings and structs of other types: encoding/json writes
	// them as they are.
	return v, nil
}
