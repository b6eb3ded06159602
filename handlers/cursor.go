package handlers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/introspect"
)

// Keyset pagination. A cursor carries the sort-key values of the last row
// of a page and a fingerprint of the query that produced it, and is signed,
// so the next page starts with "rows after these values" instead of an
// OFFSET that costs more the deeper it goes.

const paramCursor = "cursor"

// pageParams do not change which rows a query selects or their order, so a
// cursor stays valid when they change between pages. offset and page are
// among them: the cursor of an offset page continues after its last row.
var pageParams = []string{paramCursor, paramLimit, paramOffset, paramPage, paramFields, paramCount, paramInclude}

// cursorPayload is what a cursor holds.
type cursorPayload struct {
	// Query is the fingerprint of the query the cursor belongs to.
	Query string `json:"q"`
	// Keys are the sort-key values of the last row of the previous page.
	Keys []json.RawMessage `json:"k"`
}

// fingerprint identifies the rows and order a list request asks for.
func fingerprint(resource string, params url.Values) string {
	h := sha256.New()
	h.Write([]byte(resource))
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if !slices.Contains(pageParams, k) && !yield(k) {
				return
			}
		}
	}) {
		for _, v := range params[name] {
			h.Write([]byte{0})
			h.Write([]byte(name))
			h.Write([]byte{1})
			h.Write([]byte(v))
		}
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

func sign(key []byte, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// encodeCursor makes the cursor that continues after row.
func encodeCursor(key []byte, query string, sort []sortKey, row reflect.Value) (string, error) {
	p := cursorPayload{Query: query, Keys: make([]json.RawMessage, len(sort))}
	for i, k := range sort {
		raw, err := json.Marshal(keyValue(k.field, k.field.Value(row)))
		if err != nil {
			return "", err
		}
		p.Keys[i] = raw
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(sign(key, payload)), nil
}

func errBadCursor() *Problem {
	return fieldProblem(paramCursor, "is not a cursor this query produced")
}

// decodeCursor checks a cursor's signature and query and returns the typed
// sort-key values it carries (nil for NULL).
func decodeCursor(key []byte, query string, sort []sortKey, cursor string) ([]any, error) {
	body, mac, ok := strings.Cut(cursor, ".")
	if !ok {
		return nil, errBadCursor()
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(body)
	sig, err2 := enc.DecodeString(mac)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, sign(key, payload)) {
		return nil, errBadCursor()
	}
	var p cursorPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.Query != query || len(p.Keys) != len(sort) {
		return nil, errBadCursor()
	}
	values := make([]any, len(sort))
	for i, k := range sort {
		if bytes.Equal(p.Keys[i], []byte("null")) {
			continue
		}
		v, err := decodeKey(k.field, p.Keys[i])
		if err != nil {
			return nil, errBadCursor()
		}
		values[i] = v
	}
	return values, nil
}

// keyValue reads a sort-key column of a row as a plain value.
func keyValue(f *introspect.Field, v reflect.Value) any {
	if f.Time != introspect.NotTime {
		if t, ok := f.TimeOf(v); ok {
			return t.UTC().Format(time.RFC3339Nano)
		}
		return nil
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	return v.Interface()
}

func decodeKey(f *introspect.Field, raw json.RawMessage) (any, error) {
	var err error
	switch f.Kind {
	case introspect.KindString:
		var s string
		if err = json.Unmarshal(raw, &s); err == nil && strings.IndexByte(s, 0) >= 0 {
			err = errBadCursor()
		}
		return s, err
	case introspect.KindInt:
		var n int64
		err = json.Unmarshal(raw, &n)
		return n, err
	case introspect.KindUint:
		var n uint64
		err = json.Unmarshal(raw, &n)
		return n, err
	case introspect.KindFloat:
		var x float64
		err = json.Unmarshal(raw, &x)
		return x, err
	case introspect.KindBool:
		var b bool
		err = json.Unmarshal(raw, &b)
		return b, err
	case introspect.KindTime:
		var t time.Time
		err = json.Unmarshal(raw, &t)
		return t, err
	}
	return nil, errBadCursor()
}

// orderBy adds the ORDER BY for sort. Rows without a value (NULL) come
// last in either direction, on every engine (SQLite alone would put them
// first ascending, PostgreSQL first descending), so the keyset condition
// below means the same everywhere.
func orderBy(q *bun.SelectQuery, sort []sortKey) *bun.SelectQuery {
	for _, k := range sort {
		dir := "ASC"
		if k.desc {
			dir = "DESC"
		}
		if k.nullable() {
			q = q.OrderExpr("(? IS NULL) ASC", k.field.Ident)
		}
		q = q.OrderExpr("? "+dir, k.field.Ident)
	}
	return q
}

// afterKeys adds "the row comes after values in sort order": for keys
// k1..kn, (k1 after v1) OR (k1 = v1 AND k2 after v2) OR ...
func afterKeys(q *bun.SelectQuery, sort []sortKey, values []any) *bun.SelectQuery {
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		for i := range sort {
			q = q.WhereGroup(" OR ", func(q *bun.SelectQuery) *bun.SelectQuery {
				for j := 0; j < i; j++ {
					q = equalKey(q, sort[j], values[j])
				}
				return afterKey(q, sort[i], values[i])
			})
		}
		return q
	})
}

func equalKey(q *bun.SelectQuery, k sortKey, v any) *bun.SelectQuery {
	if v == nil {
		return q.Where("? IS NULL", k.field.Ident)
	}
	return q.Where("? = ?", k.field.Ident, v)
}

func afterKey(q *bun.SelectQuery, k sortKey, v any) *bun.SelectQuery {
	op := " > "
	if k.desc {
		op = " < "
	}
	switch {
	case v == nil:
		// NULLs come last: after a NULL only other NULLs follow, and
		// those are ordered by the later keys.
		return q.Where("1 = 0")
	case k.nullable():
		return q.Where("(?"+op+"? OR ? IS NULL)", k.field.Ident, v, k.field.Ident)
	default:
		return q.Where("?"+op+"?", k.field.Ident, v)
	}
}
