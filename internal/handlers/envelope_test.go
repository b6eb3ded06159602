package handlers

import (
	"reflect"
	"testing"
)

// TestDataTagIsDataMember: the one envelope member a struct tag spells out
// is the same as the constant everything else uses.
func TestDataTagIsDataMember(t *testing.T) {
	f, _ := reflect.TypeFor[Data[int]]().FieldByName("Data")
	if tag := f.Tag.Get("json"); tag != DataMember {
		t.Errorf("Data's json tag is %q, want DataMember %q", tag, DataMember)
	}
}
