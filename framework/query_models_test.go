package framework_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// ---------------------------------------------------------------------------
// The library: models with relations of every kind, for the query language,
// include and validation tests. Every soft-deletable model here calls its
// soft-delete column "deletedAt" in JSON (held in a different Go type each),
// so that "no response to a caller without read_deleted names the column"
// is one substring check.
//
//	Author  1..n Book      (has-many books / belongs-to author)
//	Author  1..1 Profile   (has-one profile / belongs-to author)
//	Book    1..n Chapter   (has-many chapters / belongs-to book)
//	Book    n..m Label     (many-to-many through BookLabel)
//	Book    1..n Audit     (has-many audits; only admin may read audits)

// Author is soft-deleted through a *time.Time. Name and Email carry
// validate tags; Email is unique.
type Author struct {
	bun.BaseModel `bun:"table:authors"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Name      string     `bun:"name,notnull" json:"name" validate:"required,max=10"`
	Email     string     `bun:"email,notnull,unique" json:"email" validate:"email"`
	Secret    string     `bun:"secret" json:"-"`
	Books     []*Book    `bun:"rel:has-many,join:id=author_id" json:"books,omitempty"`
	Profile   *Profile   `bun:"rel:has-one,join:id=author_id" json:"profile,omitempty"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// Book is soft-deleted through a plain time.Time. It has a field of every
// filterable kind, a nullable one (rating) and a json:"-" one.
type Book struct {
	bun.BaseModel `bun:"table:books"`

	ID         int64      `bun:"id,pk,autoincrement" json:"id"`
	AuthorID   int64      `bun:"author_id,notnull" json:"authorId"`
	Author     *Author    `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Title      string     `bun:"title,notnull" json:"title"`
	Qty        int64      `bun:"qty,notnull" json:"qty"`
	Rating     *int64     `bun:"rating" json:"rating"`
	Price      float64    `bun:"price,notnull" json:"price"`
	InStock    bool       `bun:"in_stock,notnull" json:"inStock"`
	ReleasedAt time.Time  `bun:"released_at,notnull" json:"releasedAt"`
	Secret     string     `bun:"secret" json:"-"`
	Chapters   []*Chapter `bun:"rel:has-many,join:id=book_id" json:"chapters,omitempty"`
	Labels     []Label    `bun:"m2m:book_labels,join:Book=Label" json:"labels,omitempty"`
	Audits     []*Audit   `bun:"rel:has-many,join:id=book_id" json:"audits,omitempty"`
	DeletedAt  time.Time  `bun:"deleted_at" json:"deletedAt"`
}

// Chapter is soft-deleted through a bun.NullTime.
type Chapter struct {
	bun.BaseModel `bun:"table:chapters"`

	ID        int64        `bun:"id,pk,autoincrement" json:"id"`
	BookID    int64        `bun:"book_id,notnull" json:"bookId"`
	Book      *Book        `bun:"rel:belongs-to,join:book_id=id" json:"book,omitempty"`
	Title     string       `bun:"title,notnull" json:"title"`
	Secret    string       `bun:"secret" json:"-"`
	DeletedAt bun.NullTime `bun:"deleted_at" json:"deletedAt"`
}

// Profile is soft-deleted through a sql.NullTime.
type Profile struct {
	bun.BaseModel `bun:"table:profiles"`

	ID        int64        `bun:"id,pk,autoincrement" json:"id"`
	AuthorID  int64        `bun:"author_id,notnull" json:"authorId"`
	Author    *Author      `bun:"rel:belongs-to,join:author_id=id" json:"author,omitempty"`
	Bio       string       `bun:"bio,notnull" json:"bio"`
	DeletedAt sql.NullTime `bun:"deleted_at" json:"deletedAt"`
}

// Label is soft-deleted through bun's soft_delete tag.
type Label struct {
	bun.BaseModel `bun:"table:labels"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Name      string     `bun:"name,notnull" json:"name"`
	DeletedAt *time.Time `bun:"deleted_at,soft_delete,nullzero" json:"deletedAt"`
}

// BookLabel is the junction of Book.Labels; it is a bun model only, not a
// resource.
type BookLabel struct {
	bun.BaseModel `bun:"table:book_labels"`

	BookID  int64  `bun:"book_id,pk"`
	Book    *Book  `bun:"rel:belongs-to,join:book_id=id"`
	LabelID int64  `bun:"label_id,pk"`
	Label   *Label `bun:"rel:belongs-to,join:label_id=id"`
}

// Audit has no soft-delete column, and only admin may read it.
type Audit struct {
	bun.BaseModel `bun:"table:audits"`

	ID     int64  `bun:"id,pk,autoincrement" json:"id"`
	BookID int64  `bun:"book_id,notnull" json:"bookId"`
	Note   string `bun:"note,notnull" json:"note"`
}

// BadRuleModel has a validate tag naming a rule that does not exist.
type BadRuleModel struct {
	bun.BaseModel `bun:"table:bad_rules"`

	ID   int64  `bun:"id,pk,autoincrement" json:"id"`
	Name string `bun:"name" json:"name" validate:"required,nosuchrule"`
}

// BadParamModel has a validate tag whose parameter is not a number.
type BadParamModel struct {
	bun.BaseModel `bun:"table:bad_params"`

	ID   int64  `bun:"id,pk,autoincrement" json:"id"`
	Name string `bun:"name" json:"name" validate:"max=abc"`
}

// ---------------------------------------------------------------------------
// Principals and policy of the library.

// curatorToken may read every library resource but audits, and read
// deleted books, but not deleted authors, chapters, profiles or labels.
const curatorToken = "curator-token"

var libTokens = auth.StaticTokens{
	adminToken:   tokens[adminToken],
	userToken:    tokens[userToken],
	readerToken:  tokens[readerToken],
	curatorToken: {ID: "4", Roles: []string{"curator"}},
}

// libPolicy: admin does everything; user reads every library resource but
// audits and may write; anonymous reads authors, books, chapters and
// labels, not profiles nor audits; the curator reads deleted books.
const libPolicy = `
p, admin, *, *
p, user, authors, read
p, user, books, read
p, user, chapters, read
p, user, profiles, read
p, user, labels, read
p, user, *, create
p, user, *, update
p, user, *, delete
p, reader, authors, read
p, reader, books, read
p, curator, authors, read
p, curator, books, read
p, curator, books, read_deleted
p, curator, chapters, read
p, curator, profiles, read
p, curator, labels, read
p, anonymous, authors, read
p, anonymous, books, read
p, anonymous, chapters, read
p, anonymous, labels, read
`

func libConfig(c *framework.Config) {
	c.Authenticator = libTokens
	c.Policy = libPolicy
}

// ---------------------------------------------------------------------------
// Seed data of the library. Live rows and deleted rows are told apart by
// their text: every deleted row carries one of deletedMarkers, which no
// live row contains.

type bookRow struct {
	id, author int64
	title      string
	qty        int64
	rating     *int64
	price      float64
	inStock    bool
	released   time.Time
	deleted    *time.Time
}

func int64Ptr(n int64) *int64 { return &n }

func utcDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func timePtr(t time.Time) *time.Time { return &t }

// seedDeleted2 is when book 7 was deleted, a day after book 6.
var seedDeleted2 = seedDeleted.Add(24 * time.Hour)

const seedDeleted2JSON = "2021-06-02T12:00:00Z"

// libBooks are the seeded books. Live: 1..5; deleted: 6 (first) and 7.
//
//	id author title           qty rating price inStock released
//	1  1      Go Basics        5   4     9.5   true    2020-01-01
//	2  1      go_deep 100%     5   -     20    false   2021-01-01
//	3  2      goXdeep\1000     7   2     15    true    2022-01-01
//	4  2      Rust "Book"      1   -     5     false   2019-01-01
//	5  3      Orphan's Tale    3   5     12    true    2018-01-01   (author 3 is deleted)
//	6  1      Deleted Go       9   3     8     true    2017-01-01   deleted seedDeleted
//	7  2      Gone Rust        2   -     11    false   2016-01-01   deleted seedDeleted2
var libBooks = []bookRow{
	{1, 1, "Go Basics", 5, int64Ptr(4), 9.5, true, utcDate(2020, 1, 1), nil},
	{2, 1, "go_deep 100%", 5, nil, 20, false, utcDate(2021, 1, 1), nil},
	{3, 2, `goXdeep\1000`, 7, int64Ptr(2), 15, true, utcDate(2022, 1, 1), nil},
	{4, 2, `Rust "Book"`, 1, nil, 5, false, utcDate(2019, 1, 1), nil},
	{5, 3, "Orphan's Tale", 3, int64Ptr(5), 12, true, utcDate(2018, 1, 1), nil},
	{6, 1, "Deleted Go", 9, int64Ptr(3), 8, true, utcDate(2017, 1, 1), timePtr(seedDeleted)},
	{7, 2, "Gone Rust", 2, nil, 11, false, utcDate(2016, 1, 1), timePtr(seedDeleted2)},
}

// deletedMarkers are texts found only in soft-deleted rows: books 6 and 7,
// author 3 (cyd), chapter 3, profile 2 and label 3.
var deletedMarkers = []string{"Deleted Go", "Gone Rust", "cyd", "Removed", "Old bio", "retired"}

// seed writes the library's rows as plain column maps, each deletion
// through s's columns.
//
//	authors:  1 ann, 2 bob, 3 cyd (deleted), 4 dan
//	profiles: 1 of ann "Ann writes", 2 of dan "Old bio" (deleted)
//	chapters: 1 Intro (book 1), 2 Types (book 1), 3 Removed (book 1, deleted),
//	          4 Traits (book 3), 5 Epilogue (book 6, a deleted book)
//	labels:   1 fiction, 2 tech, 3 retired (deleted)
//	book_labels: 1-2, 1-3, 2-1, 3-2, 6-1
//	audits:   1 of book 1
func (s *libStrategy) seed(t testing.TB, db *bun.DB) {
	t.Helper()
	ins := func(table string, row map[string]any, deleted *time.Time) {
		maps.Copy(row, s.columns(deleted))
		insertRow(t, db, table, row)
	}
	for i, a := range []struct {
		name    string
		deleted *time.Time
	}{{"ann", nil}, {"bob", nil}, {"cyd", timePtr(seedDeleted)}, {"dan", nil}} {
		ins("authors", map[string]any{"id": i + 1, "name": a.name, "email": a.name + "@x.io",
			"secret": fmt.Sprintf("%sauthor-%d", secretPrefix, i+1)}, a.deleted)
	}
	for _, b := range libBooks {
		s.insertBook(t, db, b)
	}
	for i, c := range []struct {
		book    int
		title   string
		deleted *time.Time
	}{{1, "Intro", nil}, {1, "Types", nil}, {1, "Removed", timePtr(seedDeleted)}, {3, "Traits", nil}, {6, "Epilogue", nil}} {
		ins("chapters", map[string]any{"id": i + 1, "book_id": c.book, "title": c.title,
			"secret": fmt.Sprintf("%schapter-%d", secretPrefix, i+1)}, c.deleted)
	}
	ins("profiles", map[string]any{"id": 1, "author_id": 1, "bio": "Ann writes"}, nil)
	ins("profiles", map[string]any{"id": 2, "author_id": 4, "bio": "Old bio"}, timePtr(seedDeleted))
	for i, l := range []struct {
		name    string
		deleted *time.Time
	}{{"fiction", nil}, {"tech", nil}, {"retired", timePtr(seedDeleted)}} {
		ins("labels", map[string]any{"id": i + 1, "name": l.name}, l.deleted)
	}
	for _, p := range [][2]int{{1, 2}, {1, 3}, {2, 1}, {3, 2}, {6, 1}} {
		insertRow(t, db, "book_labels", map[string]any{"book_id": p[0], "label_id": p[1]})
	}
	insertRow(t, db, "audits", map[string]any{"id": 1, "book_id": 1, "note": "checked"})
}

func insertRow(t testing.TB, db *bun.DB, table string, row map[string]any) {
	t.Helper()
	if _, err := db.NewInsert().Model(&row).TableExpr(table).Exec(context.Background()); err != nil {
		t.Fatalf("seed %s: %v", table, err)
	}
}

// insertBook writes b into the library of nullable timestamps.
func insertBook(t testing.TB, db *bun.DB, b bookRow) { libTimestamps.insertBook(t, db, b) }

// insertBook writes b, its deletion through s's columns.
func (s *libStrategy) insertBook(t testing.TB, db *bun.DB, b bookRow) {
	t.Helper()
	row := map[string]any{"id": b.id, "author_id": b.author, "title": b.title, "qty": b.qty,
		"rating": nil, "price": b.price, "in_stock": b.inStock, "released_at": b.released,
		"secret": fmt.Sprintf("%sbook-%d", secretPrefix, b.id)}
	if b.rating != nil {
		row["rating"] = *b.rating
	}
	maps.Copy(row, s.columns(b.deleted))
	insertRow(t, db, "books", row)
}

// library is the app of the library tests: the basic fixture's models and
// rows, and the library's, with the library's policy and tokens.
var library = libTimestamps.fixture

// libs applies lib to every scenario.
func libs(ss ...scenario) []scenario { return libTimestamps.on(ss...) }

// newLibHarness builds a mounted library app outside the scenario runner,
// for tests that make many requests against one database. extra runs
// before the routes are mounted.
func newLibHarness(t *testing.T, configure func(*framework.Config), extra func(*testing.T, *framework.App, *bun.DB)) *harness {
	t.Helper()
	app, db := library.App(t, configure)
	if extra != nil {
		extra(t, app, db)
	}
	return newHarness(app, db)
}

// ---------------------------------------------------------------------------
// Extra books for pagination walks: many duplicate sort values, NULL
// ratings and deletions, some at the same instant.

// moreBooks returns 40 books with ids 101..140.
func moreBooks() []bookRow {
	var out []bookRow
	for i := 0; i < 40; i++ {
		b := bookRow{
			id:       int64(101 + i),
			author:   int64(1 + i%2),
			title:    fmt.Sprintf("dup-%c", 'a'+i%3),
			qty:      int64(i % 4),
			price:    float64(i % 5),
			inStock:  i%2 == 0,
			released: utcDate(2000+i%7, 1, 1),
		}
		if i%3 != 0 {
			b.rating = int64Ptr(int64(i % 5))
		}
		if i%5 == 0 {
			b.deleted = timePtr(seedDeleted.Add(time.Duration(i%3) * time.Hour))
		}
		out = append(out, b)
	}
	return out
}

func seedMoreBooks(t *testing.T, _ *framework.App, db *bun.DB) {
	t.Helper()
	for _, b := range moreBooks() {
		insertBook(t, db, b)
	}
}

// allBooks is every book seedMoreBooks leaves in the database.
func allBooks() []bookRow { return append(slices.Clone(libBooks), moreBooks()...) }

// expectIDs filters rows, sorts them with less (then by id) and returns
// their ids: what the API must answer, computed without it.
func expectIDs(rows []bookRow, keep func(bookRow) bool, less func(a, b bookRow) int) []int {
	rows = slices.DeleteFunc(slices.Clone(rows), func(b bookRow) bool { return !keep(b) })
	sort.SliceStable(rows, func(i, j int) bool {
		if c := less(rows[i], rows[j]); c != 0 {
			return c < 0
		}
		return rows[i].id < rows[j].id
	})
	ids := make([]int, len(rows))
	for i, r := range rows {
		ids[i] = int(r.id)
	}
	return ids
}

func liveBook(b bookRow) bool    { return b.deleted == nil }
func anyBook(bookRow) bool       { return true }
func deletedBook(b bookRow) bool { return b.deleted != nil }

// cmpNullsLast compares optional values with absent ones last, whatever
// the direction.
func cmpNullsLast[T int64 | time.Time](a, b *T, desc bool, cmp func(x, y T) int) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	if desc {
		return -cmp(*a, *b)
	}
	return cmp(*a, *b)
}

