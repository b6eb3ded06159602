package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql/driver"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
)

// ETags. A row's ETag is a keyed hash (HMAC-SHA-256) of every column the
// row stores, hidden and deletion fields included: it changes whenever the
// row's stored state does, a soft delete and a restore too, and by any
// writer, since it is worked out from the row rather than kept beside it.
// The key comes from the cursor key, so every instance with the same
// Config.CursorSecret gives a row the same ETag; being keyed, the hash
// cannot be used to test guesses of a field the caller may not see.
// Models need nothing for it.

// etagKey derives the ETag key from the cursor key.
func etagKey(cursorKey []byte) []byte {
	m := hmac.New(sha256.New, cursorKey)
	m.Write([]byte("autoapi etag v1"))
	return m.Sum(nil)
}

// etagger is the HMAC and the buffer one ETag is worked out with; a
// Service keeps them in a pool, as every item answer needs one and an
// HMAC costs several allocations to set up.
type etagger struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

// newETaggers is the pool of a Service's etaggers.
func newETaggers(key []byte) *sync.Pool {
	return &sync.Pool{New: func() any {
		return &etagger{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 512), sum: make([]byte, 0, sha256.Size)}
	}}
}

// etag is the strong ETag of row, a value of the resource's model, as a
// caller sees it: whether the deletion fields are in its answers
// (seesDeleted) is part of the tag, since they are of the representation.
func (s *Service) etag(row reflect.Value, seesDeleted bool) string {
	e := s.etaggers.Get().(*etagger)
	defer s.etaggers.Put(e)
	b := e.buf[:0]
	if seesDeleted {
		b = append(b, 'D')
	}
	for _, f := range s.res.Fields {
		b = append(b, f.Column...)
		b = append(b, 0)
		b = appendCanonical(b, f.Value(row))
		b = append(b, 1)
	}
	e.buf = b
	e.mac.Reset()
	e.mac.Write(b)
	e.sum = e.mac.Sum(e.sum[:0])
	var out [2 + 24]byte // 18 bytes in base64, quoted
	out[0], out[len(out)-1] = '"', '"'
	base64.RawURLEncoding.Encode(out[1:len(out)-1], e.sum[:18])
	return string(out[:])
}

// timeGoType is time.Time's type, which appendCanonical writes in UTC.
var timeGoType = reflect.TypeFor[time.Time]()

// appendCanonical writes v so that equal stored values write the same
// bytes on every instance: times in UTC, pointers by what they point to,
// structs (sql.NullTime, bun.NullTime) field by field.
func appendCanonical(b []byte, v reflect.Value) []byte {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return append(b, 'N')
		}
		v = v.Elem()
	}
	if v.Type() == timeGoType {
		var t time.Time
		if v.CanAddr() {
			// Read in place: Interface would copy it to the heap.
			t = *(*time.Time)(v.Addr().UnsafePointer())
		} else {
			t = v.Interface().(time.Time)
		}
		return t.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.AppendQuote(b, v.String())
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.AppendFloat(b, v.Float(), 'g', -1, 64)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return strconv.AppendQuote(b, string(v.Bytes()))
		}
	}
	// Anything else says what it stores as the driver would (sql.NullTime,
	// decimal types), or as text or JSON: by its value, never by its
	// pointers or its unexported fields' layout.
	x := v.Interface()
	if dv, ok := x.(driver.Valuer); ok {
		if stored, err := dv.Value(); err == nil {
			if stored == nil {
				return append(b, 'N')
			}
			return appendCanonical(b, reflect.ValueOf(stored))
		}
	}
	if tm, ok := x.(encoding.TextMarshaler); ok {
		if text, err := tm.MarshalText(); err == nil {
			return strconv.AppendQuote(b, string(text))
		}
	}
	if v.Kind() == reflect.Struct {
		// bun.NullTime and its kind: their exported fields, each by value.
		b = append(b, '{')
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				b = appendCanonical(append(b, ','), v.Field(i))
			}
		}
		return append(b, '}')
	}
	if j, err := json.Marshal(x); err == nil {
		return append(b, j...)
	}
	return fmt.Appendf(b, "%v", x)
}

// MergePatchContentType is the media type of an RFC 7396 merge patch,
// which PATCH takes besides application/json: the same object, read the
// same way (absent keys unchanged, null clears a nullable field).
const MergePatchContentType = "application/merge-patch+json"

// acceptPatch is the Accept-Patch header of a record: the bodies PATCH
// takes.
const acceptPatch = "application/json, " + MergePatchContentType

