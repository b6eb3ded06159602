package introspect

import (
	"database/sql"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// Kind is the value class of a field, decided once at registration so the
// request path can parse and encode values without reflecting on types.
type Kind int

// Field kinds.
const (
	KindOther Kind = iota
	KindString
	KindInt
	KindUint
	KindFloat
	KindBool
	KindTime
)

// String names the kind the way error messages to API clients describe it.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt, KindUint:
		return "integer"
	case KindFloat:
		return "number"
	case KindBool:
		return "boolean"
	case KindTime:
		return "RFC 3339 timestamp"
	default:
		return "value"
	}
}

// TimeShape says how a timestamp is held in Go; soft-delete and automatic
// timestamp columns support exactly these.
type TimeShape int

// Supported timestamp shapes.
const (
	NotTime TimeShape = iota
	TimeValue
	TimePointer
	BunNullTime
	SQLNullTime
)

var (
	timeType        = reflect.TypeFor[time.Time]()
	bunNullTimeType = reflect.TypeFor[bun.NullTime]()
	sqlNullTimeType = reflect.TypeFor[sql.NullTime]()
)

func timeShapeOf(t reflect.Type) TimeShape {
	switch t {
	case timeType:
		return TimeValue
	case reflect.PointerTo(timeType):
		return TimePointer
	case bunNullTimeType:
		return BunNullTime
	case sqlNullTimeType:
		return SQLNullTime
	}
	return NotTime
}

// Field describes one column of a resource.
type Field struct {
	// GoName is the struct field name, e.g. "UserID".
	GoName string
	// JSON is the name in request and response bodies and in query
	// parameters, e.g. "userId". Empty for hidden fields.
	JSON string
	// Column is the SQL column name, e.g. "user_id".
	Column string
	// Ident is the quoted column name, safe to embed in SQL.
	Ident schema.Safe
	// Kind classifies the value for parsing and encoding.
	Kind Kind
	// Time is the timestamp shape, or NotTime.
	Time TimeShape
	// Nullable reports whether JSON null is a meaningful value for the field.
	Nullable bool
	// NullInDB reports whether the column can hold NULL: a nullable Go
	// type, bun's nullzero, or the soft-delete column.
	NullInDB bool
	// Hidden fields (json:"-") are never read from or written to JSON.
	Hidden bool
	// ReadOnly fields may not be set by a client.
	ReadOnly bool
	// OmitEmpty mirrors the json tag's omitempty option.
	OmitEmpty bool
	// Validate is the field's `validate` tag (go-playground/validator).
	Validate string
	// Unique names the unique group of the field's autoapi:"unique" tag
	// ("" when it has none).
	Unique string
	// Index is the reflect index path into the struct.
	Index []int
	// Type is the Go type of the field.
	Type reflect.Type
	// PlainJSON reports whether encoding/json decodes the field by its
	// kind alone: a string, integer or boolean type with no UnmarshalJSON
	// or UnmarshalText method and no ",string" option, which a body
	// decoder may then read without encoding/json.
	PlainJSON bool

	// jsonKey is `"name":` pre-encoded for the response writer.
	jsonKey []byte
	pk      bool
}

// JSONKey returns the field's JSON name encoded as an object key with its
// trailing colon.
func (f *Field) JSONKey() []byte { return f.jsonKey }

// Value returns the field of the struct v (a struct value, not a pointer).
func (f *Field) Value(v reflect.Value) reflect.Value { return v.FieldByIndex(f.Index) }

// TimeOf reads a timestamp field of any supported shape; ok is false when the
// value is null or, for time.Time, zero.
func (f *Field) TimeOf(v reflect.Value) (t time.Time, ok bool) {
	switch f.Time {
	case TimeValue:
		t = v.Interface().(time.Time)
		return t, !t.IsZero()
	case TimePointer:
		if v.IsNil() {
			return time.Time{}, false
		}
		t = *(v.Interface().(*time.Time))
		return t, true
	case BunNullTime:
		t = v.Interface().(bun.NullTime).Time
		return t, !t.IsZero()
	case SQLNullTime:
		nt := v.Interface().(sql.NullTime)
		return nt.Time, nt.Valid
	}
	return time.Time{}, false
}

// SetTime stores t into a timestamp field of any supported shape.
func (f *Field) SetTime(v reflect.Value, t time.Time) {
	switch f.Time {
	case TimeValue:
		v.Set(reflect.ValueOf(t))
	case TimePointer:
		v.Set(reflect.ValueOf(&t))
	case BunNullTime:
		v.Set(reflect.ValueOf(bun.NullTime{Time: t}))
	case SQLNullTime:
		v.Set(reflect.ValueOf(sql.NullTime{Time: t, Valid: true}))
	}
}

func kindOf(t reflect.Type) Kind {
	if timeShapeOf(t) != NotTime {
		return KindTime
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return KindTime
	}
	switch t.Kind() {
	case reflect.String:
		return KindString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return KindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KindUint
	case reflect.Float32, reflect.Float64:
		return KindFloat
	case reflect.Bool:
		return KindBool
	}
	return KindOther
}

// nullable reports whether a Go type can hold SQL NULL, so that a JSON null
// in a request body means something for it.
func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return true
	}
	if t == bunNullTimeType {
		return true
	}
	// sql.NullString, sql.NullInt64 and friends implement sql.Scanner on
	// their pointer and carry a Valid flag.
	if t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(scannerType) {
		if _, ok := t.FieldByName("Valid"); ok {
			return true
		}
	}
	return false
}

var scannerType = reflect.TypeFor[sql.Scanner]()

func encodeKey(name string) []byte {
	b, _ := json.Marshal(name)
	return append(b, ':')
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// plainJSON computes Field.PlainJSON for a field of type t with json tag
// options opts.
func plainJSON(t reflect.Type, opts string) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
	default:
		return false
	}
	for _, o := range strings.Split(opts, ",") {
		if o == "string" {
			return false
		}
	}
	pt := reflect.PointerTo(t)
	return !pt.Implements(jsonUnmarshalerType) && !pt.Implements(textUnmarshalerType)
}
