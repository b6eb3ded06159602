package handlers

import (
	"database/sql"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

type filterPost struct {
	bun.BaseModel `bun:"table:posts"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64      `bun:"user_id" json:"userId"`
	Title     string     `bun:"title" json:"title"`
	Score     float64    `bun:"score" json:"score"`
	Draft     bool       `bun:"draft" json:"draft"`
	Secret    string     `bun:"secret" json:"-"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

func filterResource(t testing.TB) *introspect.Resource {
	return testResource(t, (*filterPost)(nil))
}

// testResource builds the descriptor of model on an in-memory SQLite
// database, for tests that need a resource but no rows.
func testResource(t testing.TB, model any) *introspect.Resource {
	t.Helper()
	sqldb, err := sql.Open(sqliteshim.ShimName, "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { db.Close() })
	res, err := introspect.Build(db, model, introspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var testFilterLimits = FilterLimits{MaxLength: 2000, MaxConditions: 50}

func TestCompileFilter(t *testing.T) {
	res := filterResource(t)
	cases := []struct {
		expr        string
		withDeleted bool
		sql         string // compiled SQL, when accepted
		nargs       int
		err         string // part of the problem detail, when rejected
	}{
		{expr: `userId = 2`, sql: `((("user_id" = ?)))`, nargs: 2},
		{expr: `score >= 1.5 && (title ~ "go" || userId != 2)`, sql: `((("score" >= ?) AND ((("title" LIKE ? ESCAPE '\')) OR (("user_id" <> ?)))))`, nargs: 6},
		{expr: `!(draft = true) && title !~ 'x'`, sql: `((NOT ((("draft" = ?))) AND ("title" NOT LIKE ? ESCAPE '\')))`, nargs: 4},
		{expr: `title = null || title != null`, sql: `((("title" IS NULL)) OR (("title" IS NOT NULL)))`, nargs: 2},
		{expr: `id<3`, sql: `((("id" < ?)))`, nargs: 2},
		{expr: `deletedAt != null`, withDeleted: true, sql: `((("deleted_at" IS NOT NULL)))`, nargs: 1},
		{expr: `deletedAt != null`, err: `unknown field "deletedAt" at position 1`},
		{expr: `secret = "x"`, err: `unknown field "secret"`},
		{expr: `nope = 1`, err: `unknown field "nope"`},
		{expr: `userId = "2"`, err: "userId: must be an integer"},
		{expr: `userId = 1.5`, err: "userId: must be an integer"},
		{expr: `draft = 1`, err: "draft: must be a boolean"},
		{expr: `title ~ 3`, err: "compares a text field with a string"},
		{expr: `userId > null`, err: "null compares with = or != only"},
		{expr: `userId = 1 &&`, err: "unexpected end of expression at position 14"},
		{expr: `(userId = 1`, err: "expected ')' at position 12"},
		{expr: `userId = 1)`, err: `unexpected ")" at position 11`},
		{expr: `userId = 1 & id = 2`, err: `expected "&&" at position 12`},
		{expr: `title = "open`, err: "unterminated string at position 9"},
		{expr: `title = "a\q"`, err: `unknown escape \q`},
		{expr: `1 = 1`, err: "expected a field name"},
		{expr: `userId 1`, err: "expected an operator"},
		{expr: `userId = ;`, err: "unexpected character"},
		{expr: ``, err: "is empty"},
		{expr: `title = "x' OR 1=1 --"`, sql: `((("title" = ?)))`, nargs: 2},
		{expr: strings.Repeat("id = 1 || ", 50) + "id = 1", err: "more than 50 conditions"},
		{expr: strings.Repeat(" ", 2001), err: "longer than 2000"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := compileFilter(tc.expr, res, tc.withDeleted, testFilterLimits, false)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sqlMatches(got, tc.sql) {
				t.Fatalf("sql %s %v, want %s", got.query, got.args, tc.sql)
			}
			if len(got.args) != tc.nargs {
				t.Fatalf("%d args, want %d", len(got.args), tc.nargs)
			}
		})
	}
}

// sqlMatches renders the identifier arguments into the compiled query and
// compares the result with want; value placeholders stay "?".
func sqlMatches(f *filterSQL, want string) bool {
	var b strings.Builder
	args := f.args
	for _, r := range f.query {
		if r == '?' && len(args) > 0 {
			if s, ok := args[0].(schema.Safe); ok {
				b.WriteString(string(s))
			} else {
				b.WriteByte('?')
			}
			args = args[1:]
			continue
		}
		b.WriteRune(r)
	}
	return b.String() == want
}

// TestMatchOperatorFollowsTheEngine: a match ignoring case is LIKE on
// SQLite and ILIKE on PostgreSQL, negated in place; nothing else changes.
func TestMatchOperatorFollowsTheEngine(t *testing.T) {
	res := filterResource(t)
	for _, tc := range []struct {
		ilike bool
		sql   string
	}{
		{false, `((("title" LIKE ? ESCAPE '\') AND ("title" NOT LIKE ? ESCAPE '\')))`},
		{true, `((("title" ILIKE ? ESCAPE '\') AND ("title" NOT ILIKE ? ESCAPE '\')))`},
	} {
		got, err := compileFilter(`title ~ "Go" && title !~ "x"`, res, false, testFilterLimits, tc.ilike)
		if err != nil {
			t.Fatal(err)
		}
		if !sqlMatches(got, tc.sql) {
			t.Errorf("ilike %v: %s %v, want %s", tc.ilike, got.query, got.args, tc.sql)
		}
	}
}

// sqlSkeleton matches everything the compiler may emit besides
// placeholders: nothing from the input reaches the SQL text.
var sqlSkeleton = regexp.MustCompile(`^(?:\(|\)| AND | OR |NOT |\? (?:IS NULL|IS NOT NULL|(?:=|<>|>|>=|<|<=) \?)|\? (?:NOT )?LIKE \? ESCAPE '\\')*$`)

func FuzzCompileFilter(f *testing.F) {
	for _, seed := range []string{
		`views >= 10 && (title ~ "go" || userId = 2)`, `!(draft = true)`, `title = 'a\'b'`,
		`score < -1.5e3`, `deletedAt = null`, `((((id = 1))))`, `id = 1 ||`, `"`, `!~`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	res := filterResource(f)
	idents := []schema.Safe{}
	for _, fld := range res.Fields {
		idents = append(idents, fld.Ident)
	}
	f.Fuzz(func(t *testing.T, expr string, withDeleted bool) {
		got, err := compileFilter(expr, res, withDeleted, testFilterLimits, false)
		if err != nil {
			if _, ok := err.(*Problem); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if !sqlSkeleton.MatchString(got.query) {
			t.Fatalf("compiled SQL %q carries more than the skeleton", got.query)
		}
		if strings.Count(got.query, "?") != len(got.args) {
			t.Fatalf("%d placeholders, %d args", strings.Count(got.query, "?"), len(got.args))
		}
		for _, a := range got.args {
			if s, ok := a.(schema.Safe); ok && !slices.Contains(idents, s) {
				t.Fatalf("identifier %s is not a column of the resource", s)
			}
			if s, ok := a.(schema.Safe); ok && s == res.SoftDelete.At.Ident && !withDeleted {
				t.Fatalf("the soft-delete column is reachable without read_deleted: %q", expr)
			}
		}
	})
}
