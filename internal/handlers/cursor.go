package handlers

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Keyset pagination. A cursor carries the sort-key values of the last row
// of a page, so the next page starts with "rows after these values" instead
// of an OFFSET that costs more the deeper it goes. It is sealed with an
// AEAD: the holder can neither read the key values (they may be columns the
// caller asked not to see, or the trash view's deletion times) nor alter
// them, and it opens only for the query, the caller and the visibility it
// was made for.

const paramCursor = "cursor"

// pageParams do not change which rows a query selects or their order, so a
// cursor stays valid when they change between pages. offset and page are
// among them: the cursor of an offset page continues after its last row.
var pageParams = []string{paramCursor, paramLimit, paramOffset, paramPage, paramFields, paramCount, paramInclude}

// CursorKeySize is the length of the key cursors are sealed with.
const CursorKeySize = chacha20poly1305.KeySize

// cursorKeyInfo separates the cursor key from anything else that might one
// day be derived from the same secret; v1 names the cursor format.
const cursorKeyInfo = "autoapi pagination cursor v1"

// DeriveCursorKey turns a configured secret, of any length and quality,
// into the CursorKeySize-byte key of Endpoint.CursorKey with HKDF-SHA256,
// so that a short or structured secret still yields a uniform key.
func DeriveCursorKey(secret []byte) ([]byte, error) {
	if len(secret) == 0 {
		return nil, errors.New("handlers: the cursor secret is empty")
	}
	return hkdf.Key(sha256.New, secret, nil, cursorKeyInfo, CursorKeySize)
}

// cursorAEAD is the cipher of cursors: XChaCha20-Poly1305. Every cursor has
// a fresh random nonce under a key that may live for years; its 192-bit
// nonce makes a repeat negligible however many cursors are issued, where
// AES-GCM's 96-bit one would bound a key to about 2^32 cursors before a
// repeat (which would let anyone forge cursors) became a real risk.
func cursorAEAD(key []byte) (cipher.AEAD, error) {
	return chacha20poly1305.NewX(key)
}

// cursorScope is what a cursor is bound to, beyond its resource: the query,
// the caller and how far the caller sees. It is authenticated as the
// AEAD's associated data and never sent, so a cursor opens only when all of
// it is the same.
type cursorScope struct {
	// query is the fingerprint of the rows and order asked for.
	query string
	// principal is the caller's id, "" for anonymous callers.
	principal string
	// read and deleted are the caller's read and read_deleted scopes, which
	// decide which rows the list may show.
	read, deleted scope
}

// associatedData encodes s unambiguously: each part is length-prefixed.
func (s cursorScope) associatedData() []byte {
	b := make([]byte, 0, 64+len(s.principal))
	for _, part := range []string{s.query, s.principal, strconv.Itoa(int(s.read)), strconv.Itoa(int(s.deleted))} {
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return b
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

// cursorEncoding spells cursors. Strict refuses the non-canonical spellings
// that differ only in unused trailing bits, so a cursor has one spelling.
var cursorEncoding = base64.RawURLEncoding.Strict()

// encodeCursor makes the cursor that continues after row: the row's
// sort-key values, sealed for s.
func encodeCursor(key []byte, s cursorScope, sort []sortKey, row reflect.Value) (string, error) {
	keys := make([]any, len(sort))
	for i, k := range sort {
		keys[i] = keyValue(k.field, k.field.Value(row))
	}
	payload, err := json.Marshal(keys)
	if err != nil {
		return "", err
	}
	aead, err := cursorAEAD(key)
	if err != nil {
		return "", err
	}
	sealed := make([]byte, aead.NonceSize(), aead.NonceSize()+len(payload)+aead.Overhead())
	rand.Read(sealed) // never fails; it crashes the program if it could
	sealed = aead.Seal(sealed, sealed, payload, s.associatedData())
	return cursorEncoding.EncodeToString(sealed), nil
}

func errBadCursor() *Problem {
	return fieldProblem(paramCursor, "is not a cursor this query produced")
}

// decodeCursor opens a cursor sealed for s and returns the typed sort-key
// values it carries (nil for NULL). Any cursor that was altered, or made
// for another query, caller or visibility, fails to open alike.
func decodeCursor(key []byte, s cursorScope, sort []sortKey, cursor string) ([]any, error) {
	aead, err := cursorAEAD(key)
	if err != nil {
		return nil, err
	}
	sealed, err := cursorEncoding.DecodeString(cursor)
	if err != nil || len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errBadCursor()
	}
	nonce, box := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	payload, err := aead.Open(box[:0:0], nonce, box, s.associatedData())
	if err != nil {
		return nil, errBadCursor()
	}
	var keys []json.RawMessage
	if err := json.Unmarshal(payload, &keys); err != nil || len(keys) != len(sort) {
		return nil, errBadCursor()
	}
	values := make([]any, len(sort))
	for i, k := range sort {
		if bytes.Equal(keys[i], []byte("null")) {
			continue
		}
		v, err := decodeKey(k.field, keys[i])
		if err != nil {
			return nil, errBadCursor()
		}
		values[i] = v
	}
	return values, nil
}

// keyValue reads a sort-key column of a row as the plain value the
// database holds, by the field's kind: a type's own JSON form (a named int
// written as a word, say) is for clients, and decodeKey could not read it
// back as the column's value.
func keyValue(f *introspect.Field, v reflect.Value) any {
	if f.Time != introspect.NotTime {
		if t, ok := f.TimeOf(v); ok {
			return t.UTC().Format(time.RFC3339Nano)
		}
		return nil
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch f.Kind {
	case introspect.KindString:
		return v.String()
	case introspect.KindInt:
		return v.Int()
	case introspect.KindUint:
		return v.Uint()
	case introspect.KindFloat:
		return v.Float()
	case introspect.KindBool:
		return v.Bool()
	}
	// parseSort refuses every other kind.
	return nil
}

// decodeKey reads a sort-key value of a cursor as f's kind: the JSON
// string of a text or timestamp key, the JSON number or boolean of any
// other, read as every value written as text is.
func decodeKey(f *introspect.Field, raw json.RawMessage) (any, error) {
	var text string
	if f.Kind == introspect.KindString || f.Kind == introspect.KindTime {
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, errBadCursor()
		}
	} else {
		text = string(raw)
	}
	if v, ok := parseText(f.Kind, text); ok {
		return v, nil
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
	alternatives := make([]cond, len(sort))
	for i := range sort {
		terms := make([]cond, 0, i+1)
		for j := range i {
			terms = append(terms, equalKey(sort[j], values[j]))
		}
		alternatives[i] = cond{kind: condAnd, operands: append(terms, afterKey(sort[i], values[i]))}
	}
	w := render(&cond{kind: condOr, operands: alternatives}, false) // no match in a cursor
	return q.Where(w.query, w.args...)
}

func equalKey(k sortKey, v any) cond {
	if v == nil {
		return nullCond(k.field, true)
	}
	return compareCond(k.field, cmpEq, v)
}

func afterKey(k sortKey, v any) cond {
	op := cmpGt
	if k.desc {
		op = cmpLt
	}
	switch {
	case v == nil:
		// NULLs come last: after a NULL only other NULLs follow, and
		// those are ordered by the later keys.
		return cond{kind: condFalse}
	case k.nullable():
		return cond{kind: condOr, operands: []cond{compareCond(k.field, op, v), nullCond(k.field, true)}}
	default:
		return compareCond(k.field, op, v)
	}
}
