package framework_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/internal/apitest"
)

// The library once per soft-delete convention. Each convention has its
// own models of the same tables (authors, books, chapters, profiles,
// labels), its own fixture and so its own database, and the same rows:
// only the columns that record a deletion differ. The leak matrix runs
// over every one of them.

// libStrategy is one soft-delete convention of the library: its models,
// its deletion fields, and through them how a deleted row is seeded and
// how the fields read in responses and queries.
type libStrategy struct {
	name string
	// fields are the deletion fields of every soft-deletable library
	// model, in the order responses write them.
	fields []deletionField
	// models registers the library's models of this convention on app.
	models []func(*framework.App, ...framework.Option) error
	// junction is the many-to-many junction of books and labels, a bun
	// model only.
	junction any
	// fixture is the library app with these models and the seeded rows.
	fixture *apitest.Fixture
}

// deletionField is one column that records a deletion, as the leak
// matrix sees it.
type deletionField struct {
	key, column string
	// value is what the column holds for a row deleted at t, or for a
	// live row when t is nil; json is the same as a response writes it.
	value func(t *time.Time) any
	json  func(t *time.Time) string
	// deleted is a simple filter (name and value) and expr a filter
	// expression, each true of deleted rows only.
	deleted [2]string
	expr    string
	// byValue is a simple filter on the field's value, and byValueIDs the
	// books it selects among every book; sortIDs are every book sorted
	// by the field descending (then by key).
	byValue    [2]string
	byValueIDs []int
	sortIDs    []int
}

var (
	// timeField is a nullable deletion timestamp, NULL while live.
	timeField = deletionField{key: "deletedAt", column: "deleted_at",
		value: func(t *time.Time) any {
			if t == nil {
				return nil
			}
			return *t
		},
		json: func(t *time.Time) string {
			if t == nil {
				return `"deletedAt":null`
			}
			return `"deletedAt":"` + t.UTC().Format(time.RFC3339Nano) + `"`
		},
		deleted: [2]string{"deletedAt[null]", "false"}, expr: "deletedAt != null",
		byValue: [2]string{"deletedAt[gt]", seedDeletedJSON}, byValueIDs: []int{7},
		sortIDs: []int{7, 6, 1, 2, 3, 4, 5}}
	// unixField is an integer deletion time in Unix seconds, 0 while live.
	unixField = deletionField{key: "deletedAt", column: "deleted_at",
		value: func(t *time.Time) any {
			if t == nil {
				return 0
			}
			return t.Unix()
		},
		json: func(t *time.Time) string {
			if t == nil {
				return `"deletedAt":0`
			}
			return `"deletedAt":` + strconv.FormatInt(t.Unix(), 10)
		},
		deleted: [2]string{"deletedAt[gt]", "0"}, expr: "deletedAt != 0",
		byValue: [2]string{"deletedAt[gt]", strconv.FormatInt(seedDeleted.Unix(), 10)}, byValueIDs: []int{7},
		sortIDs: []int{7, 6, 1, 2, 3, 4, 5}}
	// flagField is a boolean is_deleted, false while live. It records no
	// time: sorted descending, deleted rows come first in key order.
	flagField = deletionField{key: "isDeleted", column: "is_deleted",
		value: func(t *time.Time) any { return t != nil },
		json: func(t *time.Time) string {
			return `"isDeleted":` + strconv.FormatBool(t != nil)
		},
		deleted: [2]string{"isDeleted[eq]", "true"}, expr: "isDeleted = true",
		byValue: [2]string{"isDeleted", "true"}, byValueIDs: []int{6, 7},
		sortIDs: []int{6, 7, 1, 2, 3, 4, 5}}
)

