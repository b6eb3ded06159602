package handlers

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// The tests below hold the framework's record encoding and body decoding
// to encoding/json's, field shape by field shape: records must be the
// bytes json.Marshal writes for the model, and a body must be accepted or
// refused as json.Unmarshal into the model accepts or refuses it, with the
// same resulting values, save for the refusals the framework documents on
// top (unknown or read-only keys, repeated keys, null for a field that
// cannot hold it, NUL characters).

// jsonStatus is a named integer written as a word by its JSON methods.
type jsonStatus int

func (s jsonStatus) MarshalJSON() ([]byte, error) {
	switch s {
	case 1:
		return []byte(`"active"`), nil
	case 2:
		return []byte(`"archived"`), nil
	}
	return nil, fmt.Errorf("status %d has no name", int(s))
}

func (s *jsonStatus) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"active"`:
		*s = 1
	case `"archived"`:
		*s = 2
	default:
		return errors.New(`want "active" or "archived"`)
	}
	return nil
}

// textLevel is a named integer with text methods on its pointer only.
type textLevel int

func (l *textLevel) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("L%d", int(*l))), nil }

func (l *textLevel) UnmarshalText(b []byte) error {
	_, err := fmt.Sscanf(string(b), "L%d", (*int)(l))
	return err
}

// textCode is a named string with a value MarshalText and a pointer
// UnmarshalText.
type textCode string

func (c textCode) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(c))), nil }

func (c *textCode) UnmarshalText(b []byte) error {
	*c = textCode(strings.ToLower(string(b)))
	return nil
}

// ptrUpper is a named string marshalled through a pointer receiver only,
// which encoding/json uses for addressable values.
type ptrUpper string

func (u *ptrUpper) MarshalJSON() ([]byte, error) { return json.Marshal(strings.ToUpper(string(*u))) }

// plainName is a named string without methods.
type plainName string

// sevenZero is zero, for omitzero, when it is 7.
type sevenZero int

func (z sevenZero) IsZero() bool { return z == 7 }

// ptrZero is zero, for omitzero, when it is 3 (a pointer method).
type ptrZero int

func (z *ptrZero) IsZero() bool { return *z == 3 }

type jsonNested struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
}

// jsonShapes has a field of every shape a model may hold.
type jsonShapes struct {
	bun.BaseModel `bun:"table:json_shapes"`

	ID    int64     `bun:"id,pk,autoincrement" json:"id"`
	Str   string    `json:"str"`
	Int   int       `json:"int"`
	I8    int8      `json:"i8"`
	I16   int16     `json:"i16"`
	I32   int32     `json:"i32"`
	Uint  uint      `json:"uint"`
	U8    uint8     `json:"u8"`
	U64   uint64    `json:"u64"`
	F32   float32   `json:"f32"`
	F64   float64   `json:"f64"`
	Bool  bool      `json:"bool"`
	Name  plainName `json:"name"`
	NoTag string
	PStr  *string    `json:"pStr"`
	PInt  *int64     `json:"pInt"`
	PU16  *uint16    `json:"pU16"`
	PF32  *float32   `json:"pF32"`
	PBool *bool      `json:"pBool"`
	PName *plainName `json:"pName"`

	Status  jsonStatus  `json:"status"`
	PStatus *jsonStatus `json:"pStatus"`
	Level   textLevel   `json:"level"`
	PLevel  *textLevel  `json:"pLevel"`
	Code    textCode    `json:"code"`
	Upper   ptrUpper    `json:"upper"`

	QInt    int64      `json:"qInt,string"`
	QU8     uint8      `json:"qU8,string"`
	QStr    string     `json:"qStr,string"`
	QBool   bool       `json:"qBool,string"`
	QF64    float64    `json:"qF64,string"`
	QPInt   *int64     `json:"qPInt,string"`
	QStatus jsonStatus `json:"qStatus,string"`
	QSlice  []int      `json:"qSlice,string"`

	EStr   string         `json:"eStr,omitempty"`
	EInt   int            `json:"eInt,omitempty"`
	EF64   float64        `json:"eF64,omitempty"`
	EBool  bool           `json:"eBool,omitempty"`
	EPtr   *int           `json:"ePtr,omitempty"`
	ETime  time.Time      `json:"eTime,omitempty"`
	ESlice []string       `json:"eSlice,omitempty"`
	EMap   map[string]int `json:"eMap,omitempty"`
	EArr   [2]int         `json:"eArr,omitempty"`
	EStat  jsonStatus     `json:"eStat,omitempty"`
	EQInt  int64          `json:"eQInt,omitempty,string"`
	ENest  jsonNested     `json:"eNest,omitempty"`

	ZInt   int        `json:"zInt,omitzero"`
	ZF32   float32    `json:"zF32,omitzero"`
	ZTime  time.Time  `json:"zTime,omitzero"`
	ZPTime *time.Time `json:"zPTime,omitzero"`
	ZSeven sevenZero  `json:"zSeven,omitzero"`
	ZPZero ptrZero    `json:"zPZero,omitzero"`
	ZNest  jsonNested `json:"zNest,omitzero"`
	ZSlice []int      `json:"zSlice,omitzero"`
	ZArr   [2]int     `json:"zArr,omitzero"`
	Both   sevenZero  `json:"both,omitempty,omitzero"`

	Time  time.Time       `json:"time"`
	PTime *time.Time      `json:"pTime"`
	NStr  sql.NullString  `json:"nStr"`
	NInt  sql.NullInt64   `json:"nInt"`
	NBool sql.NullBool    `json:"nBool"`
	NF64  sql.NullFloat64 `json:"nF64"`
	NTime sql.NullTime    `json:"nTime"`
	BTime bun.NullTime    `json:"bTime"`

	Bytes  []byte          `json:"bytes"`
	Raw    json.RawMessage `json:"raw"`
	Number json.Number     `json:"number"`
	Strs   []string        `json:"strs"`
	Map    map[string]any  `json:"map"`
	Any    any             `json:"any"`
	Nest   jsonNested      `json:"nest"`
	PNest  *jsonNested     `json:"pNest"`
	Arr    [2]int          `json:"arr"`

	HTML   string `json:"<b>&"`
	BadTag string `json:"bad\\tag"`
	Dash   string `json:"-,"`
	Hidden string `json:"-"`
}

func jsonShapesResource(t testing.TB) *introspect.Resource {
	return testResource(t, (*jsonShapes)(nil))
}

// TestJSONShapesCodecs pins which shapes take the fast paths: plain
// scalars and time.Time do, anything with its own methods or ",string"
// goes through encoding/json.
func TestJSONShapesCodecs(t *testing.T) {
	res := jsonShapesResource(t)
	want := map[string]introspect.Codec{
		"str": introspect.CodecScalar, "int": introspect.CodecScalar, "f32": introspect.CodecScalar,
		"u64": introspect.CodecScalar, "bool": introspect.CodecScalar, "name": introspect.CodecScalar,
		"pStr": introspect.CodecScalar, "pInt": introspect.CodecScalar, "eStr": introspect.CodecScalar,
		"time": introspect.CodecTime, "pTime": introspect.CodecTime, "zTime": introspect.CodecTime,
		"status": introspect.CodecStd, "pStatus": introspect.CodecStd, "level": introspect.CodecStd,
		"pLevel": introspect.CodecStd, "code": introspect.CodecStd, "upper": introspect.CodecStd,
		"qInt": introspect.CodecStd, "qStr": introspect.CodecStd, "qPInt": introspect.CodecStd,
		"number": introspect.CodecStd, "nStr": introspect.CodecStd, "nTime": introspect.CodecStd,
		"bTime": introspect.CodecStd, "bytes": introspect.CodecStd, "any": introspect.CodecStd,
	}
	for name, codec := range want {
		f, ok := res.FieldByJSON(name)
		if !ok {
			t.Fatalf("no field %q", name)
		}
		if f.Codec != codec {
			t.Errorf("%s: codec %d, want %d", name, f.Codec, codec)
		}
	}
	for _, name := range []string{"BadTag", "-", "NoTag"} {
		if _, ok := res.FieldByJSON(name); !ok {
			t.Errorf("no field %q, the name encoding/json gives it", name)
		}
	}
}

// byteSource hands out the fuzzer's bytes as values, zeros once drained.
// A safe source makes only values json.Marshal takes, so that one refused
// field does not hide how the others are written.
type byteSource struct {
	b    []byte
	safe bool
}

func (s *byteSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	statusType = reflect.TypeFor[jsonStatus]()
	rawType    = reflect.TypeFor[json.RawMessage]()
	numberType = reflect.TypeFor[json.Number]()
)

// fill sets v from the source, leaning towards the values where encoders
// differ: zero and negative zero, NaN, invalid UTF-8, HTML characters,
// years and zone offsets time.Time refuses, invalid raw JSON.
func (s *byteSource) fill(v reflect.Value) {
	switch v.Type() {
	case timeType:
		v.Set(reflect.ValueOf(s.time()))
		return
	case statusType:
		if s.safe {
			v.SetInt(1 + int64(s.byte()%2))
			return
		}
	case rawType:
		raws := []string{"", "null", ` {"a" : [1, 2]} `, `"<&>\u2028"`, `-0`, `1e400`, `{"a":}`}
		n := len(raws)
		if s.safe {
			n -= 1
		}
		if r := raws[int(s.byte())%n]; r != "" {
			v.SetBytes([]byte(r))
		}
		return
	case numberType:
		nums := []string{"", "12", "-1.5e3", "0.0", "-0", "abc", "01", "1e"}
		n := len(nums)
		if s.safe {
			n -= 3
		}
		v.SetString(nums[int(s.byte())%n])
		return
	}
	switch v.Kind() {
	case reflect.String:
		n := int(s.byte() % 8)
		pieces := []string{"a", "<", ">", "&", "\u2028", "\u2029", "\x00", "\x1f", "\b", "\f", "\n", "\t", "\"", "\\", "é", "\xff", "\xe2\x80", "😀", "Z", " "}
		var sb strings.Builder
		for range n {
			sb.WriteString(pieces[int(s.byte())%len(pieces)])
		}
		v.SetString(sb.String())
	case reflect.Bool:
		v.SetBool(s.byte()&1 == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if m := s.byte(); m%2 == 0 {
			v.SetInt(int64(m/2%8) - 1)
		} else {
			v.SetInt(int64(s.uint64()))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if m := s.byte(); m%2 == 0 {
			v.SetUint(uint64(m / 2 % 8))
		} else {
			v.SetUint(s.uint64())
		}
	case reflect.Float32, reflect.Float64:
		specials := []float64{0, math.Copysign(0, -1), 1, -2.5, 1e21, 1e20, 1e-6, 1e-7, 123456789, 1.0000001, math.MaxFloat32, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN()}
		var x float64
		switch m := s.byte(); {
		case m%3 == 0:
			x = specials[int(m/3)%len(specials)]
		case v.Kind() == reflect.Float32:
			x = float64(math.Float32frombits(uint32(s.uint64())))
		default:
			x = math.Float64frombits(s.uint64())
		}
		if s.safe && (math.IsNaN(x) || math.IsInf(x, 0)) {
			x = 0
		}
		v.SetFloat(x)
	case reflect.Pointer:
		if s.byte()%3 == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		s.fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		n := int(s.byte() % 4)
		if n == 0 {
			v.SetZero()
			return
		}
		sl := reflect.MakeSlice(v.Type(), n-1, n-1)
		for i := range n - 1 {
			s.fill(sl.Index(i))
		}
		v.Set(sl)
	case reflect.Array:
		for i := range v.Len() {
			s.fill(v.Index(i))
		}
	case reflect.Map:
		n := int(s.byte() % 4)
		if n == 0 {
			v.SetZero()
			return
		}
		m := reflect.MakeMap(v.Type())
		for range n - 1 {
			k := reflect.New(v.Type().Key()).Elem()
			s.fill(k)
			e := reflect.New(v.Type().Elem()).Elem()
			s.fill(e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		switch s.byte() % 5 {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.ValueOf(s.uint64()))
		case 2:
			x := reflect.New(reflect.TypeFor[float64]()).Elem()
			s.fill(x)
			v.Set(x)
		case 3:
			str := reflect.New(reflect.TypeFor[string]()).Elem()
			s.fill(str)
			v.Set(str)
		case 4:
			v.Set(reflect.ValueOf(map[string]any{"k": []any{true, nil}}))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				s.fill(v.Field(i))
			}
		}
	}
}

func (s *byteSource) time() time.Time {
	nsec := int64(s.uint64() % 1e9)
	switch s.byte() % 6 {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(int64(s.uint64()%(1<<34)), nsec).UTC()
	case 2:
		// Offsets up to 30 hours, in quarter hours: from 24 hours on
		// time.Time refuses them.
		off := (int(s.byte()%241) - 120) * 15 * 60
		if s.safe {
			off %= 24 * 3600
		}
		return time.Unix(int64(s.uint64()%(1<<34)), nsec).In(time.FixedZone("", off))
	case 3:
		y := 9990 + int(s.byte()%20)
		if s.safe {
			y = min(y, 9999)
		}
		return time.Date(y, 12, 31, 23, 0, 0, int(nsec), time.UTC)
	case 4:
		y := -int(s.byte() % 3)
		if s.safe {
			y = 0
		}
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.FixedZone("GMT", 0))
	default:
		u := s.uint64()
		if s.safe {
			u %= 1 << 37 // within years 1970-6325
		}
		sec := int64(u)
		return time.Unix(sec, nsec).In(time.FixedZone("X", 5*3600+1800))
	}
}

// FuzzEncodeRecord checks that a record is the bytes json.Marshal writes
// for the model, or fails where json.Marshal fails.
func FuzzEncodeRecord(f *testing.F) {
	res := jsonShapesResource(f)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{1}, 400))
	f.Add(bytes.Repeat([]byte{2, 0}, 300))
	f.Add(bytes.Repeat([]byte{3, 7, 0xff}, 300))
	f.Add(bytes.Repeat([]byte{0x11, 0x80, 0x3f, 4}, 300))
	for i := range 8 {
		seed := make([]byte, 600)
		for j := range seed {
			seed[j] = byte(j*31 + i*17 + j*j*i)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec jsonShapes
		src := &byteSource{b: data}
		src.safe = src.byte()%4 != 0
		src.fill(reflect.ValueOf(&rec).Elem())
		want, werr := json.Marshal(&rec)
		got, gerr := appendRecord(nil, reflect.ValueOf(&rec).Elem(), res.Exposed(true), nil)
		switch {
		case werr != nil && gerr == nil:
			t.Fatalf("encoded %s\nencoding/json fails: %v", got, werr)
		case werr == nil && gerr != nil:
			t.Fatalf("failed: %v\nencoding/json writes %s", gerr, want)
		case werr == nil && !bytes.Equal(got, want):
			t.Fatalf("encoded\n%s\nencoding/json writes\n%s", got, want)
		}
	})
}

// writable lists the JSON names a body may set.
func writable(res *introspect.Resource) []string {
	var names []string
	for _, f := range res.Exposed(true) {
		if !f.ReadOnly {
			names = append(names, f.JSON)
		}
	}
	return names
}

// FuzzDecodeField puts one value under one field's key.
func FuzzDecodeField(f *testing.F) {
	res := jsonShapesResource(f)
	names := writable(res)
	values := []string{
		`"x"`, `"a\"b"`, `"" `, `"\u0000"`, `"a\\u0000"`, `"\ud800"`, `"é"`, `"<&>"`,
		`12`, `-0`, `1.0`, `1e3`, `300`, `-1`, `255`, `256`, `9223372036854775808`, `18446744073709551615`,
		`1.5`, `-0.0`, `3.4028236e38`, `1e400`, `4.9e-324`,
		`true`, `false`, `null`, `"true"`, `"12"`, `"-0"`, `" 12"`, `"1e3"`, `"\"x\""`, `"null"`, `"1.5"`,
		`"active"`, `"archived"`, `"\"active\""`, `"L3"`, `"ABC"`,
		`"2026-11-25T10:56:33.625842Z"`, `"2026-11-25T10:56:33+05:30"`, `"2026-11-25"`, `"10000-01-01T00:00:00Z"`,
		`{"String":"s","Valid":true}`, `{"Time":"2026-11-25T10:56:33Z","Valid":true}`, `{"Int64":5,"Valid":false}`,
		`"aGVsbG8="`, `"!!"`, `[1,2]`, `[1,2,3]`, `["a",null]`, `{"a":1,"b":"x"}`, `{"k":[true]}`, `{}`, `[]`,
	}
	for i, name := range names {
		for j, v := range values {
			if (i+j)%5 == 0 {
				f.Add(name, []byte(v))
			}
		}
	}
	for _, v := range values {
		f.Add("status", []byte(v))
		f.Add("qInt", []byte(v))
	}
	f.Fuzz(func(t *testing.T, name string, value []byte) {
		body := make([]byte, 0, len(name)+len(value)+8)
		key, _ := json.Marshal(name)
		body = append(append(append(append(append(body, '{'), key...), ':'), value...), '}')
		checkDecode(t, res, body)
	})
}

// FuzzDecodeBody decodes whole bodies.
func FuzzDecodeBody(f *testing.F) {
	res := jsonShapesResource(f)
	for _, seed := range []string{
		`{}`, `{"str":"x","int":1,"status":"active","qInt":"12","time":"2026-11-25T10:56:33Z"}`,
		`{"STR":"x"}`, `{"str":"a","str":"b"}`, `{"id":1}`, `{"str":null}`, `{"pStr":null,"pInt":5,"nStr":{"String":"x","Valid":true}}`,
		`{"qStatus":"\"archived\"","level":"L7","code":"Abc","any":[1,"x"],"map":{"a":null}}`,
		`{"bytes":"aGk=","raw":{"x":[1, 2]},"number":1.50,"arr":[1,2,3],"nest":{"a":1,"c":2}}`,
		`{"str":1}`, `{"status":1}`, `{"int":"1"} `, `{"f32":1e39}`, `{"<b>&":"x","BadTag":"y","-":"z","NoTag":"w"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode(t, res, body)
	})
}

