package handlers

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzSplitObject checks the hand-written member split against
// encoding/json: for every valid object without repeated keys, the same
// keys with the same values; for anything else, an error.
func FuzzSplitObject(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a":1}`, `{ "a" : "x,}" , "b":[1,{"c":"]"}], "d":{"e":null} }`,
		`{"\u0061b":true,"k\"":-1.5e3}`, `{"a":1,"a":2}`, `{"a":1} {}`, `{"a":}`, `{"a":"\\"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// decodeBody hands it only UTF-8 objects.
		if len(raw) == 0 || raw[0] != '{' || !utf8.Valid(raw) {
			return
		}
		members, err := splitObject(raw)
		var want map[string]json.RawMessage
		if !json.Valid(raw) || json.Unmarshal(raw, &want) != nil {
			if err == nil {
				t.Fatalf("%q: split an invalid object", raw)
			}
			return
		}
		if err != nil {
			if len(want) == countKeys(t, raw) {
				t.Fatalf("%q: %v, but encoding/json reads %d distinct keys", raw, err, len(want))
			}
			return
		}
		if len(members) != len(want) {
			t.Fatalf("%q: %d members, encoding/json %d", raw, len(members), len(want))
		}
		for _, m := range members {
			if w, ok := want[m.key]; !ok || !bytes.Equal(m.value, w) {
				t.Fatalf("%q: member %q = %q, encoding/json %q", raw, m.key, m.value, w)
			}
		}
	})
}

// countKeys counts the keys of an object, repeats included.
func countKeys(t *testing.T, raw []byte) int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
