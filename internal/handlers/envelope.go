package handlers

import (
	"encoding/json"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Envelope names the shape of a response body. Each shape is defined here
// once: the handlers write it, the operation table names it, and the
// OpenAPI document describes it from the types below.
type Envelope int

// Response bodies.
const (
	// EnvelopeRecord is {"data": record}.
	EnvelopeRecord Envelope = iota + 1
	// EnvelopeRestored is {"data": record, "restored": true}.
	EnvelopeRestored
	// EnvelopeList is {"data": [record...], "meta": ListMeta}.
	EnvelopeList
	// EnvelopeSoftDeleted, EnvelopeDeleted and EnvelopeHardDeleted are
	// DeleteResult bodies of DELETE /R/:id.
	EnvelopeSoftDeleted
	EnvelopeDeleted
	EnvelopeHardDeleted
	// EnvelopeBulkDeleted is the BulkDeleteResult of DELETE /R.
	EnvelopeBulkDeleted
	// EnvelopeBulkRestored is the BulkRestoreResult of POST /R/restore.
	EnvelopeBulkRestored
	// EnvelopePermissions is {"data": {action: scope}}.
	EnvelopePermissions
	// EnvelopeAllPermissions is {"data": {resource: {action: scope}}}.
	EnvelopeAllPermissions
	// EnvelopeProblem is a Problem, as application/problem+json.
	EnvelopeProblem
	// EnvelopeDryRun is {"data": DryRunResult}.
	EnvelopeDryRun
	// EnvelopePurged is {"data": PurgeResult}.
	EnvelopePurged
	// EnvelopeBatch is {"data": [BatchResult...]}.
	EnvelopeBatch
)

// The members of the envelopes: every success body but the DELETE and
// bulk results holds its value in DataMember, and a list its page's
// ListMeta in MetaMember.
const (
	DataMember = "data"
	MetaMember = "meta"
)

// Data is the envelope of a single value: {"data": value}. Its tag is
// DataMember, which a struct tag cannot name.
type Data[T any] struct {
	Data T `json:"data"`
}

// The envelopes as the handlers stream them, a record or a page at a
// time, rather than build and marshal a Data value: the bytes before a
// record, before a page's records, and between a page's records and its
// meta.
const (
	recordOpen = `{"` + DataMember + `":`
	listOpen   = `{"` + DataMember + `":[`
	listMeta   = `],"` + MetaMember + `":`
)

// ListMeta is the meta member of a list response.
type ListMeta struct {
	// Total counts every record the filters match; absent with count=false.
	Total *int64 `json:"total,omitempty"`
	Limit int    `json:"limit"`
	// Offset is absent on a cursor page.
	Offset *int `json:"offset,omitempty"`
	// NextCursor opens the next page; absent on the last one.
	NextCursor string `json:"nextCursor,omitempty"`
}

// RestoredMember is the member a restore adds beside "data".
const RestoredMember = "restored"

// DeleteResult is the body of DELETE /R/:id.
type DeleteResult struct {
	Success     bool   `json:"success"`
	SoftDeleted bool   `json:"softDeleted"`
	HardDeleted bool   `json:"hardDeleted,omitempty"`
	Message     string `json:"message"`
}

// BulkDeleteResult is the body of DELETE /R?<filters>.
type BulkDeleteResult struct {
	Success     bool  `json:"success"`
	SoftDeleted bool  `json:"softDeleted"`
	Count       int64 `json:"count"`
}

// BulkRestoreResult is the body of POST /R/restore?<filters>.
type BulkRestoreResult struct {
	Success  bool  `json:"success"`
	Restored bool  `json:"restored"`
	Count    int64 `json:"count"`
}

// Scopes maps each action the caller may do to how far it reaches: "all"
// rows, or "own" rows only.
type Scopes map[string]string

// The DELETE /R/:id bodies, by envelope.
var deleteResults = map[Envelope]DeleteResult{
	EnvelopeSoftDeleted: {Success: true, SoftDeleted: true, Message: "Record marked as deleted"},
	EnvelopeDeleted:     {Success: true, Message: "Record permanently deleted"},
	EnvelopeHardDeleted: {Success: true, HardDeleted: true, Message: "Record permanently deleted"},
}

// DeleteResultOf returns the body of a DELETE /R/:id envelope.
func DeleteResultOf(e Envelope) (DeleteResult, bool) {
	r, ok := deleteResults[e]
	return r, ok
}

// deleteBodies are deleteResults encoded once.
var deleteBodies = func() map[Envelope][]byte {
	out := make(map[Envelope][]byte, len(deleteResults))
	for e, r := range deleteResults {
		b, err := json.Marshal(r)
		if err != nil {
			panic(err) // a fixed value of a fixed type
		}
		out[e] = b
	}
	return out
}()

// writeDeleted writes the DELETE /R/:id body of e.
func writeDeleted(c echo.Context, e Envelope) error {
	return c.Blob(http.StatusOK, jsonContentType, deleteBodies[e])
}

// writeJSON writes v, which is one of the envelope types, with status 200.
func writeJSON(c echo.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, jsonContentType, b)
}

const jsonContentType = echo.MIMEApplicationJSON

// writeRecord writes {"data": record, ...extra} with the given status,
// the given fields of the record and its includes.
func writeRecord(c echo.Context, status int, v reflect.Value, fields []*introspect.Field, includes []*include, extra ...Member) error {
	b := append(make([]byte, 0, 512), recordOpen...)
	b, err := appendRecord(b, v, fields, includes)
	if err != nil {
		return err
	}
	for _, m := range extra {
		raw, err := json.Marshal(m.Value)
		if err != nil {
			return err
		}
		b = append(b, ',')
		b = appendString(b, m.Key)
		b = append(b, ':')
		b = append(b, raw...)
	}
	return c.Blob(status, jsonContentType, append(b, '}'))
}
