package openapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

func TestValidateTagsBecomeKeywords(t *testing.T) {
	str := reflect.TypeFor[string]()
	i64 := reflect.TypeFor[int64]()
	f64 := reflect.TypeFor[float64]()
	for _, c := range []struct {
		kind     introspect.Kind
		typ      reflect.Type
		tag      string
		want     string
		required bool
	}{
		{introspect.KindString, str, "required,max=10", `{"maxLength":10,"minLength":1,"type":"string"}`, true},
		{introspect.KindString, str, "required,min=3", `{"minLength":3,"type":"string"}`, true},
		// A pointer's required is "not nil": "" passes.
		{introspect.KindString, reflect.TypeFor[*string](), "required", `{"type":"string"}`, true},
		{introspect.KindInt, i64, "required", `{"format":"int64","type":"integer"}`, true},
		{introspect.KindString, str, "min=2,max=5", `{"maxLength":5,"minLength":2,"type":"string"}`, false},
		{introspect.KindString, str, "len=3", `{"maxLength":3,"minLength":3,"type":"string"}`, false},
		{introspect.KindString, str, "gt=2,lt=5", `{"maxLength":4,"minLength":3,"type":"string"}`, false},
		{introspect.KindString, str, "email", `{"format":"email","type":"string"}`, false},
		{introspect.KindString, str, "url", `{"format":"uri","type":"string"}`, false},
		{introspect.KindString, str, "uuid", `{"format":"uuid","type":"string"}`, false},
		{introspect.KindString, str, "oneof=a b", `{"enum":["a","b"],"type":"string"}`, false},
		{introspect.KindInt, i64, "gte=1,lte=9", `{"format":"int64","maximum":9,"minimum":1,"type":"integer"}`, false},
		{introspect.KindInt, i64, "gt=0,lt=10", `{"exclusiveMaximum":10,"exclusiveMinimum":0,"format":"int64","type":"integer"}`, false},
		{introspect.KindInt, i64, "oneof=1 2", `{"enum":[1,2],"format":"int64","type":"integer"}`, false},
		{introspect.KindFloat, f64, "max=1.5", `{"format":"double","maximum":1.5,"type":"number"}`, false},
		// What has no exact keyword is left out.
		{introspect.KindString, str, "omitempty,email,max=3", `{"type":"string"}`, false},
		{introspect.KindString, str, "required_without=Other", `{"type":"string"}`, false},
		{introspect.KindString, str, "email|url", `{"type":"string"}`, false},
		{introspect.KindString, str, "alphanum,startswith=x", `{"type":"string"}`, false},
		{introspect.KindInt, i64, "oneof=1 x", `{"format":"int64","type":"integer"}`, false},
	} {
		f := &introspect.Field{Kind: c.kind, Type: c.typ, Validate: c.tag}
		s := valueSchema(f)
		required := constrain(s, f)
		got, _ := json.Marshal(s)
		if string(got) != c.want || required != c.required {
			t.Errorf("%q: %s required=%v, want %s required=%v", c.tag, got, required, c.want, c.required)
		}
	}
}

func TestFieldTypes(t *testing.T) {
	for _, c := range []struct {
		f    introspect.Field
		want string
	}{
		{introspect.Field{Kind: introspect.KindInt, Type: reflect.TypeFor[int16]()}, `{"format":"int32","maximum":32767,"minimum":-32768,"type":"integer"}`},
		{introspect.Field{Kind: introspect.KindUint, Type: reflect.TypeFor[uint8]()}, `{"format":"int64","maximum":255,"minimum":0,"type":"integer"}`},
		{introspect.Field{Kind: introspect.KindTime, Type: reflect.TypeFor[*time.Time](), Nullable: true}, `{"format":"date-time","type":["string","null"]}`},
		{introspect.Field{Kind: introspect.KindBool, Type: reflect.TypeFor[bool]()}, `{"type":"boolean"}`},
		{introspect.Field{Kind: introspect.KindInt, Type: reflect.TypeFor[int64](), Quoted: true}, `{"type":"string"}`},
		{introspect.Field{Kind: introspect.KindOther, Type: reflect.TypeFor[map[string]any]()}, `{}`},
	} {
		got, _ := json.Marshal(fieldSchema(&c.f))
		if string(got) != c.want {
			t.Errorf("%v: %s, want %s", c.f.Type, got, c.want)
		}
	}
}
