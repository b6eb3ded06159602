package handlers

import (
	"maps"
	"reflect"
	"slices"

	"context"
	"errors"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/introspect"
	"net/http"
	"strings"
)

// sqliteError is the part of a SQLite driver error we read: its extended
// result code.
type sqliteError interface {
	error
	Code() int
}

// SQLite extended result codes for constraint failures.
const (
	sqliteConstraintCheck      = 275
	sqliteConstraintForeignKey = 787
	sqliteConstraintNotNull    = 1299
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
	sqliteBusy                 = 5
	sqliteLocked               = 6
)

// DBError turns a database error into the answer for the client: a
// constraint violation becomes a 4xx naming the field where the database
// says which; anything else stays an internal error whose text is logged,
// never sent.
func (c *Context) DBError(err error) error {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return NewProblem(http.StatusServiceUnavailable, "the request was cancelled or timed out")
	}
	var se sqliteError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
		if f := c.constraintField(se.Error()); f != "" {
			p := NewProblem(http.StatusConflict, f+": the value is already taken", FieldError{Field: f, Message: "the value is already taken"})
			return p
		}
		return NewProblem(http.StatusConflict, "the record conflicts with an existing one")
	case sqliteConstraintNotNull:
		if f := c.constraintField(se.Error()); f != "" {
			return unprocessable([]FieldError{{Field: f, Message: "is required"}})
		}
		return NewProblem(http.StatusUnprocessableEntity, "a required field is missing")
	case sqliteConstraintForeignKey:
		return NewProblem(http.StatusConflict, "the change conflicts with related records: a referenced record does not exist, or other records still refer to this one")
	case sqliteConstraintCheck:
		return NewProblem(http.StatusUnprocessableEntity, "a value fails a check constraint")
	}
	// Busy and locked come with several extended codes (BUSY_SNAPSHOT,
	// BUSY_TIMEOUT, LOCKED_SHAREDCACHE...); the primary code is the low byte.
	if primary := se.Code() & 0xff; primary == sqliteBusy || primary == sqliteLocked {
		return NewProblem(http.StatusServiceUnavailable, "the database is busy; retry the request")
	}
	return err
}

// IsForeignKeyViolation reports whether err is the database refusing a
// write for a foreign key.
func IsForeignKeyViolation(err error) bool {
	var se sqliteError
	return errors.As(err, &se) && se.Code() == sqliteConstraintForeignKey
}

// writeError is DBError for a create or update of rec: a foreign-key
// failure is explained by the belongs-to reference at fault, when one is.
func (c *Context) writeError(ctx context.Context, err error, rec reflect.Value, set []*introspect.Field) error {
	if IsForeignKeyViolation(err) {
		if perr := c.checkParents(ctx, c.ep.DB, rec, set); perr != nil {
			return c.DBError(perr)
		}
	}
	return c.DBError(err)
}

// referencedError is DBError for removing the row with key id: a
// foreign-key failure names a resource whose rows still refer to it.
func (c *Context) referencedError(ctx context.Context, err error, id any) error {
	if !IsForeignKeyViolation(err) {
		return c.DBError(err)
	}
	// In name order, so that the answer is the same every time.
	others := slices.SortedFunc(maps.Values(c.ep.Related), func(a, b *introspect.Resource) int {
		return strings.Compare(a.Name, b.Name)
	})
	for _, other := range others {
		for i := range other.Relations {
			rel := &other.Relations[i]
			if rel.Kind != schema.BelongsToRelation || rel.Related != c.ep.Resource.Type {
				continue
			}
			exists, qerr := c.ep.DB.NewSelect().TableExpr("?", other.Table.SQLName).
				Where("? = ?", rel.Base.Ident, id).Exists(ctx)
			if qerr == nil && exists {
				return Problemf(http.StatusConflict, "%s %v is still referenced by %s", c.ep.Resource.Name, id, other.Name)
			}
		}
	}
	return Problemf(http.StatusConflict, "%s %v is still referenced by other records", c.ep.Resource.Name, id)
}

// constraintField finds the JSON name of the first column a SQLite
// constraint message names ("UNIQUE constraint failed: users.email").
func (c *Context) constraintField(msg string) string {
	// The driver may repeat the phrase ("constraint failed: UNIQUE
	// constraint failed: users.email"); the columns follow the last one.
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	cols := msg[i+len(marker):]
	first, _, _ := strings.Cut(cols, ",")
	first = strings.TrimSpace(first)
	if i := strings.LastIndexByte(first, '.'); i >= 0 {
		// A constraint of another table (a cascaded child, say) names no
		// field of this resource.
		if first[:i] != c.ep.Resource.Table.Name {
			return ""
		}
		first = first[i+1:]
	}
	if i := strings.IndexAny(first, " ("); i >= 0 {
		first = first[:i]
	}
	for _, f := range c.ep.Resource.Fields {
		if f.Column == first && !f.Hidden {
			return f.JSON
		}
	}
	return ""
}
