package introspect_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// newDB returns a bun.DB on a fresh SQLite file; Build only reads bun's
// schema from it.
func newDB(t *testing.T) *bun.DB {
	t.Helper()
	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// build describes model, failing the test on an error or a panic.
func build(t *testing.T, model any, opts introspect.Options) *introspect.Resource {
	t.Helper()
	res, err := buildErr(t, model, opts)
	if err != nil {
		t.Fatalf("Build(%T): %v", model, err)
	}
	return res
}

// buildErr describes model and turns a panic into a test failure.
func buildErr(t *testing.T, model any, opts introspect.Options) (res *introspect.Resource, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Build(%T) panicked: %v", model, p)
		}
	}()
	return introspect.Build(newDB(t), model, opts)
}

// field returns the field with Go name goName.
func field(t *testing.T, res *introspect.Resource, goName string) *introspect.Field {
	t.Helper()
	for _, f := range res.Fields {
		if f.GoName == goName {
			return f
		}
	}
	t.Fatalf("%s has no field %s", res.ModelName, goName)
	return nil
}

// jsonNames lists the JSON names of fields.
func jsonNames(fields []*introspect.Field) []string {
	var names []string
	for _, f := range fields {
		names = append(names, f.JSON)
	}
	return names
}

// ---- naming

type BlogPost struct {
	ID    int64 `bun:"id,pk,autoincrement"`
	Title string
}

type Tagged struct {
	bun.BaseModel `bun:"table:my_things"`
	ID            int64 `bun:"id,pk,autoincrement"`
}

func TestResourceName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		model any
		opts  introspect.Options
		want  string
	}{
		{(*BlogPost)(nil), introspect.Options{}, "blog_posts"},
		{(*Tagged)(nil), introspect.Options{}, "my_things"},
		{Tagged{}, introspect.Options{}, "my_things"},
		{(*Tagged)(nil), introspect.Options{Name: "things"}, "things"},
	} {
		res := build(t, c.model, c.opts)
		if res.Name != c.want {
			t.Errorf("%T with %+v: name %q, want %q", c.model, c.opts, res.Name, c.want)
		}
		if c.opts.Name == "" && res.Name != res.Table.Name {
			t.Errorf("%T: name %q is not bun's table name %q", c.model, res.Name, res.Table.Name)
		}
	}
	if _, err := buildErr(t, (*Tagged)(nil), introspect.Options{Name: "My Things"}); err == nil {
		t.Errorf("an invalid resource name was accepted")
	}
	if _, err := buildErr(t, 42, introspect.Options{}); err == nil {
		t.Errorf("a non-struct model was accepted")
	}
}

// ---- soft-delete detection

type ByGoName struct {
	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	DeletedAt time.Time `bun:"removed" json:"removed"`
}

type ByGoNameDate struct {
	ID          int64        `bun:"id,pk,autoincrement" json:"id"`
	DeletedDate sql.NullTime `bun:"gone_on" json:"goneOn"`
}

type ByColumn struct {
	ID   int64        `bun:"id,pk,autoincrement" json:"id"`
	Gone bun.NullTime `bun:"deleted_at" json:"gone"`
}

type ByColumnCamel struct {
	ID   int64      `bun:"id,pk,autoincrement" json:"id"`
	Gone *time.Time `bun:"deletedDate" json:"gone"`
}

type ByJSONCamel struct {
	ID   int64        `bun:"id,pk,autoincrement" json:"id"`
	Gone sql.NullTime `bun:"gone" json:"deletedAt"`
}

type ByJSONSnake struct {
	ID   int64     `bun:"id,pk,autoincrement" json:"id"`
	Gone time.Time `bun:"gone" json:"deleted_at"`
}

type ByJSONDate struct {
	ID   int64      `bun:"id,pk,autoincrement" json:"id"`
	Gone *time.Time `bun:"gone" json:"deletedDate"`
}

type ByTag struct {
	ID         int64      `bun:"id,pk,autoincrement" json:"id"`
	ArchivedAt *time.Time `bun:",soft_delete,nullzero" json:"archivedAt"`
}

type NoSoftDelete struct {
	ID      int64      `bun:"id,pk,autoincrement" json:"id"`
	Removed *time.Time `bun:"removed" json:"removed"`
	Deleted bool       `bun:"deleted" json:"deleted"`
}

