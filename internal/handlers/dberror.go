package handlers

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/framework/database"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// sqliteError is the part of a SQLite driver error (modernc's) we read:
// its extended result code.
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

// failureKind is what a database error means for the client.
type failureKind int

const (
	failOther failureKind = iota
	failUnique
	failNotNull
	failForeignKey
	failCheck
	failBusy     // locked, busy, a serialization failure or a deadlock: retry
	failBadValue // a value the column's type cannot hold
	failStorage  // the database cannot write or reach its files: retry later
)

// failure is a classified database error: its kind, and the table and
// first column it names, where the database says.
type failure struct {
	kind          failureKind
	table, column string
}

// classify reads a database error of either engine. SQLite's driver
// exposes its result code through a method and names the columns in the
// message ("UNIQUE constraint failed: users.email"). pgx exposes the
// SQLSTATE, table, column and constraint detail as fields of
// *pgconn.PgError, which no small interface can reach, so that type is
// read directly.
func classify(err error) failure {
	if database.IsStorageFault(err) {
		return failure{kind: failStorage}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return classifyPostgres(pe)
	}
	var se sqliteError
	if !errors.As(err, &se) {
		return failure{}
	}
	var f failure
	switch se.Code() {
	case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
		f.kind = failUnique
	case sqliteConstraintNotNull:
		f.kind = failNotNull
	case sqliteConstraintForeignKey:
		f.kind = failForeignKey
	case sqliteConstraintCheck:
		f.kind = failCheck
	default:
		// Busy and locked come with several extended codes (BUSY_SNAPSHOT,
		// BUSY_TIMEOUT, LOCKED_SHAREDCACHE...); the primary code is the
		// low byte.
		if primary := se.Code() & 0xff; primary == sqliteBusy || primary == sqliteLocked {
			f.kind = failBusy
		}
		return f
	}
	// The driver may repeat the phrase ("constraint failed: UNIQUE
	// constraint failed: users.email"); the columns follow the last one.
	msg := se.Error()
	const marker = "constraint failed: "
	if i := strings.LastIndex(msg, marker); i >= 0 {
		first, _, _ := strings.Cut(msg[i+len(marker):], ",")
		first = strings.TrimSpace(first)
		if i := strings.IndexAny(first, " ("); i >= 0 {
			first = first[:i]
		}
		f.table, f.column, _ = strings.Cut(first, ".")
		if f.column == "" {
			f.table, f.column = "", f.table
		}
	}
	return f
}

// classifyPostgres reads PostgreSQL's SQLSTATE codes.
func classifyPostgres(pe *pgconn.PgError) failure {
	f := failure{table: pe.TableName, column: pe.ColumnName}
	switch pe.Code {
	case "23505": // unique_violation
		f.kind = failUnique
		// "Key (email)=(a@b.c) already exists.": the columns come first.
		if cols, ok := strings.CutPrefix(pe.Detail, "Key ("); ok && f.column == "" {
			first, _, _ := strings.Cut(cols, ")")
			first, _, _ = strings.Cut(first, ",")
			f.column = strings.Trim(strings.TrimSpace(first), `"`)
		}
	case "23502": // not_null_violation
		f.kind = failNotNull
	case "23503": // foreign_key_violation
		f.kind = failForeignKey
	case "23514": // check_violation
		f.kind = failCheck
	case "40001", "40P01", "55P03", "57014", "53300":
		// serialization failure, deadlock, lock not available, statement
		// timeout, too many connections: all pass, so retry.
		f.kind = failBusy
	default:
		if strings.HasPrefix(pe.Code, "22") { // data exception
			f.kind = failBadValue
		}
	}
	return f
}

// DBError turns a database error into the answer for the client: a
// constraint violation becomes a 4xx naming the field where the database
// says which; anything else stays an internal error whose text is logged,
// never sent. Both engines give the same answers.
func (c *Context) DBError(err error) error { return c.svc.dbError(err) }

