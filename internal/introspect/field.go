package introspect

import (
	"database/sql"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
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
	// Search reports the autoapi:"search" tag: the field is searched with
	// contains (~), and Migrate gives it a trigram index on PostgreSQL.
	Search bool
	// Index is the reflect index path into the struct.
	Index []int
	// Type is the Go type of the field.
	Type reflect.Type
	// OmitZero mirrors the json tag's omitzero option.
	OmitZero bool
	// Quoted reports the json tag's ",string" option.
	Quoted bool
	// CustomJSON reports that the type (or a pointer to it) has its own
	// MarshalJSON, UnmarshalJSON, MarshalText or UnmarshalText method, so
	// its JSON form is the type's choice rather than its kind's.
	CustomJSON bool
	// Codec says how the field is read from and written to JSON bodies.
	Codec Codec

	// std is a struct type whose one field V has the field's type and its
	// json tag options: encoding/json marshals and unmarshals it exactly
	// as it would this field of the model.
	std reflect.Type
	// omit is encoding/json's omitempty/omitzero rule for the field's
	// value; nil when the field is always written. Unused for CodecStd,
	// where encoding/json applies the rule itself.
	omit func(reflect.Value) bool
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

// Codec says how the handlers read and write a field's JSON. Every codec
// gives the bytes encoding/json would, except CodecTimestamp, which is the
// framework's own format for the timestamps it manages; the other codecs
// exist only to skip encoding/json's reflection where that provably makes
// no difference.
type Codec int

// Field codecs.
const (
	// CodecStd reads and writes the field with encoding/json (StdAppend,
	// StdDecode): any type, custom methods and tag options included.
	CodecStd Codec = iota
	// CodecScalar is a string, boolean, integer or float type, or a
	// pointer to one, with no JSON or text methods, not json.Number, and
	// without ",string": the handlers write and read it by its kind.
	CodecScalar
	// CodecTime is time.Time or *time.Time: written by the handlers as
	// time.Time's MarshalJSON writes it, read by encoding/json.
	CodecTime
	// CodecTimestamp is the soft-delete, creation or update timestamp:
	// an RFC 3339 string, or null when NULL or zero, whatever its Go
	// shape. Clients never write these (they are read-only).
	CodecTimestamp
)

var (
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType          = reflect.TypeFor[json.Number]()
	isZeroerType        = reflect.TypeFor[interface{ IsZero() bool }]()
)

// customJSON reports whether t or *t has a method encoding/json calls
// instead of looking at the kind.
func customJSON(t reflect.Type) bool {
	for _, m := range []reflect.Type{jsonMarshalerType, jsonUnmarshalerType, textMarshalerType, textUnmarshalerType} {
		if t.Implements(m) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(m)) {
			return true
		}
	}
	return false
}

// codecOf decides, once at registration, how a field of type t is read
// and written. Anything not provably handled alike by the handlers' own
// code and encoding/json goes to encoding/json.
func codecOf(t reflect.Type, quoted bool) Codec {
	if quoted {
		return CodecStd
	}
	if t == timeType || t == reflect.PointerTo(timeType) {
		return CodecTime
	}
	e := t
	if e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	if e == numberType || customJSON(e) {
		return CodecStd
	}
	switch e.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return CodecScalar
	}
	return CodecStd
}

// quotedOption reports whether encoding/json honours ",string" on a field
// of type t: only strings, floats, integers and booleans, or an unnamed
// pointer to one, can be quoted.
func quotedOption(t reflect.Type, opts []string) bool {
	if !slices.Contains(opts, "string") {
		return false
	}
	if t.Name() == "" && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// omitRule is encoding/json's rule for leaving a field out: omitempty
// drops false, 0, "", nil pointers and interfaces, and empty arrays,
// slices and maps (never a struct); omitzero drops what the type's IsZero
// method, else reflect's IsZero, calls zero.
func omitRule(t reflect.Type, omitEmpty, omitZero bool) func(reflect.Value) bool {
	var isZero func(reflect.Value) bool
	if omitZero {
		switch {
		case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
			isZero = func(v reflect.Value) bool {
				return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
					v.Interface().(interface{ IsZero() bool }).IsZero()
			}
		case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
			isZero = func(v reflect.Value) bool {
				return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
			}
		case t.Implements(isZeroerType):
			isZero = func(v reflect.Value) bool { return v.Interface().(interface{ IsZero() bool }).IsZero() }
		case reflect.PointerTo(t).Implements(isZeroerType):
			isZero = func(v reflect.Value) bool {
				if !v.CanAddr() {
					c := reflect.New(v.Type()).Elem()
					c.Set(v)
					v = c
				}
				return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
			}
		default:
			isZero = reflect.Value.IsZero
		}
	}
	switch {
	case omitEmpty && omitZero:
		return func(v reflect.Value) bool { return isEmptyValue(v) || isZero(v) }
	case omitEmpty:
		return isEmptyValue
	case omitZero:
		return isZero
	}
	return nil
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// Omit reports whether the value v of the field is left out of a record,
// by encoding/json's omitempty and omitzero rules. For CodecStd fields
// StdAppend decides instead.
func (f *Field) Omit(v reflect.Value) bool { return f.omit != nil && f.omit(v) }

// setJSON fills in the JSON metadata of a field of type t from its json
// tag options.
func (f *Field) setJSON(t reflect.Type, opts string) {
	list := strings.Split(opts, ",")
	f.OmitEmpty = slices.Contains(list, "omitempty")
	f.OmitZero = slices.Contains(list, "omitzero")
	f.Quoted = quotedOption(t, list)
	f.CustomJSON = customJSON(t)
	f.Codec = codecOf(t, f.Quoted)
	f.omit = omitRule(t, f.OmitEmpty, f.OmitZero)
	tag := "v"
	if opts != "" {
		tag += "," + opts
	}
	f.std = reflect.StructOf([]reflect.StructField{{
		Name: "V",
		Type: t,
		Tag:  reflect.StructTag("json:" + strconv.Quote(tag)),
	}})
}

// stdPrefix is how encoding/json starts the one-field struct f.std.
const stdPrefix = `{"v":`

// StdAppend appends the field's value v as encoding/json writes it for
// this field of the model, with the field's tag options; omitted reports
// that encoding/json would leave the field out.
func (f *Field) StdAppend(b []byte, v reflect.Value) (_ []byte, omitted bool, err error) {
	w := reflect.New(f.std)
	w.Elem().Field(0).Set(v)
	raw, err := json.Marshal(w.Interface())
	if err != nil {
		return b, false, err
	}
	if len(raw) == len("{}") {
		return b, true, nil
	}
	return append(b, raw[len(stdPrefix):len(raw)-1]...), false, nil
}

// StdDecode reads the JSON value raw as encoding/json reads it into this
// field of the model, with the field's tag options, into a fresh value of
// the field's type.
func (f *Field) StdDecode(raw []byte) (reflect.Value, error) {
	doc := make([]byte, 0, len(stdPrefix)+len(raw)+1)
	doc = append(append(append(doc, stdPrefix...), raw...), '}')
	w := reflect.New(f.std)
	if err := json.Unmarshal(doc, w.Interface()); err != nil {
		return reflect.Value{}, err
	}
	return w.Elem().Field(0), nil
}