// libStrategies are the library's conventions, the first the nullable
// timestamps of the library's own models (query_models_test.go), held in a
// different Go type by each model.
var libStrategies = []*libStrategy{
	libTimestamps,
	newLibStrategy(libStrategy{name: "unix", fields: []deletionField{unixField},
		models:   atModels[int64](),
		junction: (*libBookLabel[atBook[int64], atLabel[int64]])(nil)}),
	newLibStrategy(libStrategy{name: "flag", fields: []deletionField{flagField},
		models: []func(*framework.App, ...framework.Option) error{
			framework.Register[flagAuthor], framework.Register[flagBook], framework.Register[flagChapter],
			framework.Register[flagProfile], framework.Register[flagLabel], framework.Register[Audit]},
		junction: (*libBookLabel[flagBook, flagLabel])(nil)}),
	newLibStrategy(libStrategy{name: "flag beside timestamp", fields: []deletionField{flagField, timeField},
		models:   flagAtModels[*time.Time](),
		junction: (*libBookLabel[flagAtBook[*time.Time], flagAtLabel[*time.Time]])(nil)}),
	newLibStrategy(libStrategy{name: "flag beside unix", fields: []deletionField{flagField, unixField},
		models:   flagAtModels[int64](),
		junction: (*libBookLabel[flagAtBook[int64], flagAtLabel[int64]])(nil)}),
}

// libTimestamps is the library of query_models_test.go, which most tests
// of the query language use.
var libTimestamps = newLibStrategy(libStrategy{name: "timestamp", fields: []deletionField{timeField},
	models: []func(*framework.App, ...framework.Option) error{
		framework.Register[Author], framework.Register[Book], framework.Register[Chapter],
		framework.Register[Profile], framework.Register[Label], framework.Register[Audit]},
	junction: (*BookLabel)(nil)})

// newLibStrategy returns s with its fixture: the basic fixture's models
// and rows, and the library's in s's models.
func newLibStrategy(s libStrategy) *libStrategy {
	p := &s
	p.fixture = &apitest.Fixture{
		Name: "library (" + s.name + ")",
		Config: func(db *bun.DB) framework.Config {
			c := baseConfig(db)
			libConfig(&c)
			return c
		},
		Register: p.register,
		Seed: func(t testing.TB, db *bun.DB) {
			t.Helper()
			seed(t, db)
			if _, err := db.NewCreateTable().Model(p.junction).IfNotExists().WithForeignKeys().Exec(context.Background()); err != nil {
				t.Fatalf("create book_labels: %v", err)
			}
			p.seed(t, db)
		},
	}
	return p
}

// register registers every test model and s's library models on app, and
// the junction model on db.
func (s *libStrategy) register(app *framework.App, db *bun.DB) error {
	if err := registerAll(app, db); err != nil {
		return err
	}
	// bun must know the junction model before any model using it.
	db.RegisterModel(s.junction)
	for _, register := range s.models {
		if err := register(app); err != nil {
			return err
		}
	}
	return nil
}

// columns are the deletion columns of a row deleted at t, or of a live
// row when t is nil.
func (s *libStrategy) columns(t *time.Time) map[string]any {
	row := map[string]any{}
	for _, f := range s.fields {
		row[f.column] = f.value(t)
	}
	return row
}

// live and deletedAt are the deletion fields of a live row, and of a row
// deleted at t, as a response writes them.
func (s *libStrategy) live() string { return s.fieldsJSON(nil) }

func (s *libStrategy) deletedAt(t time.Time) string { return s.fieldsJSON(&t) }

func (s *libStrategy) fieldsJSON(t *time.Time) string {
	parts := make([]string, len(s.fields))
	for i, f := range s.fields {
		parts[i] = f.json(t)
	}
	return strings.Join(parts, ",")
}

// keys are the JSON names of the deletion fields.
func (s *libStrategy) keys() []string {
	keys := make([]string, len(s.fields))
	for i, f := range s.fields {
		keys[i] = f.key
	}
	return keys
}

// named is a case name about field f: the name itself when s has one
// deletion field, else the name with the field's key.
func (s *libStrategy) named(name string, f deletionField) string {
	if len(s.fields) == 1 {
		return name
	}
	return name + " (" + f.key + ")"
}