// dbError is Context.DBError.
func (s *Service) dbError(err error) error {
	if errors.Is(err, errDryRun) {
		return err
	}
	var u *unavailable
	if errors.As(err, &u) {
		return u
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return NewProblem(http.StatusServiceUnavailable, "the request was cancelled or timed out")
	}
	f := classify(err)
	switch f.kind {
	case failUnique:
		if name := s.constraintField(f); name != "" {
			return NewProblem(http.StatusConflict, name+": the value is already taken", FieldError{Field: name, Message: "the value is already taken"})
		}
		return NewProblem(http.StatusConflict, "the record conflicts with an existing one")
	case failNotNull:
		if name := s.constraintField(f); name != "" {
			return unprocessable([]FieldError{{Field: name, Message: "is required"}})
		}
		return NewProblem(http.StatusUnprocessableEntity, "a required field is missing")
	case failForeignKey:
		return NewProblem(http.StatusConflict, "the change conflicts with related records: a referenced record does not exist, or other records still refer to this one")
	case failCheck:
		return NewProblem(http.StatusUnprocessableEntity, "a value fails a check constraint")
	case failBadValue:
		if name := s.constraintField(f); name != "" {
			return unprocessable([]FieldError{{Field: name, Message: "is not a value the database can store"}})
		}
		return NewProblem(http.StatusUnprocessableEntity, "a value is not one the database can store")
	case failBusy:
		return &unavailable{NewProblem(http.StatusServiceUnavailable, "the database is busy; retry the request"), err, busyRetryAfter}
	case failStorage:
		return &unavailable{NewProblem(http.StatusServiceUnavailable, "the storage is unavailable; retry later"), err, storageRetryAfter}
	}
	return err
}

// How long a client is asked to wait, in seconds: a busy database frees
// up within a request's time; a storage fault waits for an operator or
// for space, so clients should not hammer it.
const (
	busyRetryAfter    = "1"
	storageRetryAfter = "30"
)

// unavailable is a 503 for a condition that passes: its problem for the
// client, with Retry-After, and its cause for the log, which the error
// handler writes for every 5xx.
type unavailable struct {
	problem    *Problem
	cause      error
	retryAfter string
}

func (u *unavailable) Error() string   { return u.problem.Error() + ": " + u.cause.Error() }
func (u *unavailable) Unwrap() []error { return []error{u.problem, u.cause} }

// ProblemHeaders asks the client to retry later.
func (u *unavailable) ProblemHeaders() http.Header {
	return http.Header{"Retry-After": []string{u.retryAfter}}
}

// IsForeignKeyViolation reports whether err is the database refusing a
// write for a foreign key.
func IsForeignKeyViolation(err error) bool {
	return classify(err).kind == failForeignKey
}

// writeError is DBError for a create or update of rec: a foreign-key
// failure is explained by the belongs-to reference at fault, when one is.
func (s *Service) writeError(ctx context.Context, g *grants, err error, rec reflect.Value, set []*introspect.Field) error {
	if IsForeignKeyViolation(err) {
		if perr := s.checkParents(ctx, s.ep.DB, g, rec, set); perr != nil {
			return s.dbError(perr)
		}
	}
	return s.dbError(err)
}

// referencedError is DBError for removing the row with key id: a
// foreign-key failure names a resource whose rows still refer to it.
func (s *Service) referencedError(ctx context.Context, err error, id any) error {
	if !IsForeignKeyViolation(err) {
		return s.dbError(err)
	}
	// In name order, so that the answer is the same every time.
	others := slices.SortedFunc(maps.Values(s.ep.Related), func(a, b *introspect.Resource) int {
		return strings.Compare(a.Name, b.Name)
	})
	for _, other := range others {
		for i := range other.Relations {
			rel := &other.Relations[i]
			if rel.Kind != schema.BelongsToRelation || rel.Related != s.res.Type {
				continue
			}
			exists, qerr := s.ep.DB.NewSelect().TableExpr("?", other.Table.SQLName).
				Where("? = ?", rel.Base.Ident, id).Exists(ctx)
			if qerr == nil && exists {
				return Problemf(http.StatusConflict, "%s %v is still referenced by %s", s.res.Name, id, other.Name)
			}
		}
	}
	return Problemf(http.StatusConflict, "%s %v is still referenced by other records", s.res.Name, id)
}

// constraintField is the JSON name of the column a failure names, when it
// is a visible field of this resource: a constraint of another table (a
// cascaded child, say) names no field of it.
func (s *Service) constraintField(f failure) string {
	res := s.res
	if f.column == "" || (f.table != "" && f.table != res.Table.Name) {
		return ""
	}
	for _, fd := range res.Fields {
		if fd.Column == f.column && !fd.Hidden {
			return fd.JSON
		}
	}
	return ""
}