func cmpInt64(x, y int64) int    { return int(x - y) }
func cmpTime(x, y time.Time) int { return x.Compare(y) }

// ---------------------------------------------------------------------------
// Helpers for requests and answers.

// queryString builds a query string from name, value pairs, escaping values (so
// that expressions can be written as they are meant).
func queryString(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}

// idsOf returns the "id" of every row of a list response, in order.
func idsOf(t *testing.T, body []byte) []int {
	t.Helper()
	rows := listOf(t, body)
	ids := make([]int, len(rows))
	for i, r := range rows {
		n, ok := r["id"].(float64)
		if !ok {
			t.Fatalf("row %d has no numeric id: %v", i, r)
		}
		ids[i] = int(n)
	}
	return ids
}

// wantIDs checks that a list response holds exactly the rows with these
// ids, in this order.
func wantIDs(ids ...int) func(*testing.T, *harness, *httptest.ResponseRecorder) {
	if ids == nil {
		ids = []int{}
	}
	return func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
		t.Helper()
		if got := idsOf(t, rec.Body.Bytes()); !slices.Equal(got, ids) {
			t.Errorf("ids %v, want %v; body %s", got, ids, clip(rec.Body.String()))
		}
	}
}

// metaObj returns the "meta" object of a list response.
func metaObj(t *testing.T, body []byte) map[string]any {
	t.Helper()
	m, ok := decode(t, body)["meta"].(map[string]any)
	if !ok {
		t.Fatalf("no meta object in %s", body)
	}
	return m
}