// noLeak adds what no answer to a caller without read_deleted may hold: a
// deleted row, or any deletion field's key.
func (s *libStrategy) noLeak(sc scenario) scenario {
	sc.NotExpectedContent = append(sc.NotExpectedContent, deletedMarkers...)
	for _, k := range s.keys() {
		sc.NotExpectedContent = append(sc.NotExpectedContent, `"`+k+`"`)
	}
	return sc
}

// on makes every scenario run against s's library.
func (s *libStrategy) on(ss ...scenario) []scenario {
	for i := range ss {
		ss[i].Fixture = s.fixture
	}
	return ss
}

// ---------------------------------------------------------------------------
// The library's models by convention, field for field the models of
// query_models_test.go but for the deletion columns. Audit has none and
// is shared.

// libBookLabel is the junction of books and labels of type B and L.
type libBookLabel[B, L any] struct {
	bun.BaseModel `bun:"table:book_labels"`

	BookID  int64 `bun:"book_id,pk"`
	Book    *B    `bun:"rel:belongs-to,join:book_id=id"`
	LabelID int64 `bun:"label_id,pk"`
	Label   *L    `bun:"rel:belongs-to,join:label_id=id"`
}

// deletionTime is the type of a deletion-time column: a nullable
// timestamp, or Unix seconds. The generic models name their table alias,
// which bun would otherwise derive from the type's name, type arguments
// and all ("flag_at_book[*time.Time]").
type deletionTime interface{ *time.Time | int64 }

// atAuthor and the other at models record deletions by a deletion time
// of type D alone.
type atAuthor[D deletionTime] struct {
	bun.BaseModel `bun:"table:authors,alias:author"`

	ID        int64         `bun:"id,pk,autoincrement" json:"id"`
	Name      string        `bun:"name,notnull" json:"name" validate:"required,max=10"`
	Email     string        `bun:"email,notnull,unique" json:"email" validate:"email"`
	Secret    string        `bun:"secret" json:"-"`
	Books     []*atBook[D]  `bun:"rel:has-many,join:id=author_id" json:"books,omitempty"`
	Profile   *atProfile[D] `bun:"rel:has-one,join:id=author_id" json:"profile,omitempty"`
	DeletedAt D             `bun:"deleted_at" json:"deletedAt"`
}

type atBook[D deletionTime] struct {
	bun.BaseModel `bun:"table:books,alias:book"`

	ID         int64           `bun:"id,pk,autoincrement" json:"id"`
	AuthorID   int64           `bun:"author_id,notnull" json:"authorId"`
	Author     *atAuthor[D]    `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Title      string          `bun:"title,notnull" json:"title"`
	Qty        int64           `bun:"qty,notnull" json:"qty"`
	Rating     *int64          `bun:"rating" json:"rating"`
	Price      float64         `bun:"price,notnull" json:"price"`
	InStock    bool            `bun:"in_stock,notnull" json:"inStock"`
	ReleasedAt time.Time       `bun:"released_at,notnull" json:"releasedAt"`
	Secret     string          `bun:"secret" json:"-"`
	Chapters   []*atChapter[D] `bun:"rel:has-many,join:id=book_id" json:"chapters,omitempty"`
	Labels     []atLabel[D]    `bun:"m2m:book_labels,join:Book=Label" json:"labels,omitempty"`
	Audits     []*Audit        `bun:"rel:has-many,join:id=book_id" json:"audits,omitempty"`
	DeletedAt  D               `bun:"deleted_at" json:"deletedAt"`
}

type atChapter[D deletionTime] struct {
	bun.BaseModel `bun:"table:chapters,alias:chapter"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	BookID    int64      `bun:"book_id,notnull" json:"bookId"`
	Book      *atBook[D] `bun:"rel:belongs-to,join:book_id=id" json:"book,omitempty"`
	Title     string     `bun:"title,notnull" json:"title"`
	Secret    string     `bun:"secret" json:"-"`
	DeletedAt D          `bun:"deleted_at" json:"deletedAt"`
}