func TestSoftDeleteDetection(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		model  any
		goName string
		json   string
		shape  introspect.TimeShape
	}{
		{"Go name DeletedAt", (*ByGoName)(nil), "DeletedAt", "removed", introspect.TimeValue},
		{"Go name DeletedDate", (*ByGoNameDate)(nil), "DeletedDate", "goneOn", introspect.SQLNullTime},
		{"column deleted_at", (*ByColumn)(nil), "Gone", "gone", introspect.BunNullTime},
		{"column deletedDate", (*ByColumnCamel)(nil), "Gone", "gone", introspect.TimePointer},
		{"JSON deletedAt", (*ByJSONCamel)(nil), "Gone", "deletedAt", introspect.SQLNullTime},
		{"JSON deleted_at", (*ByJSONSnake)(nil), "Gone", "deleted_at", introspect.TimeValue},
		{"JSON deletedDate", (*ByJSONDate)(nil), "Gone", "deletedDate", introspect.TimePointer},
		{"bun soft_delete tag", (*ByTag)(nil), "ArchivedAt", "archivedAt", introspect.TimePointer},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := build(t, c.model, introspect.Options{})
			if !res.SoftDeletable() {
				t.Fatalf("no soft-delete column found")
			}
			sd := res.SoftDelete.At
			if sd.GoName != c.goName || sd.JSON != c.json || sd.Time != c.shape {
				t.Errorf("soft-delete column %s (JSON %q, shape %v), want %s (JSON %q, shape %v)", sd.GoName, sd.JSON, sd.Time, c.goName, c.json, c.shape)
			}
			if !sd.ReadOnly {
				t.Errorf("soft-delete column is writable")
			}
			if slices.Contains(res.Exposed(false), sd) || !slices.Contains(res.Exposed(true), sd) {
				t.Errorf("soft-delete column exposed: without read_deleted %v, with %v", jsonNames(res.Exposed(false)), jsonNames(res.Exposed(true)))
			}
			if _, ok := res.Lookup(c.json, false); ok {
				t.Errorf("Lookup(%q) without read_deleted found the soft-delete column", c.json)
			}
			if f, ok := res.Lookup(c.json, true); !ok || f != sd {
				t.Errorf("Lookup(%q) with read_deleted did not find the soft-delete column", c.json)
			}
		})
	}
	res := build(t, (*NoSoftDelete)(nil), introspect.Options{})
	if res.SoftDeletable() {
		t.Errorf("NoSoftDelete: %s taken for a soft-delete column", res.SoftDelete.At.GoName)
	}
	if got := jsonNames(res.Exposed(false)); !slices.Equal(got, []string{"id", "removed", "deleted"}) {
		t.Errorf("NoSoftDelete exposes %v", got)
	}
}

// ---- read-only and hidden fields

