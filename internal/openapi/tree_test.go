package openapi

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// ownJSON is a map type with JSON of its own.
type ownJSON map[string]int

func (ownJSON) MarshalJSON() ([]byte, error) { return []byte(`"custom"`), nil }

// TestTreeKeepsTypesOfTheirOwnJSON: a value whose type writes its own
// JSON (a default or an example of a user's type) is written as that
// type writes it, as json.Marshal of the document does.
func TestTreeKeepsTypesOfTheirOwnJSON(t *testing.T) {
	doc := &openapi3.Schema{Default: ownJSON{"a": 1}, Example: []any{ownJSON{"b": 2}, json.RawMessage(`{"x":1}`)}}
	want, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tree(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("tree writes %s, json.Marshal %s", got, want)
	}
}