type atProfile[D deletionTime] struct {
	bun.BaseModel `bun:"table:profiles,alias:profile"`

	ID        int64        `bun:"id,pk,autoincrement" json:"id"`
	AuthorID  int64        `bun:"author_id,notnull" json:"authorId"`
	Author    *atAuthor[D] `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Bio       string       `bun:"bio,notnull" json:"bio"`
	DeletedAt D            `bun:"deleted_at" json:"deletedAt"`
}

type atLabel[D deletionTime] struct {
	bun.BaseModel `bun:"table:labels,alias:label"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	Name      string `bun:"name,notnull" json:"name"`
	DeletedAt D      `bun:"deleted_at" json:"deletedAt"`
}

func atModels[D deletionTime]() []func(*framework.App, ...framework.Option) error {
	return []func(*framework.App, ...framework.Option) error{
		framework.Register[atAuthor[D]], framework.Register[atBook[D]], framework.Register[atChapter[D]],
		framework.Register[atProfile[D]], framework.Register[atLabel[D]], framework.Register[Audit]}
}

// flagAuthor and the other flag models record deletions by the flag
// IsDeleted alone.
type flagAuthor struct {
	bun.BaseModel `bun:"table:authors"`

	ID        int64        `bun:"id,pk,autoincrement" json:"id"`
	Name      string       `bun:"name,notnull" json:"name" validate:"required,max=10"`
	Email     string       `bun:"email,notnull,unique" json:"email" validate:"email"`
	Secret    string       `bun:"secret" json:"-"`
	Books     []*flagBook  `bun:"rel:has-many,join:id=author_id" json:"books,omitempty"`
	Profile   *flagProfile `bun:"rel:has-one,join:id=author_id" json:"profile,omitempty"`
	IsDeleted bool         `bun:"is_deleted" json:"isDeleted"`
}

type flagBook struct {
	bun.BaseModel `bun:"table:books"`

	ID         int64          `bun:"id,pk,autoincrement" json:"id"`
	AuthorID   int64          `bun:"author_id,notnull" json:"authorId"`
	Author     *flagAuthor    `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Title      string         `bun:"title,notnull" json:"title"`
	Qty        int64          `bun:"qty,notnull" json:"qty"`
	Rating     *int64         `bun:"rating" json:"rating"`
	Price      float64        `bun:"price,notnull" json:"price"`
	InStock    bool           `bun:"in_stock,notnull" json:"inStock"`
	ReleasedAt time.Time      `bun:"released_at,notnull" json:"releasedAt"`
	Secret     string         `bun:"secret" json:"-"`
	Chapters   []*flagChapter `bun:"rel:has-many,join:id=book_id" json:"chapters,omitempty"`
	Labels     []flagLabel    `bun:"m2m:book_labels,join:Book=Label" json:"labels,omitempty"`
	Audits     []*Audit       `bun:"rel:has-many,join:id=book_id" json:"audits,omitempty"`
	IsDeleted  bool           `bun:"is_deleted" json:"isDeleted"`
}

type flagChapter struct {
	bun.BaseModel `bun:"table:chapters"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	BookID    int64     `bun:"book_id,notnull" json:"bookId"`
	Book      *flagBook `bun:"rel:belongs-to,join:book_id=id" json:"book,omitempty"`
	Title     string    `bun:"title,notnull" json:"title"`
	Secret    string    `bun:"secret" json:"-"`
	IsDeleted bool      `bun:"is_deleted" json:"isDeleted"`
}

type flagProfile struct {
	bun.BaseModel `bun:"table:profiles"`

	ID        int64       `bun:"id,pk,autoincrement" json:"id"`
	AuthorID  int64       `bun:"author_id,notnull" json:"authorId"`
	Author    *flagAuthor `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Bio       string      `bun:"bio,notnull" json:"bio"`
	IsDeleted bool        `bun:"is_deleted" json:"isDeleted"`
}

type flagLabel struct {
	bun.BaseModel `bun:"table:labels"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	Name      string `bun:"name,notnull" json:"name"`
	IsDeleted bool   `bun:"is_deleted" json:"isDeleted"`
}