// setETag gives the response the ETag of row as g's caller sees it, and
// says which patches the record takes.
func (s *Service) setETag(c echo.Context, g *grants, row reflect.Value) string {
	tag := s.etag(row, g.seesDeleted(s.res))
	h := c.Response().Header()
	h.Set("ETag", tag)
	h.Set("Accept-Patch", acceptPatch)
	return tag
}

// preconditionFailed is the answer to an If-Match the row fails.
var errPreconditionFailed = NewProblem(http.StatusPreconditionFailed, "the record is not in the state If-Match names: it changed, or it is not there for you; read it again")

// ifMatchOf returns the request's If-Match, "" when it has none.
func ifMatchOf(r *http.Request) string {
	return strings.Join(r.Header.Values("If-Match"), ",")
}

// matchesETag reports whether an If-Match or If-None-Match header value
// names tag: "*", or tag in its list. strong compares as If-Match must: a
// weak tag (W/) never matches.
func matchesETag(header, tag string, strong bool) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if w, ok := strings.CutPrefix(t, "W/"); ok {
			if strong {
				continue
			}
			t = w
		}
		if t == tag {
			return true
		}
	}
	return false
}

// requirePrecondition refuses a write without If-Match on a resource
// registered with RequireIfMatch.
func (s *Service) requirePrecondition(header string) error {
	if s.res.RequireIfMatch && header == "" {
		return NewProblem(http.StatusPreconditionRequired, "this resource's records change only with If-Match: send the ETag you read")
	}
	return nil
}

// checkIfMatch evaluates If-Match (header) on the row with key id, for
// op (permanent for a permanent delete), inside the write's transaction
// db and before the write: it locks the row when op may change it and the
// caller may see it (a live row for an update or a soft delete; a deleted
// one within read_deleted for a restore; either for a permanent delete),
// within the operation's reach, reads it and compares its ETag. Any other
// row fails the precondition exactly as a changed one does, so the answer
// tells nothing of rows hidden from the caller. Without If-Match it does
// nothing.
func (s *Service) checkIfMatch(ctx context.Context, db bun.IDB, g *grants, header string, id any, idText string, op Operation, permanent bool) error {
	if header == "" {
		return nil
	}
	res := s.res
	var (
		cond string
		args []any
	)
	switch {
	case op == OpRestore:
		if g.readDeleted(res) == scopeNone {
			return errPreconditionFailed
		}
		cond, args, _ = g.visibility(res, scopeAll, g.readDeleted(res), onlyDeletedRows)
	case op == OpDelete && (permanent || !res.SoftDeletable()):
		cond, args, _ = g.visibility(res, scopeAll, g.readDeleted(res), withDeletedRows)
	default:
		cond, args = res.SoftDelete.Live()
	}
	if err := s.lockRow(ctx, db, g, id, idText, cond, args...); err != nil {
		var p *Problem
		if errors.As(err, &p) && p.Status == http.StatusNotFound {
			return errPreconditionFailed
		}
		return err
	}
	row := res.New()
	if err := unscoped(db.NewSelect().Model(row.Interface()), res).Where("? = ?", res.PK.Ident, id).Scan(ctx); err != nil {
		return err
	}
	if !matchesETag(header, s.etag(row.Elem(), g.seesDeleted(res)), true) {
		return errPreconditionFailed
	}
	return nil
}

// Precondition evaluates the request's If-Match (or its absence, where
// the resource requires one) for an update, delete or restore, in the
// transaction of the request's context, as the generated handler does
// before its write. The framework calls it before an override of one of
// them runs in that transaction, so that the override's write, through
// Context.DB, happens only on a record that meets it.
func (c *Context) Precondition() error {
	header := ifMatchOf(c.Request())
	if err := c.svc.requirePrecondition(header); err != nil || header == "" {
		return err
	}
	op := c.grants.op
	permanent := c.QueryParam(paramPermanent) == "true"
	action := map[Operation]string{OpUpdate: auth.ActionUpdate, OpDelete: auth.ActionDelete, OpRestore: auth.ActionRestore}[op]
	if op == OpDelete && permanent {
		action = auth.ActionHardDelete
	}
	if action == "" {
		return nil
	}
	if _, err := c.grants.require(action); err != nil {
		return err
	}
	id, ok := parseID(c.svc.res, c.ID())
	if !ok {
		return errPreconditionFailed
	}
	ctx := c.Request().Context()
	return c.svc.checkIfMatch(ctx, c.svc.db(ctx), &c.grants, header, id, c.ID(), op, permanent)
}
