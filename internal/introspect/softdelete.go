package introspect

import (
	"reflect"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// SoftDelete is a resource's soft-delete strategy: which columns record a
// deletion and what they hold while a row is live. It is the one place
// that spells out "live" and "deleted" in SQL; every statement that reads,
// writes, counts, indexes, purges or migrates a soft-deletable table asks
// it, so that a new convention is added here and nowhere else.
//
// A row's state is read from its marker column: Flag when the model has
// one, else At. Every write the framework makes keeps the other columns
// consistent with it.
type SoftDelete struct {
	// At is the deletion time, or nil when Flag alone records deletions:
	// a timestamp that is NULL while the row is live or, when Unix is
	// set, an integer of Unix seconds that is 0 while it is live.
	At *Field
	// Unix says At holds Unix seconds rather than a timestamp.
	Unix bool
	// Flag is a boolean column that is false while the row is live, or
	// nil.
	Flag *Field
	// By records who soft-deleted a row, or nil; NULL while it is live.
	By *Field

	// live and deleted are the two states as WHERE conditions on the
	// marker column, built once: the request path only hands them out.
	live, deleted cond
}

// cond is a SQL condition whose one placeholder is the marker column.
type cond struct {
	sql  string
	args []any
}

// The states of a marker column, by kind, as condition templates whose
// one "?" is the column.
const (
	nullLive    = "? IS NULL"
	nullDeleted = "? IS NOT NULL"
	zeroLive    = "? = 0"
	zeroDeleted = "? <> 0"
	flagLive    = "? = FALSE"
	flagDeleted = "? = TRUE"
)

func newSoftDelete(at *Field, unix bool, flag, by *Field) *SoftDelete {
	s := &SoftDelete{At: at, Unix: unix, Flag: flag, By: by}
	live, deleted := nullLive, nullDeleted
	switch {
	case flag != nil:
		live, deleted = flagLive, flagDeleted
	case unix:
		live, deleted = zeroLive, zeroDeleted
	}
	// The argument lists are shared by every request: a full slice
	// expression makes any append to them copy.
	args := []any{s.Marker().Ident}
	s.live = cond{live, args[:1:1]}
	s.deleted = cond{deleted, args[:1:1]}
	return s
}

// Marker is the column whose value says whether a row is live: Flag when
// there is one, else At.
func (s *SoftDelete) Marker() *Field {
	if s.Flag != nil {
		return s.Flag
	}
	return s.At
}

// Live is the condition "the row is live", with its arguments; "" on a
// nil strategy (a resource without soft deletes), where every row is.
// The argument slice is shared: append to it, never write into it.
func (s *SoftDelete) Live() (string, []any) {
	if s == nil {
		return "", nil
	}
	return s.live.sql, s.live.args
}

// Deleted is the condition "the row is soft-deleted", with its arguments.
func (s *SoftDelete) Deleted() (string, []any) {
	return s.deleted.sql, s.deleted.args
}

// LiveOf and DeletedOf are Live and Deleted as SQL text with the column
// qualified by row (a table name or alias, or NEW or OLD in a trigger),
// for statements that take no arguments, such as trigger bodies. The
// column is the quoted identifier from the model's schema.
func (s *SoftDelete) LiveOf(row string) string { return s.qualify(s.live.sql, row) }

// DeletedOf is Deleted as SQL text; see LiveOf.
func (s *SoftDelete) DeletedOf(row string) string { return s.qualify(s.deleted.sql, row) }

func (s *SoftDelete) qualify(template, row string) string {
	col := string(s.Marker().Ident)
	if row != "" {
		col = row + "." + col
	}
	return strings.Replace(template, "?", col, 1)
}

// Precision is how finely At records a time: the microsecond databases
// store for timestamps, or the second of a Unix-time column. A delete
// stamps every row of its cascade with one time at the coarsest precision
// among them, so that a restore finds them by equality.
func (s *SoftDelete) Precision() time.Duration {
	if s.Unix {
		return time.Second
	}
	return time.Microsecond
}

// stamp is t as At stores it.
func (s *SoftDelete) stamp(t time.Time) any {
	if s.Unix {
		return t.Unix()
	}
	return t
}

// SetDeleted makes q mark its rows deleted at now by by (the value for the
// By column; ignored without one).
func (s *SoftDelete) SetDeleted(q *bun.UpdateQuery, now time.Time, by any) *bun.UpdateQuery {
	if s.Flag != nil {
		q = q.Set("? = TRUE", s.Flag.Ident)
	}
	if s.At != nil {
		q = q.Set("? = ?", s.At.Ident, s.stamp(now))
	}
	if s.By != nil {
		q = q.Set("? = ?", s.By.Ident, by)
	}
	return q
}

// SetRestored makes q mark its rows live again.
func (s *SoftDelete) SetRestored(q *bun.UpdateQuery) *bun.UpdateQuery {
	if s.Flag != nil {
		q = q.Set("? = FALSE", s.Flag.Ident)
	}
	switch {
	case s.At != nil && s.Unix:
		q = q.Set("? = 0", s.At.Ident)
	case s.At != nil:
		q = q.Set("? = NULL", s.At.Ident)
	}
	if s.By != nil {
		q = q.Set("? = NULL", s.By.Ident)
	}
	return q
}

// InsertLive makes q insert its rows live, whatever the record holds: a
// zero time.Time would otherwise be stored as the zero time, not NULL.
func (s *SoftDelete) InsertLive(q *bun.InsertQuery) *bun.InsertQuery {
	if s.Flag != nil {
		q = q.Value(s.Flag.Column, "FALSE")
	}
	switch {
	case s.At != nil && s.Unix:
		q = q.Value(s.At.Column, "0")
	case s.At != nil:
		q = q.Value(s.At.Column, "NULL")
	}
	return q
}

// StampOf reads the deletion time of rec (a struct value of the model);
// ok is false when the row is live or the model records no time.
func (s *SoftDelete) StampOf(rec reflect.Value) (t time.Time, ok bool) {
	switch {
	case s.At == nil:
		return time.Time{}, false
	case s.Unix:
		v := s.At.Value(rec)
		var n int64
		if s.At.Kind == KindUint {
			n = int64(v.Uint())
		} else {
			n = v.Int()
		}
		return time.Unix(n, 0).UTC(), n != 0
	}
	return s.At.TimeOf(s.At.Value(rec))
}

// StampIs is the condition "the row was deleted at t", for restoring
// the rows a cascade deleted with their parent; ok is false when the
// model records no time.
func (s *SoftDelete) StampIs(t time.Time) (string, []any, bool) {
	if s.At == nil {
		return "", nil, false
	}
	return "? = ?", []any{s.At.Ident, s.stamp(t)}, true
}

// DeletedBefore is the condition "the row was soft-deleted before
// cutoff", which purges remove; ok is false when the model records no
// deletion time.
func (s *SoftDelete) DeletedBefore(cutoff time.Time) (string, []any, bool) {
	if s.At == nil {
		return "", nil, false
	}
	return s.deleted.sql + " AND ? < ?", []any{s.Marker().Ident, s.At.Ident, s.stamp(cutoff)}, true
}

// Order is the column the trash view sorts by, latest deletion first, or
// nil when the model records no deletion time.
func (s *SoftDelete) Order() *Field { return s.At }

// IndexColumns are the columns, in order, of the index Migrate creates for
// the trash view and purges (the primary key follows them): the marker,
// then the deletion time.
func (s *SoftDelete) IndexColumns() []*Field {
	if s.Flag != nil && s.At != nil {
		return []*Field{s.Flag, s.At}
	}
	return []*Field{s.Marker()}
}

// Columns lists the strategy's columns: Flag, At and By, those present.
func (s *SoftDelete) Columns() []*Field {
	var out []*Field
	for _, f := range []*Field{s.Flag, s.At, s.By} {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// ColumnDefault is what follows the type of f, one of the strategy's
// columns, when Migrate adds it to a table that has rows: those rows are
// live, so a column that is not NULL while live needs a default.
func (s *SoftDelete) ColumnDefault(f *Field) string {
	if live := s.liveValue(f); live != "" {
		return " NOT NULL DEFAULT " + live
	}
	return ""
}

// liveValue is the SQL value f holds while a row is live, for the flag
// and a Unix-time column; "" for a column that is NULL while live.
func (s *SoftDelete) liveValue(f *Field) string {
	switch {
	case f == s.Flag:
		return "FALSE"
	case f == s.At && s.Unix:
		return "0"
	}
	return ""
}

// declareNotNull makes bun declare the flag and a Unix-time column NOT
// NULL with their live value as default when it creates the table (bun
// reads both from its schema.Field), as Migrate does when it adds such a
// column: a NULL there, written by another program, would be neither
// live nor deleted, and the counts table's triggers could not count it.
// NULL-while-live columns are left as the model declares them.
func (s *SoftDelete) declareNotNull(columns map[*Field]*schema.Field) {
	for _, f := range []*Field{s.Flag, s.At} {
		bf := columns[f]
		live := s.liveValue(f)
		if f == nil || bf == nil || live == "" {
			continue
		}
		bf.NotNull = true
		if bf.SQLDefault == "" {
			bf.SQLDefault = live
		}
	}
}

// FlagFromStamp makes q set Flag on the rows whose At records a deletion,
// for a Flag column just added beside an At column whose deleted rows it
// must not bring back; ok is false when the model has not both.
func (s *SoftDelete) FlagFromStamp(q *bun.UpdateQuery) (*bun.UpdateQuery, bool) {
	if s.Flag == nil || s.At == nil {
		return q, false
	}
	deleted := nullDeleted
	if s.Unix {
		deleted = zeroDeleted
	}
	return q.Set("? = TRUE", s.Flag.Ident).Where(deleted, s.At.Ident), true
}