// checkDecode compares decodeObject on body with json.Unmarshal into the
// model.
func checkDecode(t *testing.T, res *introspect.Resource, body []byte) {
	t.Helper()
	// decodeBody hands decodeObject only trimmed UTF-8 that starts an
	// object.
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !utf8.Valid(body) {
		return
	}
	var want, got jsonShapes
	werr := json.Unmarshal(body, &want)
	_, gerr := decodeObject(res, reflect.ValueOf(&got).Elem(), body, true)
	rule := frameworkRefusal(res, body)
	switch {
	case werr != nil && gerr == nil:
		t.Fatalf("%s: accepted, encoding/json refuses it: %v", body, werr)
	case rule != "" && gerr == nil:
		t.Fatalf("%s: accepted, the framework refuses %s", body, rule)
	case gerr != nil && werr == nil && rule == "":
		t.Fatalf("%s: refused (%v), encoding/json accepts it", body, gerr)
	case gerr == nil:
		if d := differ(reflect.ValueOf(got), reflect.ValueOf(want), ""); d != "" {
			t.Fatalf("%s: %s differs from encoding/json's\nframework:     %#v\nencoding/json: %#v", body, d, got, want)
		}
	}
}

// frameworkRefusal names the first rule the framework adds to
// encoding/json that body breaks, found without the framework's code:
// encoding/json's own token decoder splits the object.
func frameworkRefusal(res *introspect.Resource, body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return ""
		}
		f, ok := res.FieldByJSON(key)
		switch {
		case seen[key]:
			return "a repeated key " + key
		case !ok:
			return "an unknown key " + key
		case f.ReadOnly:
			return "a read-only key " + key
		case string(value) == "null" && !f.Nullable:
			return "null for " + key
		}
		seen[key] = true
		one, _ := json.Marshal(map[string]json.RawMessage{key: value})
		var alone jsonShapes
		if json.Unmarshal(one, &alone) == nil {
			fv := reflect.ValueOf(alone).FieldByIndex(f.Index)
			if fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.String && strings.ContainsRune(fv.String(), 0) {
				return "a NUL character in " + key
			}
		}
	}
	return ""
}

// differ returns the path of the first difference between a and b, ""
// when they are the same value; times are the same when they are the same
// instant in the same zone offset.
func differ(a, b reflect.Value, path string) string {
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		na, oa := ta.Zone()
		nb, ob := tb.Zone()
		if !ta.Equal(tb) || na != nb || oa != ob {
			return path
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if d := differ(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path
			}
			return ""
		}
		return differ(a.Elem(), b.Elem(), path)
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return path
	}
	return ""
}