type Stamped struct {
	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Title     string     `bun:"title" json:"title"`
	Internal  string     `bun:"internal" json:"-"`
	CreatedAt time.Time  `bun:"created_at" json:"createdAt"`
	UpdatedAt time.Time  `bun:"updated_at" json:"updatedAt"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

type SnakeStamped struct {
	ID       int64        `bun:"id,pk,autoincrement" json:"id"`
	Made     time.Time    `bun:"made" json:"created_at"`
	Modified bun.NullTime `bun:"modified" json:"updated_at"`
}

type Coded struct {
	Code string `bun:"code,pk" json:"code"`
	Name string `bun:"name" json:"name"`
}

func TestReadOnlyAndHiddenFields(t *testing.T) {
	t.Parallel()
	res := build(t, (*Stamped)(nil), introspect.Options{})
	for goName, readOnly := range map[string]bool{
		"ID": true, "Title": false, "CreatedAt": true, "UpdatedAt": true, "DeletedAt": true,
	} {
		if f := field(t, res, goName); f.ReadOnly != readOnly {
			t.Errorf("%s.ReadOnly = %v, want %v", goName, f.ReadOnly, readOnly)
		}
	}
	if res.PK == nil || res.PK.GoName != "ID" || !res.PK.IsPK() {
		t.Errorf("PK = %+v", res.PK)
	}
	if res.CreatedAt == nil || res.CreatedAt.GoName != "CreatedAt" || res.UpdatedAt == nil || res.UpdatedAt.GoName != "UpdatedAt" {
		t.Errorf("timestamps: created %+v, updated %+v", res.CreatedAt, res.UpdatedAt)
	}

	hidden := field(t, res, "Internal")
	if !hidden.Hidden || hidden.JSON != "" {
		t.Errorf("Internal: Hidden %v, JSON %q; want hidden with no JSON name", hidden.Hidden, hidden.JSON)
	}
	for _, name := range []string{"Internal", "internal", "-", ""} {
		if _, ok := res.FieldByJSON(name); ok {
			t.Errorf("FieldByJSON(%q) found a field", name)
		}
		if _, ok := res.Lookup(name, true); ok {
			t.Errorf("Lookup(%q, true) found a field", name)
		}
	}
	for _, withDeleted := range []bool{false, true} {
		if slices.Contains(res.Exposed(withDeleted), hidden) {
			t.Errorf("Exposed(%v) includes the json:\"-\" field", withDeleted)
		}
	}
	if got := jsonNames(res.Exposed(true)); !slices.Equal(got, []string{"id", "title", "createdAt", "updatedAt", "deletedAt"}) {
		t.Errorf("Exposed(true) = %v", got)
	}

	snake := build(t, (*SnakeStamped)(nil), introspect.Options{})
	if snake.CreatedAt == nil || snake.CreatedAt.GoName != "Made" || !snake.CreatedAt.ReadOnly {
		t.Errorf("created_at by JSON name not detected: %+v", snake.CreatedAt)
	}
	if snake.UpdatedAt == nil || snake.UpdatedAt.GoName != "Modified" || !snake.UpdatedAt.ReadOnly {
		t.Errorf("updated_at by JSON name not detected: %+v", snake.UpdatedAt)
	}

	coded := build(t, (*Coded)(nil), introspect.Options{})
	if coded.PK.ReadOnly {
		t.Errorf("a client-chosen string key is read-only")
	}
}

// ---- models Build must refuse

type NoKey struct {
	Label string `bun:"label"`
}

type TwoKeys struct {
	Left  int64 `bun:"left,pk"`
	Right int64 `bun:"right,pk"`
}

type StringTomb struct {
	ID        int64  `bun:"id,pk,autoincrement"`
	DeletedAt string `bun:"deleted_at"`
}

type IntTomb struct {
	ID   int64  `bun:"id,pk,autoincrement"`
	Gone *int64 `bun:"deleted_at"`
}

type BoolTomb struct {
	ID         int64 `bun:"id,pk,autoincrement"`
	ArchivedAt bool  `bun:",soft_delete"`
}

type TwoTombs struct {
	ID          int64        `bun:"id,pk,autoincrement"`
	DeletedAt   time.Time    `bun:"deleted_at"`
	DeletedDate sql.NullTime `bun:"deleted_date"`
}

type TextCreated struct {
	ID        int64  `bun:"id,pk,autoincrement"`
	CreatedAt string `bun:"created_at"`
}

type TwoUpdated struct {
	ID         int64     `bun:"id,pk,autoincrement"`
	UpdatedAt  time.Time `bun:"updated_at"`
	ModifiedAt time.Time `bun:"modified_at"`
}

// SameJSON's Name is tagged with the JSON name Label gets by default.
type SameJSON struct {
	ID    int64  `bun:"id,pk,autoincrement" json:"id"`
	Name  string `bun:"name" json:"Label"`
	Label string `bun:"label"`
}

// Paged is a generic model without a table alias of its own: bun names
// one after the type, type arguments and all.
type Paged[T any] struct {
	bun.BaseModel `bun:"table:pages"`

	ID    int64 `bun:"id,pk,autoincrement"`
	Value T
}

// AliasedPaged is Paged with an alias.
type AliasedPaged[T any] struct {
	bun.BaseModel `bun:"table:pages,alias:page"`

	ID    int64 `bun:"id,pk,autoincrement"`
	Value T
}

func TestGenericModelAlias(t *testing.T) {
	t.Parallel()
	build(t, (*Paged[int64])(nil), introspect.Options{})
	build(t, (*AliasedPaged[time.Time])(nil), introspect.Options{})
}

// SearchedNumber tags a number for search, which only text can be.
type SearchedNumber struct {
	ID    int64 `bun:"id,pk"`
	Views int64 `bun:"views" autoapi:"search"`
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		model any
		want  []string
	}{
		{"no primary key", (*NoKey)(nil), []string{"NoKey", "primary key"}},
		{"composite primary key", (*TwoKeys)(nil), []string{"TwoKeys", "Left", "Right"}},
		{"string soft-delete column", (*StringTomb)(nil), []string{"StringTomb", "DeletedAt", "string"}},
		{"integer soft-delete column", (*IntTomb)(nil), []string{"IntTomb", "Gone", "int64"}},
		{"bool soft_delete tag", (*BoolTomb)(nil), []string{"BoolTomb", "ArchivedAt", "bool"}},
		{"two soft-delete candidates", (*TwoTombs)(nil), []string{"TwoTombs", "DeletedAt", "DeletedDate"}},
		{"string creation timestamp", (*TextCreated)(nil), []string{"TextCreated", "CreatedAt", "string"}},
		{"two update timestamps", (*TwoUpdated)(nil), []string{"TwoUpdated", "UpdatedAt", "ModifiedAt"}},
		{"two fields with one JSON name", (*SameJSON)(nil), []string{"SameJSON", "Name", "Label", `"Label"`}},
		{"generic type's alias with a dot", (*Paged[time.Time])(nil), []string{"Paged[time.Time]", `"paged[time._time]"`, "alias:"}},
		{"search tag on a number", (*SearchedNumber)(nil), []string{"SearchedNumber", "Views", `autoapi:"search"`, "int64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, err := buildErr(t, c.model, introspect.Options{})
			if err == nil {
				t.Fatalf("Build succeeded: %+v", res)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