// flagAtAuthor and the other flagAt models record deletions by the flag
// IsDeleted beside a deletion time of type D.
type flagAtAuthor[D deletionTime] struct {
	bun.BaseModel `bun:"table:authors,alias:author"`

	ID        int64             `bun:"id,pk,autoincrement" json:"id"`
	Name      string            `bun:"name,notnull" json:"name" validate:"required,max=10"`
	Email     string            `bun:"email,notnull,unique" json:"email" validate:"email"`
	Secret    string            `bun:"secret" json:"-"`
	Books     []*flagAtBook[D]  `bun:"rel:has-many,join:id=author_id" json:"books,omitempty"`
	Profile   *flagAtProfile[D] `bun:"rel:has-one,join:id=author_id" json:"profile,omitempty"`
	IsDeleted bool              `bun:"is_deleted" json:"isDeleted"`
	DeletedAt D                 `bun:"deleted_at" json:"deletedAt"`
}

type flagAtBook[D deletionTime] struct {
	bun.BaseModel `bun:"table:books,alias:book"`

	ID         int64               `bun:"id,pk,autoincrement" json:"id"`
	AuthorID   int64               `bun:"author_id,notnull" json:"authorId"`
	Author     *flagAtAuthor[D]    `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Title      string              `bun:"title,notnull" json:"title"`
	Qty        int64               `bun:"qty,notnull" json:"qty"`
	Rating     *int64              `bun:"rating" json:"rating"`
	Price      float64             `bun:"price,notnull" json:"price"`
	InStock    bool                `bun:"in_stock,notnull" json:"inStock"`
	ReleasedAt time.Time           `bun:"released_at,notnull" json:"releasedAt"`
	Secret     string              `bun:"secret" json:"-"`
	Chapters   []*flagAtChapter[D] `bun:"rel:has-many,join:id=book_id" json:"chapters,omitempty"`
	Labels     []flagAtLabel[D]    `bun:"m2m:book_labels,join:Book=Label" json:"labels,omitempty"`
	Audits     []*Audit            `bun:"rel:has-many,join:id=book_id" json:"audits,omitempty"`
	IsDeleted  bool                `bun:"is_deleted" json:"isDeleted"`
	DeletedAt  D                   `bun:"deleted_at" json:"deletedAt"`
}

type flagAtChapter[D deletionTime] struct {
	bun.BaseModel `bun:"table:chapters,alias:chapter"`

	ID        int64          `bun:"id,pk,autoincrement" json:"id"`
	BookID    int64          `bun:"book_id,notnull" json:"bookId"`
	Book      *flagAtBook[D] `bun:"rel:belongs-to,join:book_id=id" json:"book,omitempty"`
	Title     string         `bun:"title,notnull" json:"title"`
	Secret    string         `bun:"secret" json:"-"`
	IsDeleted bool           `bun:"is_deleted" json:"isDeleted"`
	DeletedAt D              `bun:"deleted_at" json:"deletedAt"`
}

type flagAtProfile[D deletionTime] struct {
	bun.BaseModel `bun:"table:profiles,alias:profile"`

	ID        int64            `bun:"id,pk,autoincrement" json:"id"`
	AuthorID  int64            `bun:"author_id,notnull" json:"authorId"`
	Author    *flagAtAuthor[D] `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Bio       string           `bun:"bio,notnull" json:"bio"`
	IsDeleted bool             `bun:"is_deleted" json:"isDeleted"`
	DeletedAt D                `bun:"deleted_at" json:"deletedAt"`
}

type flagAtLabel[D deletionTime] struct {
	bun.BaseModel `bun:"table:labels,alias:label"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	Name      string `bun:"name,notnull" json:"name"`
	IsDeleted bool   `bun:"is_deleted" json:"isDeleted"`
	DeletedAt D      `bun:"deleted_at" json:"deletedAt"`
}

func flagAtModels[D deletionTime]() []func(*framework.App, ...framework.Option) error {
	return []func(*framework.App, ...framework.Option) error{
		framework.Register[flagAtAuthor[D]], framework.Register[flagAtBook[D]], framework.Register[flagAtChapter[D]],
		framework.Register[flagAtProfile[D]], framework.Register[flagAtLabel[D]], framework.Register[Audit]}
}