// objectKeys returns the sorted keys of an object.
func objectKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonObj and jsonArr descend into decoded JSON, failing the test on a shape
// mismatch.
func jsonObj(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T (%v), want an object", what, v, v)
	}
	return m
}

func jsonArr(t *testing.T, v any, what string) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%s is %T (%v), want an array", what, v, v)
	}
	return a
}

// idsIn returns the ids of an array of objects.
func idsIn(t *testing.T, v any, what string) []int {
	t.Helper()
	var ids []int
	for i, x := range jsonArr(t, v, what) {
		ids = append(ids, int(jsonObj(t, x, fmt.Sprintf("%s[%d]", what, i))["id"].(float64)))
	}
	if ids == nil {
		ids = []int{}
	}
	return ids
}

// cursorPage is one answer of a cursor walk.
type cursorPage struct {
	ids  []int
	next string
}

// walkCursor follows nextCursor from first (a URL with a query string) until the
// last page, and returns every page. Every page but the last must be full
// and carry a cursor; the last must not.
func walkCursor(t *testing.T, h *harness, token, first string, limit int) []cursorPage {
	t.Helper()
	var pages []cursorPage
	u := first
	for i := 0; i < 200; i++ {
		rec := h.Do(t, request{Token: token, Method: get, URL: u})
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", u, rec.Code, clip(rec.Body.String()))
		}
		p := cursorPage{ids: idsOf(t, rec.Body.Bytes())}
		next, has := metaObj(t, rec.Body.Bytes())["nextCursor"]
		if has {
			p.next, _ = next.(string)
			if p.next == "" {
				t.Fatalf("GET %s: nextCursor %v is not a string", u, next)
			}
			if len(p.ids) != limit {
				t.Errorf("GET %s: a page with a next cursor has %d rows, want %d", u, len(p.ids), limit)
			}
		}
		pages = append(pages, p)
		if !has {
			return pages
		}
		u = first + "&cursor=" + url.QueryEscape(p.next)
	}
	t.Fatalf("walk from %s did not end", first)
	return nil
}

// walkCursorIDs is walkCursor, flattened to the ids in the order they came.
func walkCursorIDs(t *testing.T, h *harness, token, first string, limit int) []int {
	t.Helper()
	ids := []int{}
	for _, p := range walkCursor(t, h, token, first, limit) {
		ids = append(ids, p.ids...)
	}
	return ids
}

// queryCounter is a bun.QueryHook that counts the queries run.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *queryCounter) AfterQuery(_ context.Context, _ *bun.QueryEvent) { c.n.Add(1) }
