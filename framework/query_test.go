package framework_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// The query language, relations and validation, over HTTP against the
// library models (query_models_test.go). Unless a comment says otherwise,
// live books are 1..5 and books 6 and 7 are soft-deleted.

const booksURL = "/api/books"

// listCase is a 200 list scenario whose rows must be exactly ids, in order.
func listCase(name, token, u string, ids ...int) scenario {
	return scenario{Name: name, Request: request{Token: token, Method: get, URL: u},
		ExpectedStatus: 200, After: wantIDs(ids...)}
}

// badCase is a 400 scenario whose problem names field and contains the texts.
func badCase(name, token, u, field string, texts ...string) scenario {
	return scenario{Name: name, Request: request{Token: token, Method: get, URL: u},
		ExpectedStatus: 400, ExpectedContent: append([]string{fieldErr(field)}, texts...)}
}

// noLeak adds what no answer to a caller without read_deleted may hold: a
// deleted row, or the deletion column's key.
func noLeak(s scenario) scenario { return libTimestamps.noLeak(s) }

// withTotal adds an expected meta.total.
func withTotal(s scenario, n int) scenario {
	s.ExpectedContent = append(s.ExpectedContent, fmt.Sprintf(`"total":%d,`, n))
	return s
}

// ---------------------------------------------------------------------------
// 1. Simple filters.

func TestSimpleFilters(t *testing.T) {
	t.Parallel()
	f := func(q string) string { return booksURL + "?" + q }
	runScenarios(t, libs(
		// Every operator, on integers.
		withTotal(listCase("eq is the default", userToken, f("qty=5"), 1, 2), 2),
		listCase("eq spelled out", userToken, f("qty[eq]=5"), 1, 2),
		listCase("ne", userToken, f("qty[ne]=5"), 3, 4, 5),
		listCase("gt", userToken, f("qty[gt]=5"), 3),
		listCase("gte", userToken, f("qty[gte]=5"), 1, 2, 3),
		listCase("lt", userToken, f("qty[lt]=5"), 4, 5),
		listCase("lte", userToken, f("qty[lte]=3"), 4, 5),
		listCase("in", userToken, f("qty[in]=1,7"), 3, 4),
		listCase("in with one value", userToken, f("id[in]=2"), 2),
		listCase("null true", userToken, f("rating[null]=true"), 2, 4),
		listCase("null false", userToken, f("rating[null]=false"), 1, 3, 5),
		listCase("conditions are ANDed", userToken, f("qty=5&rating[null]=false"), 1),
		listCase("eq on a string", userToken, f(queryString("title", `Rust "Book"`)), 4),
		listCase("eq on a string is exact", userToken, f("title=go%20basics")),
		listCase("eq on a float", userToken, f("price=9.5"), 1),
		listCase("gt on a float", userToken, f("price[gt]=12"), 2, 3),
		listCase("eq on a bool", userToken, f("inStock=true"), 1, 3, 5),
		listCase("eq false on a bool", userToken, f("inStock=false"), 2, 4),
		listCase("lt on a timestamp", userToken, f(queryString("releasedAt[lt]", "2020-01-01T00:00:00Z")), 4, 5),
		listCase("gte on a timestamp", userToken, f(queryString("releasedAt[gte]", "2021-01-01T00:00:00Z")), 2, 3),
		listCase("ne on a float and in on ids", userToken, f("price[ne]=20&id[in]=1,2,3"), 1, 3),

		// like: * is the wildcard, case-insensitive, % and _ literal.
		listCase("like prefix, case-insensitive", userToken, f("title[like]=go*"), 1, 2, 3),
		listCase("like infix, case-insensitive", userToken, f("title[like]=*BOOK*"), 4),
		listCase("like suffix", userToken, f("title[like]=*tale"), 5),
		listCase("like without wildcard matches the whole value", userToken, f("title[like]=GO%20BASICS"), 1),
		listCase("like without wildcard is not contains", userToken, f("title[like]=go")),
		listCase("like: underscore is literal", userToken, f(queryString("title[like]", "go_deep*")), 2),
		listCase("like: percent is literal", userToken, f(queryString("title[like]", "*100%")), 2),
		listCase("like: percent alone matches only a percent", userToken, f(queryString("title[like]", "%"))),
		listCase("like: backslash is literal", userToken, f(queryString("title[like]", `*p\1*`)), 3),
		listCase("like: quote is literal", userToken, f(queryString("title[like]", "*'s*")), 5),
		listCase("like never reaches deleted rows", userToken, f("title[like]=*go*"), 1, 2, 3),

		// Type mismatches name the parameter.
		badCase("integer mismatch", userToken, f("qty=abc"), "qty", "must be an integer"),
		badCase("integer mismatch with an operator", userToken, f("qty[gt]=abc"), "qty[gt]", "must be an integer"),
		badCase("float is not an integer", userToken, f("qty=1.5"), "qty", "must be an integer"),
		badCase("float mismatch", userToken, f("price[lt]=cheap"), "price[lt]", "must be a number"),
		badCase("bool mismatch", userToken, f("inStock=yes"), "inStock"),
		badCase("bool is exact", userToken, f("inStock=TRUE"), "inStock"),
		badCase("timestamp mismatch", userToken, f("releasedAt=2020-01-01"), "releasedAt", "RFC 3339"),
		badCase("in with one bad value", userToken, f("qty[in]=1,x"), "qty[in]", "must be an integer"),
		badCase("null takes true or false", userToken, f("rating[null]=1"), "rating[null]"),
		badCase("like on an integer", userToken, f("qty[like]=5*"), "qty[like]"),
		badCase("unknown operator", userToken, f("qty[between]=1"), "qty[between]", "unknown operator"),
		badCase("operator in the wrong case", userToken, f("qty[GT]=1"), "qty[GT]", "unknown operator"),
		badCase("empty operator", userToken, f("qty[]=1"), "qty[]"),
		badCase("unknown field", userToken, f("nope=1"), "nope", "unknown query parameter or field"),
		badCase("unknown field with an operator", userToken, f("nope[gt]=1"), "nope[gt]", "unknown query parameter or field"),
		badCase("hidden field", userToken, f("secret=x"), "secret", "unknown query parameter or field"),
		badCase("hidden field by Go name", userToken, f("Secret=x"), "Secret"),
		badCase("field by column name", userToken, f("in_stock=true"), "in_stock"),
		badCase("relation is not a field", userToken, f("author=1"), "author"),
		badCase("a filter given twice", userToken, f("qty=1&qty=5"), "qty", "at most once"),

		// Values never reach the SQL text.
		noLeak(listCase("injection in an equality", userToken, f(queryString("title", "x' OR 1=1 --")))),
		noLeak(listCase("injection in like", userToken, f(queryString("title[like]", "*' OR '1'='1")))),
		noLeak(listCase("injection in in", userToken, f(queryString("title[in]", "a') OR ('1'='1")))),
		badCase("injection in a field name", userToken, f(queryString("title = title OR 1", "1")), "title = title OR 1"),
	))
}

// ---------------------------------------------------------------------------
// 2. Expression filters.

func TestExpressionFilters(t *testing.T) {
	t.Parallel()
	e := func(expr string, more ...string) string {
		return booksURL + "?" + queryString(append([]string{"filter", expr}, more...)...)
	}
	runScenarios(t, libs(
		listCase("equality", userToken, e(`qty = 5`), 1, 2),
		listCase("not equal", userToken, e(`qty != 5`), 3, 4, 5),
		listCase("comparisons", userToken, e(`qty > 1 && qty <= 5 && qty >= 3 && qty < 6`), 1, 2, 5),
		listCase("and", userToken, e(`qty = 5 && rating = 4`), 1),
		listCase("or", userToken, e(`qty = 7 || title = 'Orphan\'s Tale'`), 3, 5),
		listCase("not", userToken, e(`!(qty = 5)`), 3, 4, 5),
		listCase("not binds tighter than and", userToken, e(`!qty = 5 && rating != null`), 3, 5),
		listCase("double not", userToken, e(`!!(qty = 5)`), 1, 2),
		listCase("and binds tighter than or, or first", userToken, e(`qty = 7 || qty = 5 && rating = 4`), 1, 3),
		listCase("and binds tighter than or, and first", userToken, e(`rating = 4 && qty = 5 || qty = 7`), 1, 3),
		listCase("parentheses override precedence", userToken, e(`(qty = 7 || qty = 5) && rating = 4`), 1),
		listCase("nested parentheses", userToken, e(`((qty = 1) || ((qty = 3) && (inStock = true)))`), 4, 5),
		listCase("whitespace is optional", userToken, e(`qty=5&&rating!=null||qty=1`), 1, 4),
		listCase("tabs and newlines are whitespace", userToken, e("qty = 5\n&&\trating = 4"), 1),
		listCase("double-quoted string", userToken, e(`title = "Go Basics"`), 1),
		listCase("single-quoted string", userToken, e(`title = 'Go Basics'`), 1),
		listCase("escaped double quote", userToken, e(`title = "Rust \"Book\""`), 4),
		listCase("double quote inside single quotes", userToken, e(`title = 'Rust "Book"'`), 4),
		listCase("escaped single quote", userToken, e(`title = 'Orphan\'s Tale'`), 5),
		listCase("single quote inside double quotes", userToken, e(`title = "Orphan's Tale"`), 5),
		listCase("escaped backslash", userToken, e(`title = "goXdeep\\1000"`), 3),
		listCase("escaped backslash in single quotes", userToken, e(`title = 'goXdeep\\1000'`), 3),
		listCase("escaped newline and tab find nothing", userToken, e(`title = "Go\nBasics" || title = "Go\tBasics"`)),
		listCase("string equality is case-sensitive", userToken, e(`title = "go basics"`)),
		listCase("float literal", userToken, e(`price >= 12.5`), 2, 3),
		listCase("float literal against a fraction", userToken, e(`price = 9.5`), 1),
		listCase("integer literal against a float field", userToken, e(`price = 20`), 2),
		listCase("negative number", userToken, e(`qty > -1 && price > -0.5`), 1, 2, 3, 4, 5),
		listCase("exponent", userToken, e(`price < 1e1`), 1, 4),
		listCase("true", userToken, e(`inStock = true`), 1, 3, 5),
		listCase("false", userToken, e(`inStock = false`), 2, 4),
		listCase("not equal false", userToken, e(`inStock != false`), 1, 3, 5),
		listCase("equals null", userToken, e(`rating = null`), 2, 4),
		listCase("not equal null", userToken, e(`rating != null`), 1, 3, 5),
		listCase("timestamp string", userToken, e(`releasedAt >= "2021-01-01T00:00:00Z"`), 2, 3),
		listCase("contains, case-insensitive", userToken, e(`title ~ "GO"`), 1, 2, 3),
		listCase("does not contain", userToken, e(`title !~ "go"`), 4, 5),
		listCase("contains: percent is literal", userToken, e(`title ~ "100%"`), 2),
		listCase("contains: underscore is literal", userToken, e(`title ~ "_deep"`), 2),
		listCase("contains: backslash is literal", userToken, e(`title ~ "p\\1"`), 3),
		listCase("contains a quote", userToken, e(`title ~ '"'`), 4),
		listCase("combined with simple filters, ANDed", userToken, e(`rating = null || qty = 7`, "qty", "5"), 2),
		withTotal(listCase("total counts the expression", userToken, e(`qty = 5 || qty = 1`)+"&limit=1", 1), 3),

		// Malformed expressions: 400, naming filter and the position.
		badCase("unbalanced open parenthesis", userToken, e(`(qty = 5`), "filter", "expected ')' at position 9"),
		badCase("unbalanced close parenthesis", userToken, e(`qty = 5)`), "filter", "at position 8"),
		badCase("empty parentheses", userToken, e(`()`), "filter", "at position 2"),
		badCase("dangling and", userToken, e(`qty = 5 &&`), "filter", "unexpected end of expression at position 11"),
		badCase("dangling or", userToken, e(`qty = 5 ||`), "filter", "unexpected end of expression at position 11"),
		badCase("dangling not", userToken, e(`!`), "filter", "unexpected end of expression at position 2"),
		badCase("leading operator", userToken, e(`|| qty = 5`), "filter", "at position 1"),
		badCase("single ampersand", userToken, e(`qty = 5 & rating = 4`), "filter", `expected \"\u0026\u0026\" at position 9`),
		badCase("single pipe", userToken, e(`qty = 5 | qty = 1`), "filter", "at position 9"),
		badCase("two comparisons without logic", userToken, e(`qty = 5 qty = 6`), "filter", "at position 9"),
		badCase("missing operator", userToken, e(`qty 5`), "filter", `expected an operator after \"qty\" at position 5`),
		badCase("missing value", userToken, e(`qty =`), "filter", "expected a value after", "at position 6"),
		badCase("double equals", userToken, e(`qty == 5`), "filter", "at position 6"),
		badCase("unterminated double-quoted string", userToken, e(`title = "abc`), "filter", "unterminated string at position 9"),
		badCase("unterminated single-quoted string", userToken, e(`title = 'abc\'`), "filter", "unterminated string at position 9"),
		badCase("unknown escape", userToken, e(`title = "a\q"`), "filter", "unknown escape", "at position 11"),
		badCase("unexpected character", userToken, e(`qty = 5 $`), "filter", "at position 9"),
		badCase("unknown field", userToken, e(`qty = 5 || nope = 1`), "filter", `unknown field \"nope\" at position 12`),
		badCase("hidden field", userToken, e(`secret = "x"`), "filter", `unknown field \"secret\" at position 1`),
		badCase("relation is not a field", userToken, e(`author = 1`), "filter", `unknown field \"author\"`),
		badCase("string for an integer", userToken, e(`qty = "many"`), "qty", "must be an integer (filter position 7)"),
		badCase("fraction for an integer", userToken, e(`qty = 1.5`), "qty", "must be an integer (filter position 7)"),
		badCase("number for a string", userToken, e(`title = 5`), "title", "must be a string (filter position 9)"),
		badCase("number for a bool", userToken, e(`inStock = 1`), "inStock", "must be a boolean (filter position 11)"),
		badCase("bad timestamp", userToken, e(`releasedAt > "yesterday"`), "releasedAt", "filter position 14"),
		badCase("bare word for a string", userToken, e(`title = Go`), "title", "must be a string"),
		badCase("contains on an integer", userToken, e(`qty ~ "5"`), "filter", "at position 5"),
		badCase("contains with a number", userToken, e(`title ~ 5`), "filter", "at position 7"),
		badCase("null with an ordering operator", userToken, e(`qty > null`), "filter", "null compares with = or != only at position 5"),
		badCase("empty expression", userToken, e(``), "filter", "is empty"),
		badCase("blank expression", userToken, e(`   `), "filter", "is empty"),
		badCase("filter given twice", userToken, booksURL+"?"+queryString("filter", "qty = 1", "filter", "qty = 5"), "filter", "at most once"),

		// Values never reach the SQL text.
		noLeak(listCase("injection in a double-quoted value", userToken, e(`title = "x' OR 1=1 --"`))),
		noLeak(listCase("injection in a single-quoted value", userToken, e(`title = 'x\' OR \'1\'=\'1'`))),
		noLeak(listCase("injection in contains", userToken, e(`title ~ "'; DROP TABLE books; --"`))),
		noLeak(scenario{Name: "injection attempt leaves the table intact",
			Request:        request{Token: userToken, Method: get, URL: e(`title = "'); DELETE FROM books; --"`)},
			ExpectedStatus: 200,
			After: func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				wantIDs(1, 2, 3, 4, 5)(t, h, h.Do(t, request{Token: userToken, Method: get, URL: booksURL}))
			}}),
		badCase("injection in a field position", userToken, e(`1=1 || qty = 5`), "filter", "at position 1"),
		badCase("SQL keywords are not operators", userToken, e(`qty = 5 OR 1 = 1`), "filter", "at position 9"),
		badCase("SQL comment", userToken, e(`qty = 5 -- x`), "filter"),
	))
}

// TestFilterLimits checks the length and condition bounds of ?filter=, built
// in and configured.
func TestFilterLimits(t *testing.T) {
	t.Parallel()
	e := func(expr string) string { return booksURL + "?" + queryString("filter", expr) }
	conds := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "qty = 5"
		}
		return strings.Join(parts, " || ")
	}
	pad := func(expr string, length int) string { return expr + strings.Repeat(" ", length-len(expr)) }
	small := func(c *framework.Config) { c.MaxFilterLength, c.MaxFilterConditions = 20, 2 }
	runScenarios(t, libs(
		listCase("2000 characters are allowed", userToken, e(pad("qty = 5", 2000)), 1, 2),
		badCase("2001 characters are too long", userToken, e(pad("qty = 5", 2001)), "filter", "longer than 2000"),
		listCase("50 conditions are allowed", userToken, e(conds(50)), 1, 2),
		// The 51st comparison starts after 50 of "qty = 5 || ".
		badCase("51 conditions are too many", userToken, e(conds(51)), "filter", "more than 50 conditions at position 551"),
		withConfig(listCase("configured length is allowed", userToken, e(pad("qty = 5", 20)), 1, 2), small),
		withConfig(badCase("configured length is enforced", userToken, e(pad("qty = 5", 21)), "filter", "longer than 20"), small),
		withConfig(listCase("configured conditions are allowed", userToken, e(`qty=5||qty=1`), 1, 2, 4), small),
		withConfig(badCase("configured conditions are enforced", userToken, e(`qty=5||qty=1||qty=3`), "filter", "more than 2 conditions at position 15"), small),
		withConfig(listCase("configured limits leave simple filters alone", userToken, booksURL+"?qty[in]=1,3,5,7&title[like]=*&rating[null]=false", 1, 3, 5), small),
	))
}

func withConfig(s scenario, cfg func(*framework.Config)) scenario {
	s.Config = cfg
	return s
}

// ---------------------------------------------------------------------------
// 3. The leak matrix: every read path, for each kind of caller.

func TestLeakMatrix(t *testing.T) {
	t.Parallel()
	for _, s := range libStrategies {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			runScenarios(t, s.on(leakMatrix(s)...))
		})
	}
}

// leakMatrix is the leak matrix over the library of strategy st: the
// same cases for every convention, each deletion field named as st names
// it.
func leakMatrix(st *libStrategy) []scenario {
	var cases []scenario
	noLeak := st.noLeak

	// Read paths answered the same to a user and to an anonymous caller:
	// never a deleted row, never the deletion column.
	type path struct {
		name  string
		url   string
		ids   []int // for list answers
		total int   // -1: not checked
		want  []string
		not   []string
		after func(*testing.T, *harness, *httptest.ResponseRecorder)
	}
	paths := []path{
		{name: "list", url: booksURL, ids: []int{1, 2, 3, 4, 5}, total: 5},
		{name: "list of authors", url: "/api/authors", ids: []int{1, 2, 4}, total: 3},
		{name: "list of chapters", url: "/api/chapters", ids: []int{1, 2, 4, 5}, total: 4},
		{name: "list of labels", url: "/api/labels", ids: []int{1, 2}, total: 2},
		{name: "simple filter on a deleted row's value", url: booksURL + "?" + queryString("title", "Deleted Go"), ids: []int{}, total: 0},
		{name: "simple in filter over deleted ids", url: booksURL + "?id[in]=1,6,7", ids: []int{1}, total: 1},
		{name: "simple range filter", url: booksURL + "?qty[gte]=9", ids: []int{}, total: 0},
		{name: "simple null filter", url: booksURL + "?rating[null]=true", ids: []int{2, 4}, total: 2},
		{name: "OR expression over a deleted id", url: booksURL + "?" + queryString("filter", "id = 6 || id = 1"), ids: []int{1}, total: 1},
		{name: "OR expression over deleted ids only", url: booksURL + "?" + queryString("filter", "id = 6 || id = 7"), ids: []int{}, total: 0},
		{name: "tautology expression", url: booksURL + "?" + queryString("filter", "qty >= 0 || !(qty >= 0) || rating = null"), ids: []int{1, 2, 3, 4, 5}, total: 5},
		{name: "negated expression", url: booksURL + "?" + queryString("filter", `!(qty < 9)`), ids: []int{}, total: 0},
		{name: "sort", url: booksURL + "?sort=-qty", ids: []int{3, 1, 2, 5, 4}, total: 5},
		{name: "sort by a nullable field", url: booksURL + "?sort=-rating", ids: []int{5, 1, 3, 2, 4}, total: 5},
		{name: "fields", url: booksURL + "?fields=id,title", ids: []int{1, 2, 3, 4, 5}, total: 5},
		{name: "offset past the live rows", url: booksURL + "?offset=5", ids: []int{}, total: 5},
		{name: "page", url: booksURL + "?page=3&limit=2", ids: []int{5}, total: 5},
		{name: "count=false", url: booksURL + "?count=false", ids: []int{1, 2, 3, 4, 5}, total: -1, not: []string{`"total"`}},
		{name: "includeDeleted=false", url: booksURL + "?includeDeleted=false", ids: []int{1, 2, 3, 4, 5}, total: 5},
		{name: "onlyDeleted=false", url: booksURL + "?onlyDeleted=false", ids: []int{1, 2, 3, 4, 5}, total: 5},
		{name: "include has-many", url: "/api/authors?include=books", ids: []int{1, 2, 4}, total: 3,
			after: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				rows := listOf(t, rec.Body.Bytes())
				for i, want := range [][]int{{1, 2}, {3, 4}, {}} {
					if got := idsIn(t, rows[i]["books"], "books"); !slices.Equal(got, want) {
						t.Errorf("author %v books %v, want %v", rows[i]["id"], got, want)
					}
				}
			}},
		{name: "include has-many on get", url: booksURL + "/1?include=chapters", total: -1,
			want: []string{`"title":"Intro"`, `"title":"Types"`}},
		{name: "nested include through a deleted row", url: "/api/authors/1?include=books.chapters", total: -1,
			want: []string{`"title":"Intro"`}, not: []string{"Epilogue"}},
		{name: "include belongs-to", url: booksURL + "?include=author", ids: []int{1, 2, 3, 4, 5}, total: 5,
			after: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				rows := listOf(t, rec.Body.Bytes())
				for i, want := range []any{"ann", "ann", "bob", "bob", nil} {
					got, has := rows[i]["author"]
					if !has {
						t.Fatalf("book %v has no author member", rows[i]["id"])
					}
					if want == nil {
						if got != nil {
							t.Errorf("book 5's author (deleted) is %v, want null", got)
						}
						continue
					}
					if name := jsonObj(t, got, "author")["name"]; name != want {
						t.Errorf("book %v author %v, want %v", rows[i]["id"], name, want)
					}
				}
			}},
		{name: "include belongs-to on get of a deleted parent", url: "/api/chapters/5?include=book", total: -1,
			want: []string{`"title":"Epilogue"`, `"book":null`}},
		{name: "include many-to-many", url: booksURL + "?include=labels", ids: []int{1, 2, 3, 4, 5}, total: 5,
			after: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				rows := listOf(t, rec.Body.Bytes())
				for i, want := range [][]int{{2}, {1}, {2}, {}, {}} {
					if got := idsIn(t, rows[i]["labels"], "labels"); !slices.Equal(got, want) {
						t.Errorf("book %v labels %v, want %v", rows[i]["id"], got, want)
					}
				}
			}},
		{name: "get of a deleted row", url: booksURL + "/6", total: -1},
		{name: "get of a deleted author", url: "/api/authors/3", total: -1},
		{name: "get of a deleted row with fields", url: booksURL + "/6?fields=id", total: -1},
		{name: "get of a deleted row with includeDeleted=false", url: booksURL + "/7?includeDeleted=false", total: -1},
	}
	for _, tok := range []struct{ name, token string }{{"user", userToken}, {"anonymous", ""}} {
		for _, p := range paths {
			s := scenario{Name: tok.name + "/" + p.name,
				Request:            request{Token: tok.token, Method: get, URL: p.url},
				ExpectedStatus:     200,
				ExpectedContent:    p.want,
				NotExpectedContent: p.not,
				After:              p.after}
			if strings.HasPrefix(p.name, "get of a deleted") {
				s.ExpectedStatus = 404
			}
			if p.ids != nil {
				s.After = allChecks(wantIDs(p.ids...), p.after)
			}
			if p.total >= 0 {
				s = withTotal(s, p.total)
			}
			cases = append(cases, noLeak(s))
		}
		// A cursor walk never yields a deleted row.
		cases = append(cases, noLeak(scenario{Name: tok.name + "/cursor pages",
			Request: request{Token: tok.token, Method: get, URL: booksURL + "?limit=1&sort=-qty,title"}, ExpectedStatus: 200,
			After: func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				if got := walkCursorIDs(t, h, tok.token, booksURL+"?limit=1&sort=-qty,title", 1); !slices.Equal(got, []int{3, 1, 2, 5, 4}) {
					t.Errorf("walk: %v, want [3 1 2 5 4]", got)
				}
			}}))
	}

	// Asking for deleted rows, or naming a deletion field: refused.
	for _, f := range st.fields {
		for _, c := range []struct {
			name, url, field string
		}{
			{"simple filter on the deletion column", booksURL + "?" + f.deleted[0] + "=" + f.deleted[1], f.deleted[0]},
			{"expression on the deletion column", booksURL + "?" + queryString("filter", f.expr), "filter"},
			{"expression on the deletion column inside an OR", booksURL + "?" + queryString("filter", "qty = 5 || "+f.expr), "filter"},
			{"sort on the deletion column", booksURL + "?sort=-" + f.key, "sort"},
			{"fields with the deletion column", booksURL + "?fields=id," + f.key, "fields"},
			{"fields with the deletion column on get", booksURL + "/1?fields=" + f.key, "fields"},
		} {
			cases = append(cases,
				noLeak(badCase("user/"+st.named(c.name, f), userToken, c.url, c.field, "unknown")),
				noLeak(badCase("anonymous/"+st.named(c.name, f), "", c.url, c.field, "unknown")))
		}
	}
	for _, c := range []struct{ name, url string }{
		{"trash view", booksURL + "?onlyDeleted=true"},
		{"includeDeleted on a list", booksURL + "?includeDeleted=true"},
		{"includeDeleted on a get", booksURL + "/6?includeDeleted=true"},
		{"includeDeleted on a get of a live row", booksURL + "/1?includeDeleted=true"},
		{"includeDeleted with an include", "/api/authors/1?includeDeleted=true&include=books"},
	} {
		cases = append(cases,
			noLeak(scenario{Name: "user/" + c.name + " is forbidden",
				Request: request{Token: userToken, Method: get, URL: c.url}, ExpectedStatus: 403}),
			noLeak(scenario{Name: "anonymous/" + c.name + " must authenticate",
				Request: request{Method: get, URL: c.url}, ExpectedStatus: 401, ExpectedHeaders: bearer}))
	}
	// has-one: profiles are not for anonymous callers.
	cases = append(cases,
		noLeak(scenario{Name: "user/include has-one with a deleted row",
			Request: request{Token: userToken, Method: get, URL: "/api/authors/4?include=profile"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"name":"dan"`, `"profile":null`}}),
		noLeak(scenario{Name: "user/include has-one with a live row",
			Request: request{Token: userToken, Method: get, URL: "/api/authors?include=profile"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"bio":"Ann writes"`}}),
		noLeak(scenario{Name: "reader/list is live rows only",
			Request: request{Token: readerToken, Method: get, URL: booksURL + "?include=author"}, ExpectedStatus: 200,
			After: wantIDs(1, 2, 3, 4, 5)}),
	)

	// The admin sees exactly what it asked for.
	stamp, stamp2, live := st.deletedAt(seedDeleted), st.deletedAt(seedDeleted2), st.live()
	admin := func(s scenario) scenario { s.Token = adminToken; s.Name = "admin/" + s.Name; return s }
	cases = append(cases,
		admin(withTotal(scenario{Name: "list without includeDeleted is live rows, with live deletion fields",
			Request: request{Method: get, URL: booksURL}, ExpectedStatus: 200,
			ExpectedContent: []string{live}, NotExpectedContent: deletedMarkers,
			After: wantIDs(1, 2, 3, 4, 5)}, 5)),
		admin(withTotal(scenario{Name: "list with includeDeleted has every row and its stamp",
			Request: request{Method: get, URL: booksURL + "?includeDeleted=true"}, ExpectedStatus: 200,
			ExpectedContent: []string{stamp, stamp2, `"title":"Deleted Go"`},
			After:           wantIDs(1, 2, 3, 4, 5, 6, 7)}, 7)),
		admin(withTotal(scenario{Name: "OR expression without includeDeleted",
			Request: request{Method: get, URL: booksURL + "?" + queryString("filter", "id = 6 || id = 1")}, ExpectedStatus: 200,
			NotExpectedContent: deletedMarkers, After: wantIDs(1)}, 1)),
		admin(withTotal(scenario{Name: "OR expression with includeDeleted",
			Request: request{Method: get, URL: booksURL + "?" + queryString("filter", "id = 6 || id = 1", "includeDeleted", "true")}, ExpectedStatus: 200,
			ExpectedContent: []string{stamp}, After: wantIDs(1, 6)}, 2)),
		admin(scenario{Name: "fields with the deletion column",
			Request: request{Method: get, URL: booksURL + "?includeDeleted=true&fields=id," + strings.Join(st.keys(), ",") + "&id[in]=1,6"}, ExpectedStatus: 200,
			ExpectedContent: []string{`{"data":[{"id":1,` + live + `},{"id":6,` + stamp + `}]`}}),
		admin(scenario{Name: "get of a deleted row shows its stamp",
			Request: request{Method: get, URL: booksURL + "/6"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"title":"Deleted Go"`, stamp}}),
		admin(scenario{Name: "get of a deleted row with includeDeleted=false is a 404",
			Request: request{Method: get, URL: booksURL + "/6?includeDeleted=false"}, ExpectedStatus: 404}),
		admin(scenario{Name: "include has-many without includeDeleted leaves deleted children out",
			Request: request{Method: get, URL: "/api/authors/1?include=books"}, ExpectedStatus: 200,
			NotExpectedContent: deletedMarkers,
			After: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				if got := idsIn(t, dataOf(t, rec.Body.Bytes())["books"], "books"); !slices.Equal(got, []int{1, 2}) {
					t.Errorf("books %v, want [1 2]", got)
				}
			}}),
		admin(scenario{Name: "include has-many with includeDeleted shows deleted children with their stamp",
			Request: request{Method: get, URL: "/api/authors/1?include=books&includeDeleted=true"}, ExpectedStatus: 200,
			ExpectedContent: []string{stamp},
			After: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				if got := idsIn(t, dataOf(t, rec.Body.Bytes())["books"], "books"); !slices.Equal(got, []int{1, 2, 6}) {
					t.Errorf("books %v, want [1 2 6]", got)
				}
			}}),
		admin(scenario{Name: "include belongs-to without includeDeleted is null for a deleted parent",
			Request: request{Method: get, URL: booksURL + "/5?include=author"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"author":null`}, NotExpectedContent: []string{"cyd"}}),
		admin(scenario{Name: "include belongs-to with includeDeleted shows a deleted parent",
			Request: request{Method: get, URL: booksURL + "/5?include=author&includeDeleted=true"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"author":{"id":3,"name":"cyd","email":"cyd@x.io",` + stamp + `}`}}),
		admin(scenario{Name: "include many-to-many without includeDeleted",
			Request: request{Method: get, URL: booksURL + "/1?include=labels"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"labels":[{"id":2,"name":"tech",` + live + `}]`}}),
		admin(scenario{Name: "include many-to-many with includeDeleted",
			Request: request{Method: get, URL: booksURL + "/1?include=labels&includeDeleted=true"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"labels":[{"id":2,"name":"tech",` + live + `},{"id":3,"name":"retired",` + stamp + `}]`}}),
		admin(scenario{Name: "include has-one without includeDeleted",
			Request: request{Method: get, URL: "/api/authors/4?include=profile"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"profile":null`}}),
		admin(scenario{Name: "include has-one with includeDeleted",
			Request: request{Method: get, URL: "/api/authors/4?include=profile&includeDeleted=true"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"profile":{"id":2,"authorId":4,"bio":"Old bio",` + stamp + `}`}}),
		admin(scenario{Name: "include of a deleted row's children",
			Request: request{Method: get, URL: booksURL + "/6?include=chapters,labels"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"title":"Epilogue"`, `"name":"fiction"`}}),
		admin(scenario{Name: "cursor walk with includeDeleted yields every row once",
			Request: request{Method: get, URL: booksURL + "?includeDeleted=true&limit=2"}, ExpectedStatus: 200,
			After: func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				if got := walkCursorIDs(t, h, adminToken, booksURL+"?includeDeleted=true&limit=2", 2); !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7}) {
					t.Errorf("walk %v", got)
				}
			}}),
	)
	for _, f := range st.fields {
		cases = append(cases,
			admin(scenario{Name: st.named("filter on the deletion column cannot widen past live rows", f),
				Request: request{Method: get, URL: booksURL + "?" + queryString("filter", f.expr+" || id = 1")}, ExpectedStatus: 200,
				After: wantIDs(1)}),
			admin(withTotal(scenario{Name: st.named("filter on the deletion column with includeDeleted", f),
				Request: request{Method: get, URL: booksURL + "?" + queryString("filter", f.expr, "includeDeleted", "true")}, ExpectedStatus: 200,
				After: wantIDs(6, 7)}, 2)),
			admin(scenario{Name: st.named("simple filter on the deletion column's value", f),
				Request: request{Method: get, URL: booksURL + "?includeDeleted=true&" + queryString(f.byValue[:]...)}, ExpectedStatus: 200,
				After: wantIDs(f.byValueIDs...)}),
			admin(scenario{Name: st.named("sort on the deletion column, live rows last", f),
				Request: request{Method: get, URL: booksURL + "?includeDeleted=true&sort=-" + f.key}, ExpectedStatus: 200,
				After: wantIDs(f.sortIDs...)}),
		)
	}

	// The curator may read deleted books but no other deleted rows: deleted
	// related rows need includeDeleted AND read_deleted on their resource.
	cases = append(cases,
		scenario{Name: "curator/includeDeleted shows deleted books, not deleted related rows",
			Request: request{Token: curatorToken, Method: get, URL: booksURL + "?includeDeleted=true&include=author,chapters,labels"}, ExpectedStatus: 200,
			ExpectedContent:    []string{`"title":"Deleted Go"`, stamp},
			NotExpectedContent: []string{"cyd", "Removed", "retired"},
			After: allChecks(wantIDs(1, 2, 3, 4, 5, 6, 7), func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				for _, row := range listOf(t, rec.Body.Bytes()) {
					for _, k := range st.keys() {
						if _, has := row[k]; !has {
							t.Errorf("book %v lacks %s, which the curator may read", row["id"], k)
						}
					}
					related := jsonArr(t, row["chapters"], "chapters")
					related = append(related, jsonArr(t, row["labels"], "labels")...)
					if row["author"] != nil {
						related = append(related, row["author"])
					}
					for _, r := range related {
						for _, k := range st.keys() {
							if _, has := jsonObj(t, r, "related row")[k]; has {
								t.Errorf("book %v: related row %v shows %s", row["id"], r, k)
							}
						}
					}
				}
				if a := listOf(t, rec.Body.Bytes())[4]["author"]; a != nil {
					t.Errorf("book 5's deleted author is %v, want null", a)
				}
			})},
		noLeak(scenario{Name: "curator/may not ask for deleted authors",
			Request: request{Token: curatorToken, Method: get, URL: "/api/authors?includeDeleted=true&include=books"}, ExpectedStatus: 403}),
		scenario{Name: "curator/include of books from authors is live books only",
			Request: request{Token: curatorToken, Method: get, URL: "/api/authors/1?include=books"}, ExpectedStatus: 200,
			NotExpectedContent: deletedMarkers,
			ExpectedContent:    []string{`"books":[{"id":1,`, live}},
		noLeak(scenario{Name: "curator/trash view of authors is forbidden",
			Request: request{Token: curatorToken, Method: get, URL: "/api/authors?onlyDeleted=true"}, ExpectedStatus: 403}),
		scenario{Name: "curator/trash view of books",
			Request: request{Token: curatorToken, Method: get, URL: booksURL + "?onlyDeleted=true&include=chapters"}, ExpectedStatus: 200,
			ExpectedContent: []string{`"title":"Epilogue"`}, NotExpectedContent: []string{"Removed"},
			After: wantIDs(7, 6)},
	)
	return cases
}

// allChecks runs checks in turn; nil ones are skipped.
func allChecks(checks ...func(*testing.T, *harness, *httptest.ResponseRecorder)) func(*testing.T, *harness, *httptest.ResponseRecorder) {
	return func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
		t.Helper()
		for _, c := range checks {
			if c != nil {
				c(t, h, rec)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// 4. Sorting.

func TestSorting(t *testing.T) {
	t.Parallel()
	s := func(q string) string { return booksURL + "?sort=" + q }
	// Offset pages of one row each must add up to the full order.
	pagesOf := func(q string, want ...int) func(*testing.T, *harness, *httptest.ResponseRecorder) {
		return func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			var got []int
			for off := 0; off < len(want)+1; off++ {
				rec := h.Do(t, request{Token: userToken, Method: get, URL: fmt.Sprintf("%s?sort=%s&limit=1&offset=%d", booksURL, q, off)})
				got = append(got, idsOf(t, rec.Body.Bytes())...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("one-row offset pages give %v, want %v", got, want)
			}
		}
	}
	runScenarios(t, libs(
		listCase("default order is the primary key", userToken, booksURL, 1, 2, 3, 4, 5),
		listCase("ascending", userToken, s("price"), 4, 1, 5, 3, 2),
		listCase("descending", userToken, s("-price"), 2, 3, 5, 1, 4),
		listCase("by a string", userToken, s("title"), 1, 5, 4, 3, 2),
		listCase("by a bool", userToken, s("inStock"), 2, 4, 1, 3, 5),
		listCase("by a timestamp, descending", userToken, s("-releasedAt"), 3, 2, 1, 4, 5),
		listCase("multiple keys", userToken, s("qty,-title"), 4, 5, 2, 1, 3),
		listCase("multiple keys, other directions", userToken, s("-qty,title"), 3, 1, 2, 5, 4),
		listCase("primary key breaks ties ascending", userToken, s("qty"), 4, 5, 1, 2, 3),
		listCase("primary key breaks ties on a descending sort too", userToken, s("-qty"), 3, 1, 2, 5, 4),
		listCase("explicit primary key descending", userToken, s("-id"), 5, 4, 3, 2, 1),
		listCase("explicit primary key before another key", userToken, s("-id,qty"), 5, 4, 3, 2, 1),
		listCase("NULLs last ascending", userToken, s("rating"), 3, 1, 5, 2, 4),
		listCase("NULLs last descending", userToken, s("-rating"), 5, 1, 3, 2, 4),
		listCase("NULLs last, then the next key", userToken, s("rating,-title"), 3, 1, 5, 2, 4),
		listCase("sort with a filter", userToken, s("-rating")+"&inStock=true", 5, 1, 3),
		scenario{Name: "stable offset pages with duplicate sort values", Request: request{Token: userToken, Method: get, URL: s("qty")},
			ExpectedStatus: 200, After: pagesOf("qty", 4, 5, 1, 2, 3)},
		scenario{Name: "stable offset pages with duplicate NULLs", Request: request{Token: userToken, Method: get, URL: s("-rating")},
			ExpectedStatus: 200, After: pagesOf("-rating", 5, 1, 3, 2, 4)},
		badCase("unknown field", userToken, s("nope"), "sort", `unknown field \"nope\"`),
		badCase("unknown descending field", userToken, s("-nope"), "sort", `unknown field \"nope\"`),
		badCase("hidden field", userToken, s("secret"), "sort", `unknown field \"secret\"`),
		badCase("relation", userToken, s("author"), "sort", `unknown field \"author\"`),
		badCase("column name", userToken, s("in_stock"), "sort"),
		badCase("field twice", userToken, s("qty,-qty"), "sort", `field \"qty\" is given twice`),
		badCase("field twice in the same direction", userToken, s("title,title"), "sort", "given twice"),
		badCase("empty sort", userToken, s(""), "sort"),
		badCase("trailing comma", userToken, s("qty,"), "sort"),
		badCase("plus is not a direction", userToken, s("%2Bqty"), "sort"),
		badCase("double minus", userToken, s("--qty"), "sort"),
		badCase("sort given twice", userToken, s("qty")+"&sort=title", "sort", "at most once"),
		badCase("injection in sort", userToken, booksURL+"?"+queryString("sort", "qty; DROP TABLE books"), "sort"),
		badCase("sort on a get", userToken, booksURL+"/1?sort=qty", "sort", "unknown query parameter for a single record"),
	))
}

// ---------------------------------------------------------------------------
// 5. Pagination: offsets, pages, counts.

func TestPagination(t *testing.T) {
	t.Parallel()
	small := func(c *framework.Config) { c.DefaultLimit, c.MaxLimit = 2, 3 }
	meta := func(s scenario, m string) scenario {
		s.ExpectedContent = append(s.ExpectedContent, `"meta":`+m)
		return s
	}
	runScenarios(t, libs(
		meta(listCase("limit and offset", userToken, booksURL+"?limit=2&offset=1", 2, 3), `{"total":5,"limit":2,"offset":1,"nextCursor":"`),
		meta(listCase("offset alone", userToken, booksURL+"?offset=3", 4, 5), `{"total":5,"limit":20,"offset":3}`),
		meta(listCase("offset past the end", userToken, booksURL+"?offset=50", []int{}...), `{"total":5,"limit":20,"offset":50}`),
		meta(listCase("page 1", userToken, booksURL+"?page=1&limit=2", 1, 2), `{"total":5,"limit":2,"offset":0,"nextCursor":"`),
		meta(listCase("page 2", userToken, booksURL+"?page=2&limit=2", 3, 4), `{"total":5,"limit":2,"offset":2,"nextCursor":"`),
		meta(listCase("last page has no cursor", userToken, booksURL+"?page=3&limit=2", 5), `{"total":5,"limit":2,"offset":4}}`),
		meta(listCase("page with the default limit", userToken, booksURL+"?page=1", 1, 2, 3, 4, 5), `{"total":5,"limit":20,"offset":0}}`),
		meta(listCase("full last page has no cursor", userToken, booksURL+"?limit=5", 1, 2, 3, 4, 5), `{"total":5,"limit":5,"offset":0}}`),
		meta(listCase("count=false omits the total", userToken, booksURL+"?count=false&limit=2", 1, 2), `{"limit":2,"offset":0,"nextCursor":"`),
		meta(listCase("count=true keeps the total", userToken, booksURL+"?count=true&limit=2", 1, 2), `{"total":5,"limit":2,`),
		meta(listCase("count=false on the last page", userToken, booksURL+"?count=false&offset=4", 5), `{"limit":20,"offset":4}}`),
		badCase("page with offset", userToken, booksURL+"?page=2&offset=2", "page", "cannot be combined with offset"),
		badCase("page with offset 0", userToken, booksURL+"?page=1&offset=0", "page"),
		badCase("page 0", userToken, booksURL+"?page=0", "page"),
		badCase("negative page", userToken, booksURL+"?page=-1", "page"),
		badCase("page not a number", userToken, booksURL+"?page=two", "page"),
		badCase("limit 0", userToken, booksURL+"?limit=0", "limit"),
		badCase("limit over the maximum", userToken, booksURL+"?limit=101", "limit"),
		badCase("count not a boolean", userToken, booksURL+"?count=no", "count"),
		badCase("count is exact", userToken, booksURL+"?count=0", "count"),
		badCase("offset not a number", userToken, booksURL+"?offset=1.5", "offset"),
		badCase("limit given twice", userToken, booksURL+"?limit=1&limit=2", "limit", "at most once"),
		badCase("offset on a get", userToken, booksURL+"/1?offset=1", "offset"),
		badCase("unknown parameter", userToken, booksURL+"?pageSize=2", "pageSize"),
		withConfig(meta(listCase("configured default limit", userToken, booksURL, 1, 2), `{"total":5,"limit":2,"offset":0,"nextCursor":"`), small),
		withConfig(meta(listCase("configured maximum", userToken, booksURL+"?limit=3", 1, 2, 3), `{"total":5,"limit":3,`), small),
		withConfig(badCase("above the configured maximum", userToken, booksURL+"?limit=4", "limit", "between 1 and 3"), small),
		withConfig(meta(listCase("configured default limit with a page", userToken, booksURL+"?page=3", 5), `{"total":5,"limit":2,"offset":4}}`), small),
		withConfig(scenario{Name: "configured default limit on cursor pages", Request: request{Token: userToken, Method: get, URL: booksURL},
			ExpectedStatus: 200, After: func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				pages := walkCursor(t, h, userToken, booksURL+"?sort=-qty", 2)
				if len(pages) != 3 || !slices.Equal(append(append(pages[0].ids, pages[1].ids...), pages[2].ids...), []int{3, 1, 2, 5, 4}) {
					t.Errorf("pages %v, want [3 1] [2 5] [4]", pages)
				}
			}}, small),
	))
}

// ---------------------------------------------------------------------------
// 5b. Keyset pagination.

// TestCursorWalks follows nextCursor through 47 books (40 extra, with many
// duplicate sort values, NULLs and deletions) and checks that every
// matching row comes exactly once, in the order computed independently.
func TestCursorWalks(t *testing.T) {
	t.Parallel()
	h := newLibHarness(t, nil, seedMoreBooks)
	rows := allBooks()
	byQtyDescTitle := func(a, b bookRow) int {
		if c := cmpInt64(b.qty, a.qty); c != 0 {
			return c
		}
		return strings.Compare(a.title, b.title)
	}
	byRating := func(desc bool) func(a, b bookRow) int {
		return func(a, b bookRow) int { return cmpNullsLast(a.rating, b.rating, desc, cmpInt64) }
	}
	byRatingThenTitleDesc := func(a, b bookRow) int {
		if c := cmpNullsLast(a.rating, b.rating, false, cmpInt64); c != 0 {
			return c
		}
		return strings.Compare(b.title, a.title)
	}
	byDeleted := func(desc bool) func(a, b bookRow) int {
		return func(a, b bookRow) int { return cmpNullsLast(a.deleted, b.deleted, desc, cmpTime) }
	}
	byID := func(a, b bookRow) int { return 0 }
	inStockLive := func(b bookRow) bool { return liveBook(b) && b.inStock }

	for _, c := range []struct {
		name  string
		token string
		query string
		limit int
		want  []int
	}{
		{"default order", userToken, "", 5, expectIDs(rows, liveBook, byID)},
		{"sort=-qty,title", userToken, "sort=-qty,title", 3, expectIDs(rows, liveBook, byQtyDescTitle)},
		{"sort=-qty,title, one row a page", userToken, "sort=-qty,title", 1, expectIDs(rows, liveBook, byQtyDescTitle)},
		{"sort=-qty,title, anonymous", "", "sort=-qty,title", 4, expectIDs(rows, liveBook, byQtyDescTitle)},
		{"nullable key ascending", userToken, "sort=rating", 3, expectIDs(rows, liveBook, byRating(false))},
		{"nullable key descending", userToken, "sort=-rating", 3, expectIDs(rows, liveBook, byRating(true))},
		{"nullable key then a descending key", userToken, "sort=rating,-title", 4, expectIDs(rows, liveBook, byRatingThenTitleDesc)},
		{"descending primary key", userToken, "sort=-id", 7, expectIDs(rows, liveBook, func(a, b bookRow) int { return cmpInt64(b.id, a.id) })},
		{"with a filter", userToken, "sort=-qty,title&inStock=true", 2, expectIDs(rows, inStockLive, byQtyDescTitle)},
		{"with an expression and count=false", userToken, queryString("sort", "-qty,title", "filter", `title ~ "dup" || qty = 5`, "count", "false"), 3,
			expectIDs(rows, func(b bookRow) bool { return liveBook(b) && (strings.Contains(b.title, "dup") || b.qty == 5) }, byQtyDescTitle)},
		{"admin includeDeleted, deletion column ascending", adminToken, "includeDeleted=true&sort=deletedAt", 3, expectIDs(rows, anyBook, byDeleted(false))},
		{"admin includeDeleted, deletion column descending", adminToken, "includeDeleted=true&sort=-deletedAt", 3, expectIDs(rows, anyBook, byDeleted(true))},
		{"admin includeDeleted, deletion column then qty", adminToken, "includeDeleted=true&sort=-deletedAt,qty", 2,
			expectIDs(rows, anyBook, func(a, b bookRow) int {
				if c := cmpNullsLast(a.deleted, b.deleted, true, cmpTime); c != 0 {
					return c
				}
				return cmpInt64(a.qty, b.qty)
			})},
		// The trash view breaks ties by the key, highest first.
		{"admin trash view", adminToken, "onlyDeleted=true", 2, expectIDs(rows, deletedBook, func(a, b bookRow) int {
			if c := byDeleted(true)(a, b); c != 0 {
				return c
			}
			return cmpInt64(b.id, a.id)
		})},
		{"admin trash view sorted by qty", adminToken, "onlyDeleted=true&sort=qty", 2, expectIDs(rows, deletedBook, func(a, b bookRow) int { return cmpInt64(a.qty, b.qty) })},
	} {
		t.Run(c.name, func(t *testing.T) {
			first := fmt.Sprintf("%s?limit=%d", booksURL, c.limit)
			if c.query != "" {
				first += "&" + c.query
			}
			// The same query in one page is the reference the walk must match.
			one := h.Do(t, request{Token: c.token, Method: get, URL: fmt.Sprintf("%s?limit=100&%s", booksURL, c.query)})
			if got := idsOf(t, one.Body.Bytes()); !slices.Equal(got, c.want) {
				t.Errorf("single page: %v\nwant        %v", got, c.want)
			}
			pages := walkCursor(t, h, c.token, first, c.limit)
			var got []int
			seen := map[int]bool{}
			for _, p := range pages {
				for _, id := range p.ids {
					if seen[id] {
						t.Errorf("row %d came twice", id)
					}
					seen[id] = true
				}
				got = append(got, p.ids...)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("walk:   %v\nwant    %v", got, c.want)
			}
			if wantPages := (len(c.want) + c.limit - 1) / c.limit; len(pages) != wantPages {
				t.Errorf("%d pages, want %d", len(pages), wantPages)
			}
		})
	}
}

// TestCursorRules checks what may and may not change between cursor pages,
// and that altered or foreign cursors are refused.
func TestCursorRules(t *testing.T) {
	t.Parallel()
	h := newLibHarness(t, nil, nil)
	firstPage := func(t *testing.T, token, q string) string {
		t.Helper()
		rec := h.Do(t, request{Token: token, Method: get, URL: booksURL + "?" + q})
		c, _ := metaObj(t, rec.Body.Bytes())["nextCursor"].(string)
		if rec.Code != 200 || c == "" {
			t.Fatalf("GET %s: %d %s, want a next cursor", q, rec.Code, rec.Body)
		}
		return c
	}
	cur := firstPage(t, userToken, "sort=-qty&limit=2") // page 1: 3, 1; next: 2, 5, 4
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	last := len(cur) - 1
	esc := url.QueryEscape
	for _, c := range []struct {
		name   string
		token  string
		url    string
		status int
		ids    []int
		field  string
	}{
		{"the cursor continues", userToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(cur), 200, []int{2, 5}, ""},
		{"limit may change", userToken, booksURL + "?sort=-qty&limit=3&cursor=" + esc(cur), 200, []int{2, 5, 4}, ""},
		{"fields may change", userToken, booksURL + "?sort=-qty&limit=2&fields=id&cursor=" + esc(cur), 200, []int{2, 5}, ""},
		{"count may change", userToken, booksURL + "?sort=-qty&limit=2&count=false&cursor=" + esc(cur), 200, []int{2, 5}, ""},
		{"include may change", userToken, booksURL + "?sort=-qty&limit=2&include=author&cursor=" + esc(cur), 200, []int{2, 5}, ""},
		{"an anonymous caller may not follow it", "", booksURL + "?sort=-qty&limit=2&cursor=" + esc(cur), 400, nil, "cursor"},
		{"another caller may not follow it", readerToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(cur), 400, nil, "cursor"},
		{"parameter order does not matter", userToken, booksURL + "?cursor=" + esc(cur) + "&limit=2&sort=-qty", 200, []int{2, 5}, ""},
		{"tampered nonce", userToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(flip(cur, 0)), 400, nil, "cursor"},
		{"tampered payload", userToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(flip(cur, last/2)), 400, nil, "cursor"},
		{"tampered tag", userToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(flip(cur, last)), 400, nil, "cursor"},
		{"truncated", userToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(cur[:last]), 400, nil, "cursor"},
		{"extended", userToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(cur+"AAAA"), 400, nil, "cursor"},
		{"garbage", userToken, booksURL + "?sort=-qty&limit=2&cursor=not-a-cursor", 400, nil, "cursor"},
		{"another sort", userToken, booksURL + "?sort=qty&limit=2&cursor=" + esc(cur), 400, nil, "cursor"},
		{"no sort", userToken, booksURL + "?limit=2&cursor=" + esc(cur), 400, nil, "cursor"},
		{"an added filter", userToken, booksURL + "?sort=-qty&limit=2&inStock=true&cursor=" + esc(cur), 400, nil, "cursor"},
		{"an added expression", userToken, booksURL + "?sort=-qty&limit=2&" + queryString("filter", "qty > 0") + "&cursor=" + esc(cur), 400, nil, "cursor"},
		{"includeDeleted added", adminToken, booksURL + "?sort=-qty&limit=2&includeDeleted=true&cursor=" + esc(cur), 400, nil, "cursor"},
		{"with offset", userToken, booksURL + "?sort=-qty&limit=2&offset=2&cursor=" + esc(cur), 400, nil, "cursor"},
		{"with offset 0", userToken, booksURL + "?sort=-qty&limit=2&offset=0&cursor=" + esc(cur), 400, nil, "cursor"},
		{"with page", userToken, booksURL + "?sort=-qty&limit=2&page=2&cursor=" + esc(cur), 400, nil, "cursor"},
		{"another resource", userToken, "/api/authors?sort=-id&limit=2&cursor=" + esc(cur), 400, nil, "cursor"},
		{"cursor given twice", userToken, booksURL + "?sort=-qty&limit=2&cursor=" + esc(cur) + "&cursor=" + esc(cur), 400, nil, "cursor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := h.Do(t, request{Token: c.token, Method: get, URL: c.url})
			if rec.Code != c.status {
				t.Fatalf("GET %s: %d %s, want %d", c.url, rec.Code, clip(rec.Body.String()), c.status)
			}
			if c.ids != nil {
				if got := idsOf(t, rec.Body.Bytes()); !slices.Equal(got, c.ids) {
					t.Errorf("ids %v, want %v", got, c.ids)
				}
				if strings.Contains(rec.Body.String(), `"offset"`) {
					t.Errorf("a cursor page reports an offset: %s", rec.Body)
				}
			}
			if c.field != "" && !strings.Contains(rec.Body.String(), fieldErr(c.field)) {
				t.Errorf("problem does not name %s: %s", c.field, rec.Body)
			}
		})
	}

	t.Run("the cursor of an offset page continues after it without offset", func(t *testing.T) {
		c := firstPage(t, userToken, "sort=-qty&limit=2&offset=1") // 1, 2
		rec := h.Do(t, request{Token: userToken, Method: get, URL: booksURL + "?sort=-qty&limit=2&cursor=" + esc(c)})
		if got := idsOf(t, rec.Body.Bytes()); !slices.Equal(got, []int{5, 4}) {
			t.Errorf("ids %v, want [5 4]", got)
		}
		c = firstPage(t, userToken, "sort=-qty&limit=1&page=3") // 2
		rec = h.Do(t, request{Token: userToken, Method: get, URL: booksURL + "?sort=-qty&limit=10&cursor=" + esc(c)})
		if got := idsOf(t, rec.Body.Bytes()); !slices.Equal(got, []int{5, 4}) {
			t.Errorf("after page 3: ids %v, want [5 4]", got)
		}
	})
	t.Run("the last page of a cursor walk has no cursor, even when full", func(t *testing.T) {
		rec := h.Do(t, request{Token: userToken, Method: get, URL: booksURL + "?sort=-qty&limit=3&cursor=" + esc(cur)})
		if _, has := metaObj(t, rec.Body.Bytes())["nextCursor"]; has {
			t.Errorf("last page has a next cursor: %s", rec.Body)
		}
	})
	t.Run("a row deleted between pages is not shown", func(t *testing.T) {
		h2 := newLibHarness(t, nil, nil)
		c := func() string {
			rec := h2.Do(t, request{Token: userToken, Method: get, URL: booksURL + "?sort=-qty&limit=2"})
			s, _ := metaObj(t, rec.Body.Bytes())["nextCursor"].(string)
			return s
		}()
		if rec := h2.Do(t, request{Token: userToken, Method: del, URL: booksURL + "/5"}); rec.Code != 200 {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		rec := h2.Do(t, request{Token: userToken, Method: get, URL: booksURL + "?sort=-qty&limit=2&cursor=" + esc(c)})
		if got := idsOf(t, rec.Body.Bytes()); !slices.Equal(got, []int{2, 4}) {
			t.Errorf("ids %v, want [2 4]", got)
		}
	})
}

// TestCursorSecret checks that cursors are sealed with Config.CursorSecret:
// another app with the same secret accepts them, one with another does not,
// and without a secret they work on the app that issued them only.
func TestCursorSecret(t *testing.T) {
	t.Parallel()
	secret := func(s string) func(*framework.Config) {
		return func(c *framework.Config) { c.CursorSecret = []byte(s) }
	}
	a := newLibHarness(t, secret("one"), nil)
	rec := a.Do(t, request{Token: userToken, Method: get, URL: booksURL + "?limit=2"})
	cur, _ := metaObj(t, rec.Body.Bytes())["nextCursor"].(string)
	if cur == "" {
		t.Fatalf("no cursor: %s", rec.Body)
	}
	next := booksURL + "?limit=2&cursor=" + url.QueryEscape(cur)
	for _, c := range []struct {
		name   string
		h      *harness
		status int
	}{
		{"same app", a, 200},
		{"another app with the same secret", newLibHarness(t, secret("one"), nil), 200},
		{"another app with another secret", newLibHarness(t, secret("two"), nil), 400},
		{"another app without a secret", newLibHarness(t, nil, nil), 400},
	} {
		if got := c.h.Do(t, request{Token: userToken, Method: get, URL: next}); got.Code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, got.Code, clip(got.Body.String()), c.status)
		}
	}

	t.Run("without a secret", func(t *testing.T) {
		one, other := newLibHarness(t, nil, nil), newLibHarness(t, nil, nil)
		pages := walkCursor(t, one, userToken, booksURL+"?sort=-qty&limit=2", 2)
		if got := len(pages); got != 3 {
			t.Fatalf("%d pages, want 3", got)
		}
		next := booksURL + "?sort=-qty&limit=2&cursor=" + url.QueryEscape(pages[0].next)
		if got := other.Do(t, request{Token: userToken, Method: get, URL: next}); got.Code != 400 || !strings.Contains(got.Body.String(), fieldErr("cursor")) {
			t.Errorf("another app without a secret: %d %s, want a 400 naming cursor", got.Code, clip(got.Body.String()))
		}
	})
}

// TestCursorBinding checks that a cursor works only for the caller it was
// made for, with the permissions it was made under, and that it shows its
// holder nothing of the rows it continues after.
func TestCursorBinding(t *testing.T) {
	t.Parallel()
	const aliceToken, bobToken = "alice-token", "bob-token"
	principals := auth.StaticTokens{
		adminToken: libTokens[adminToken],
		aliceToken: {ID: "10", Roles: []string{"curator"}},
		bobToken:   {ID: "11", Roles: []string{"curator"}},
	}
	h := newLibHarness(t, func(c *framework.Config) { c.Authenticator = principals }, nil)
	next := func(t *testing.T, token, q string) string {
		t.Helper()
		rec := h.Do(t, request{Token: token, Method: get, URL: booksURL + "?" + q})
		c, _ := metaObj(t, rec.Body.Bytes())["nextCursor"].(string)
		if rec.Code != 200 || c == "" {
			t.Fatalf("GET %s as %s: %d %s, want a next cursor", q, token, rec.Code, rec.Body)
		}
		return c
	}
	esc := url.QueryEscape
	// Both curators may read deleted books, as the admin may: the same
	// request is allowed to each, and only the cursor's owner differs.
	trash := "onlyDeleted=true&limit=1"
	adminTrash := next(t, adminToken, trash)
	aliceTrash := next(t, aliceToken, trash)
	aliceLive := next(t, aliceToken, "sort=title&limit=2")
	for _, c := range []struct {
		name   string
		token  string
		query  string
		cursor string
		status int
	}{
		{"the admin follows the admin's trash cursor", adminToken, trash, adminTrash, 200},
		{"alice follows her trash cursor", aliceToken, trash, aliceTrash, 200},
		{"alice follows her live cursor", aliceToken, "sort=title&limit=2", aliceLive, 200},
		{"bob may not follow the admin's trash cursor", bobToken, trash, adminTrash, 400},
		{"bob may not follow alice's trash cursor", bobToken, trash, aliceTrash, 400},
		{"bob may not follow alice's live cursor", bobToken, "sort=title&limit=2", aliceLive, 400},
		{"alice may not follow the admin's trash cursor", aliceToken, trash, adminTrash, 400},
		{"anonymous may not follow alice's live cursor", "", "sort=title&limit=2", aliceLive, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := booksURL + "?" + c.query + "&cursor=" + esc(c.cursor)
			rec := h.Do(t, request{Token: c.token, Method: get, URL: u})
			if rec.Code != c.status {
				t.Fatalf("GET %s: %d %s, want %d", u, rec.Code, clip(rec.Body.String()), c.status)
			}
			if c.status == 400 && !strings.Contains(rec.Body.String(), fieldErr("cursor")) {
				t.Errorf("problem does not name cursor: %s", rec.Body)
			}
		})
	}

	t.Run("the same caller with other permissions may not follow it", func(t *testing.T) {
		// The same principal id, seen by another app (same secret) whose
		// policy does not let it read deleted books: the cursor was made
		// under other permissions, so it must not open there.
		secret := func(c *framework.Config) {
			c.Authenticator = principals
			c.CursorSecret = []byte("shared")
		}
		narrower := func(c *framework.Config) {
			secret(c)
			c.Policy = strings.Replace(libPolicy, "p, curator, books, read_deleted\n", "", 1)
		}
		wide, narrow := newLibHarness(t, secret, nil), newLibHarness(t, narrower, nil)
		rec := wide.Do(t, request{Token: aliceToken, Method: get, URL: booksURL + "?sort=id&limit=1"})
		cur, _ := metaObj(t, rec.Body.Bytes())["nextCursor"].(string)
		u := booksURL + "?sort=id&limit=1&cursor=" + esc(cur)
		if got := wide.Do(t, request{Token: aliceToken, Method: get, URL: u}); got.Code != 200 {
			t.Fatalf("same app: %d %s", got.Code, clip(got.Body.String()))
		}
		if got := narrow.Do(t, request{Token: aliceToken, Method: get, URL: u}); got.Code != 400 {
			t.Errorf("narrower permissions: %d %s, want 400", got.Code, clip(got.Body.String()))
		}
	})

	t.Run("a cursor shows nothing of the row it continues after", func(t *testing.T) {
		page := booksURL + "?sort=title,id&limit=1&fields=id,title"
		rec := h.Do(t, request{Token: adminToken, Method: get, URL: page})
		cur, _ := metaObj(t, rec.Body.Bytes())["nextCursor"].(string)
		last := listOf(t, rec.Body.Bytes())[0]
		keys, err := json.Marshal([]any{last["title"], last["id"]})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil {
			t.Fatalf("cursor %q is not base64url: %v", cur, err)
		}
		for _, plain := range []string{last["title"].(string), string(keys)} {
			if bytes.Contains(raw, []byte(plain)) {
				t.Errorf("cursor %q holds %s in plain text", cur, plain)
			}
		}
		// The same row, cursor made twice: a fresh nonce each time, so
		// equal positions do not show as equal cursors either.
		again, _ := metaObj(t, h.Do(t, request{Token: adminToken, Method: get, URL: page}).Body.Bytes())["nextCursor"].(string)
		if again == cur {
			t.Errorf("two cursors for the same row are equal: %q", cur)
		}
	})
}

// ---------------------------------------------------------------------------
// 6. Sparse fields.

func TestSparseFields(t *testing.T) {
	t.Parallel()
	keys := func(want ...string) func(*testing.T, *harness, *httptest.ResponseRecorder) {
		return func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
			t.Helper()
			var objs []map[string]any
			if d, ok := decode(t, rec.Body.Bytes())["data"].(map[string]any); ok {
				objs = append(objs, d)
			} else {
				objs = listOf(t, rec.Body.Bytes())
			}
			if len(objs) == 0 {
				t.Fatalf("no records in %s", rec.Body)
			}
			for _, o := range objs {
				if got := objectKeys(o); !slices.Equal(got, want) {
					t.Errorf("keys %v, want %v", got, want)
				}
			}
		}
	}
	runScenarios(t, libs(
		scenario{Name: "list with id and title", Request: request{Token: userToken, Method: get, URL: booksURL + "?fields=id,title"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":[{"id":1,"title":"Go Basics"},{"id":2,`}, After: keys("id", "title")},
		scenario{Name: "output keeps struct order", Request: request{Token: userToken, Method: get, URL: booksURL + "?fields=title,id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"id":1,"title":"Go Basics"}`}, After: keys("id", "title")},
		scenario{Name: "one field", Request: request{Token: userToken, Method: get, URL: booksURL + "?fields=qty"},
			ExpectedStatus: 200, After: keys("qty")},
		scenario{Name: "duplicates are tolerated", Request: request{Token: userToken, Method: get, URL: booksURL + "?fields=id,title,id"},
			ExpectedStatus: 200, After: keys("id", "title")},
		scenario{Name: "a nullable field", Request: request{Token: userToken, Method: get, URL: booksURL + "?fields=rating&id=2"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":[{"rating":null}]`}},
		scenario{Name: "every field", Request: request{Token: userToken, Method: get, URL: booksURL + "/1?fields=id,authorId,title,qty,rating,price,inStock,releasedAt"},
			ExpectedStatus: 200, After: keys("authorId", "id", "inStock", "price", "qty", "rating", "releasedAt", "title")},
		scenario{Name: "no fields parameter is every exposed field", Request: request{Token: userToken, Method: get, URL: booksURL + "/1"},
			ExpectedStatus: 200, After: keys("authorId", "id", "inStock", "price", "qty", "rating", "releasedAt", "title")},
		scenario{Name: "admin's full record has the deletion column", Request: request{Token: adminToken, Method: get, URL: booksURL + "/1"},
			ExpectedStatus: 200, After: keys("authorId", "deletedAt", "id", "inStock", "price", "qty", "rating", "releasedAt", "title")},
		scenario{Name: "admin selects the deletion column", Request: request{Token: adminToken, Method: get, URL: booksURL + "?fields=deletedAt"},
			ExpectedStatus: 200, After: keys("deletedAt")},
		scenario{Name: "on get", Request: request{Token: userToken, Method: get, URL: booksURL + "/3?fields=id,title"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":3,"title":"goXdeep\\1000"}}`}, After: keys("id", "title")},
		scenario{Name: "on get with duplicates", Request: request{Token: userToken, Method: get, URL: booksURL + "/3?fields=qty,qty"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"qty":7}}`}},
		scenario{Name: "with an include", Request: request{Token: userToken, Method: get, URL: booksURL + "?fields=id&include=author"},
			ExpectedStatus: 200, After: keys("author", "id")},
		scenario{Name: "fields of the parent do not apply to the related record", Request: request{Token: userToken, Method: get, URL: booksURL + "/1?fields=id&include=author"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":1,"author":{"id":1,"name":"ann","email":"ann@x.io"}}}`}},
		scenario{Name: "anonymous", Request: request{Method: get, URL: "/api/authors?fields=name"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":[{"name":"ann"},{"name":"bob"},{"name":"dan"}]`}},
		badCase("unknown field", userToken, booksURL+"?fields=id,nope", "fields", `unknown field \"nope\"`),
		badCase("hidden field", userToken, booksURL+"?fields=id,secret", "fields", `unknown field \"secret\"`),
		badCase("hidden field by Go name", userToken, booksURL+"?fields=Secret", "fields"),
		badCase("relation", userToken, booksURL+"?fields=author", "fields", `unknown field \"author\"`),
		badCase("column name", userToken, booksURL+"?fields=in_stock", "fields"),
		badCase("empty", userToken, booksURL+"?fields=", "fields"),
		badCase("trailing comma", userToken, booksURL+"?fields=id,", "fields"),
		badCase("unknown field on get", userToken, booksURL+"/1?fields=nope", "fields"),
		badCase("hidden field on get", userToken, booksURL+"/1?fields=secret", "fields"),
		badCase("fields given twice", userToken, booksURL+"?fields=id&fields=title", "fields", "at most once"),
		noLeak(badCase("user selects the deletion column", userToken, booksURL+"?fields=id,deletedAt", "fields", `unknown field \"deletedAt\"`)),
		noLeak(badCase("user selects the deletion column on get", userToken, booksURL+"/1?fields=deletedAt", "fields")),
	))
}

// ---------------------------------------------------------------------------
// 7. Includes.

func TestIncludes(t *testing.T) {
	t.Parallel()
	authors := "/api/authors"
	runScenarios(t, libs(
		scenario{Name: "belongs-to on get", Request: request{Token: userToken, Method: get, URL: booksURL + "/3?include=author"},
			ExpectedStatus: 200, ExpectedContent: []string{`"author":{"id":2,"name":"bob","email":"bob@x.io"}}}`}},
		scenario{Name: "belongs-to on list", Request: request{Token: userToken, Method: get, URL: booksURL + "?include=author&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{
				`{"data":[{"id":1,"author":{"id":1,"name":"ann","email":"ann@x.io"}},{"id":2,"author":{"id":1,`,
				`{"id":5,"author":null}]`}},
		scenario{Name: "has-many on get", Request: request{Token: userToken, Method: get, URL: authors + "/2?include=books&fields=name"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"name":"bob","books":[{"id":3,"authorId":2,`, `{"id":4,"authorId":2,`}},
		scenario{Name: "has-many on list, empty list when none", Request: request{Token: userToken, Method: get, URL: authors + "?include=books&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"id":4,"books":[]}`}},
		scenario{Name: "has-one on get", Request: request{Token: userToken, Method: get, URL: authors + "/1?include=profile&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":1,"profile":{"id":1,"authorId":1,"bio":"Ann writes"}}}`}},
		scenario{Name: "has-one on list, null when none", Request: request{Token: userToken, Method: get, URL: authors + "?include=profile&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"id":1,"profile":{"id":1,`, `{"id":2,"profile":null}`, `{"id":4,"profile":null}`}},
		scenario{Name: "many-to-many on get", Request: request{Token: userToken, Method: get, URL: booksURL + "/1?include=labels&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":1,"labels":[{"id":2,"name":"tech"}]}}`}},
		scenario{Name: "many-to-many on list", Request: request{Token: userToken, Method: get, URL: booksURL + "?include=labels&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"id":2,"labels":[{"id":1,"name":"fiction"}]}`, `{"id":3,"labels":[{"id":2,"name":"tech"}]}`, `{"id":4,"labels":[]}`}},
		scenario{Name: "several relations", Request: request{Token: userToken, Method: get, URL: booksURL + "/1?include=author,chapters,labels&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`"author":{"id":1,`, `"chapters":[{"id":1,`, `"labels":[{"id":2,`}},
		scenario{Name: "the same relation twice", Request: request{Token: userToken, Method: get, URL: booksURL + "/1?include=author,author&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":1,"author":{"id":1,"name":"ann","email":"ann@x.io"}}}`}},
		scenario{Name: "nested depth 2", Request: request{Token: userToken, Method: get, URL: authors + "/1?include=books.chapters&fields=id"},
			ExpectedStatus: 200, After: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				bs := jsonArr(t, dataOf(t, rec.Body.Bytes())["books"], "books")
				for i, want := range [][]int{{1, 2}, {}} {
					if got := idsIn(t, jsonObj(t, bs[i], "book")["chapters"], "chapters"); !slices.Equal(got, want) {
						t.Errorf("book %d chapters %v, want %v", i, got, want)
					}
				}
			}},
		scenario{Name: "nested depth 2 and a sibling path", Request: request{Token: userToken, Method: get, URL: authors + "/1?include=books.chapters,books.labels,profile&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`"chapters":[{"id":1,`, `"labels":[{"id":2,`, `"profile":{"id":1,`}},
		scenario{Name: "nested depth 3", Request: request{Token: userToken, Method: get, URL: authors + "/1?include=books.chapters.book&fields=id"},
			ExpectedStatus: 200, After: func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
				b := jsonObj(t, jsonArr(t, dataOf(t, rec.Body.Bytes())["books"], "books")[0], "book")
				for _, ch := range jsonArr(t, b["chapters"], "chapters") {
					back := jsonObj(t, jsonObj(t, ch, "chapter")["book"], "chapter.book")
					if back["id"] != float64(1) || back["title"] != "Go Basics" {
						t.Errorf("chapter's book is %v, want book 1", back)
					}
				}
			}},
		scenario{Name: "nested depth 3 on list", Request: request{Token: userToken, Method: get, URL: booksURL + "?include=author.books.labels&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"id":1,"author":{"id":1,"name":"ann","email":"ann@x.io","books":[{"id":1,`, `"labels":[{"id":2,"name":"tech"}]`}},
		badCase("depth 4", userToken, authors+"/1?include=books.chapters.book.author", "include", "deeper than 3 levels"),
		badCase("depth 4 on list", userToken, booksURL+"?include=author.books.chapters.book", "include", "deeper than 3 levels"),
		badCase("unknown relation", userToken, booksURL+"?include=nope", "include", `has no relation \"nope\"`),
		badCase("unknown nested relation", userToken, booksURL+"?include=author.nope", "include", `authors has no relation \"nope\"`),
		badCase("a column is not a relation", userToken, booksURL+"?include=title", "include"),
		badCase("relation by Go name", userToken, booksURL+"?include=Author", "include"),
		badCase("empty path segment", userToken, booksURL+"?include=author..books", "include"),
		badCase("unknown relation on get", userToken, booksURL+"/1?include=nope", "include"),
		badCase("include given twice", userToken, booksURL+"?include=author&include=labels", "include", "at most once"),
		scenario{Name: "user may not read audits", Request: request{Token: userToken, Method: get, URL: booksURL + "?include=audits"},
			ExpectedStatus: 403, ExpectedContent: []string{"include audits", "audits"}, NotExpectedContent: []string{"checked"}},
		scenario{Name: "user may not read audits on get", Request: request{Token: userToken, Method: get, URL: booksURL + "/1?include=author,audits"},
			ExpectedStatus: 403, ExpectedContent: []string{"include audits"}, NotExpectedContent: []string{"checked"}},
		scenario{Name: "user may not read audits nested", Request: request{Token: userToken, Method: get, URL: authors + "?include=books.audits"},
			ExpectedStatus: 403, ExpectedContent: []string{"include audits"}, NotExpectedContent: []string{"checked"}},
		scenario{Name: "anonymous must authenticate to read audits", Request: request{Method: get, URL: booksURL + "?include=audits"},
			ExpectedStatus: 401, ExpectedHeaders: bearer, ExpectedContent: []string{"include audits"}, NotExpectedContent: []string{"checked"}},
		scenario{Name: "anonymous must authenticate to read profiles", Request: request{Method: get, URL: authors + "/1?include=profile"},
			ExpectedStatus: 401, ExpectedHeaders: bearer, ExpectedContent: []string{"include profile"}, NotExpectedContent: []string{"Ann writes"}},
		scenario{Name: "reader may not read chapters", Request: request{Token: readerToken, Method: get, URL: booksURL + "?include=chapters"},
			ExpectedStatus: 403, ExpectedContent: []string{"include chapters"}, NotExpectedContent: []string{"Intro"}},
		scenario{Name: "admin reads audits", Request: request{Token: adminToken, Method: get, URL: booksURL + "/1?include=audits&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":{"id":1,"audits":[{"id":1,"bookId":1,"note":"checked"}]}}`}},
		scenario{Name: "anonymous includes what it may read", Request: request{Method: get, URL: booksURL + "/1?include=author,chapters,labels&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`"author":{"id":1,"name":"ann"`, `"chapters":[{"id":1,`}},
		noLeak(scenario{Name: "hidden fields of related records never appear", Request: request{Token: userToken, Method: get, URL: authors + "?include=books.chapters.book"},
			ExpectedStatus: 200, NotExpectedContent: []string{"secret", "Secret", secretPrefix}}),
		scenario{Name: "hidden fields of related records never appear to admin", Request: request{Token: adminToken, Method: get, URL: authors + "?include=books.chapters.book&includeDeleted=true"},
			ExpectedStatus: 200, NotExpectedContent: []string{"secret", "Secret", secretPrefix}},
		scenario{Name: "include with a filter, sort and page", Request: request{Token: userToken, Method: get, URL: booksURL + "?include=author&sort=-qty&limit=2&offset=1&inStock=true&fields=id"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":[{"id":1,"author":{"id":1,`, `{"id":5,"author":null}]`}},
		scenario{Name: "include of a relation whose rows are all deleted", Request: request{Token: userToken, Method: get, URL: "/api/chapters?include=book&fields=id,bookId"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"id":5,"bookId":6,"book":null}`}},
	))
}

// TestIncludeQueryCount proves there is no N+1: the queries a list with an
// include runs do not depend on the number of rows.
func TestIncludeQueryCount(t *testing.T) {
	t.Parallel()
	// grow adds n authors, each with two books, each book with two chapters
	// and one label.
	grow := func(n int, counter *queryCounter) func(*testing.T, *framework.App, *bun.DB) {
		return func(t *testing.T, _ *framework.App, db *bun.DB) {
			for i := 0; i < n; i++ {
				a := 100 + i
				insertRow(t, db, "authors", map[string]any{"id": a, "name": fmt.Sprintf("a%d", a), "email": fmt.Sprintf("a%d@x.io", a), "deleted_at": nil})
				insertRow(t, db, "profiles", map[string]any{"id": a, "author_id": a, "bio": "bio", "deleted_at": nil})
				for j := 0; j < 2; j++ {
					b := int64(1000 + 10*i + j)
					insertBook(t, db, bookRow{id: b, author: int64(a), title: "t", qty: 1, price: 1, released: utcDate(2020, 1, 1)})
					insertRow(t, db, "book_labels", map[string]any{"book_id": b, "label_id": 1 + j})
					for k := 0; k < 2; k++ {
						insertRow(t, db, "chapters", map[string]any{"id": 10*b + int64(k), "book_id": b, "title": "c", "deleted_at": nil})
					}
				}
			}
			db.AddQueryHook(counter)
		}
	}
	for _, c := range []struct {
		url    string
		levels int // include levels; many-to-many counts twice
	}{
		{"/api/authors?limit=100&include=books", 1},
		{"/api/authors?limit=100&include=profile", 1},
		{"/api/books?limit=100&include=author", 1},
		{"/api/books?limit=100&include=chapters", 1},
		{"/api/books?limit=100&include=labels", 2},
		{"/api/authors?limit=100&include=books.chapters", 2},
		{"/api/authors?limit=100&include=books.chapters.book", 3},
		{"/api/authors?limit=100&include=books.labels,profile", 4},
		{"/api/authors?limit=100&include=books&count=false", 1},
		{"/api/authors/100?include=books.chapters", 2},
	} {
		t.Run(c.url, func(t *testing.T) {
			t.Parallel()
			counts := map[int]int64{}
			for _, n := range []int{2, 20} {
				counter := &queryCounter{}
				h := newLibHarness(t, nil, grow(n, counter))
				counter.n.Store(0)
				rec := h.Do(t, request{Token: adminToken, Method: get, URL: c.url})
				if rec.Code != 200 {
					t.Fatalf("%d parents: %d %s", n, rec.Code, clip(rec.Body.String()))
				}
				counts[n] = counter.n.Load()
			}
			if counts[2] != counts[20] {
				t.Errorf("%d queries for 2 parents, %d for 20: one query per row", counts[2], counts[20])
			}
			// A count, the page, and one query per include level.
			if max := int64(2 + c.levels); counts[20] > max {
				t.Errorf("%d queries, want at most %d", counts[20], max)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 8. The trash view.

func TestTrashView(t *testing.T) {
	t.Parallel()
	stamp, stamp2 := `"deletedAt":"`+seedDeletedJSON+`"`, `"deletedAt":"`+seedDeleted2JSON+`"`
	trash := booksURL + "?onlyDeleted=true"
	runScenarios(t, libs(
		withTotal(scenario{Name: "admin sees deleted rows only, latest deletion first", Request: request{Token: adminToken, Method: get, URL: trash},
			ExpectedStatus: 200, ExpectedContent: []string{stamp, stamp2}, NotExpectedContent: []string{`"deletedAt":null`},
			After: wantIDs(7, 6)}, 2),
		listCase("sort overrides the default order", adminToken, trash+"&sort=id", 6, 7),
		listCase("sort by another field", adminToken, trash+"&sort=-qty", 6, 7),
		listCase("sort on the deletion column ascending", adminToken, trash+"&sort=deletedAt", 6, 7),
		listCase("with a filter", adminToken, trash+"&"+queryString("filter", `title ~ "rust"`), 7),
		listCase("with a simple filter", adminToken, trash+"&qty[gt]=5", 6),
		listCase("with a page", adminToken, trash+"&limit=1&offset=1", 6),
		scenario{Name: "with fields and an include", Request: request{Token: adminToken, Method: get, URL: trash + "&fields=id,title,deletedAt&include=author"},
			ExpectedStatus: 200, ExpectedContent: []string{`{"data":[{"id":7,"title":"Gone Rust",` + stamp2 + `,"author":{"id":2,`}},
		scenario{Name: "cursor walk", Request: request{Token: adminToken, Method: get, URL: trash},
			ExpectedStatus: 200, After: func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				if got := walkCursorIDs(t, h, adminToken, trash+"&limit=1", 1); !slices.Equal(got, []int{7, 6}) {
					t.Errorf("walk %v, want [7 6]", got)
				}
			}},
		listCase("trash of another resource", adminToken, "/api/authors?onlyDeleted=true", 3),
		listCase("onlyDeleted=false is a normal list", adminToken, trash[:len(trash)-4]+"false", 1, 2, 3, 4, 5),
		noLeak(scenario{Name: "user is forbidden", Request: request{Token: userToken, Method: get, URL: trash},
			ExpectedStatus: 403, ExpectedContent: []string{"read deleted books"}}),
		noLeak(scenario{Name: "reader is forbidden", Request: request{Token: readerToken, Method: get, URL: trash}, ExpectedStatus: 403}),
		noLeak(scenario{Name: "anonymous must authenticate", Request: request{Method: get, URL: trash}, ExpectedStatus: 401, ExpectedHeaders: bearer}),
		noLeak(scenario{Name: "user with a filter is still forbidden", Request: request{Token: userToken, Method: get, URL: trash + "&qty=9"}, ExpectedStatus: 403}),
		badCase("with includeDeleted=true", adminToken, trash+"&includeDeleted=true", "onlyDeleted", "includeDeleted"),
		listCase("with includeDeleted=false", adminToken, trash+"&includeDeleted=false", 7, 6),
		badCase("on a model without soft deletes", adminToken, "/api/audits?onlyDeleted=true", "onlyDeleted", "no soft deletes"),
		badCase("includeDeleted on a model without soft deletes", adminToken, "/api/audits?includeDeleted=true", "includeDeleted", "no soft deletes"),
		badCase("onlyDeleted=false on a model without soft deletes", adminToken, "/api/audits?onlyDeleted=false", "onlyDeleted"),
		badCase("value must be exact", adminToken, booksURL+"?onlyDeleted=1", "onlyDeleted"),
		badCase("onlyDeleted on a get", adminToken, booksURL+"/6?onlyDeleted=true", "onlyDeleted"),
	))
}

// ---------------------------------------------------------------------------
// 9. Validation of writes.

func TestValidation(t *testing.T) {
	t.Parallel()
	authors := "/api/authors"
	w := func(name, method, u, body string, status int, want ...string) scenario {
		return scenario{Name: name, Request: request{Token: userToken, Method: method, URL: u, Body: body},
			ExpectedStatus: status, ExpectedContent: want}
	}
	newBook := func(author string) string {
		return `{"authorId":` + author + `,"title":"New","qty":1,"price":2.5,"inStock":true,"releasedAt":"2023-01-01T00:00:00Z"}`
	}
	stored := func(table string, id int, want int) func(*testing.T, *harness, *httptest.ResponseRecorder) {
		return func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			if rows, _ := rowCount(t, h.DB, table, "", id); rows != want {
				t.Errorf("%s %d: %d rows in the database, want %d", table, id, rows, want)
			}
		}
	}
	nameIs := func(id, name, email string) func(*testing.T, *harness, *httptest.ResponseRecorder) {
		return func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			rec := h.Do(t, request{Token: userToken, Method: get, URL: authors + "/" + id})
			d := dataOf(t, rec.Body.Bytes())
			if d["name"] != name || d["email"] != email {
				t.Errorf("author %s is %v, want %s <%s>", id, d, name, email)
			}
		}
	}
	runScenarios(t, libs(
		w("create passes", post, authors, `{"name":"eve","email":"eve@x.io"}`, 201, `{"data":{"id":5,"name":"eve","email":"eve@x.io"}}`),
		w("name at the maximum length", post, authors, `{"name":"abcdefghij","email":"eve@x.io"}`, 201),
		withAfter(w("missing required field", post, authors, `{"email":"eve@x.io"}`, 422,
			`"errors":[{"field":"name","message":"is required"}]`, `"detail":"name: is required"`), stored("authors", 5, 0)),
		w("empty required field", post, authors, `{"name":"","email":"eve@x.io"}`, 422, fieldErr("name")),
		w("too long", post, authors, `{"name":"abcdefghijk","email":"eve@x.io"}`, 422, fieldErr("name"), "at most 10 characters"),
		w("invalid email", post, authors, `{"name":"eve","email":"not-an-email"}`, 422, fieldErr("email"), "valid email"),
		w("every failing field is named", post, authors, `{"email":"nope"}`, 422,
			`"errors":[{"field":"name","message":"is required"},{"field":"email","message":"must be a valid email address"}]`),
		w("body errors come before validation", post, authors, `{"name":7,"email":"nope"}`, 400, fieldErr("name")),
		withAfter(w("patch touching other fields passes", patch, authors+"/1", `{"email":"ann@y.io"}`, 200, `"email":"ann@y.io"`),
			nameIs("1", "ann", "ann@y.io")),
		w("patch of the validated field with a valid value", patch, authors+"/1", `{"name":"annie"}`, 200, `"name":"annie"`),
		withAfter(w("patch with a value over the maximum", patch, authors+"/1", `{"name":"abcdefghijk"}`, 422, fieldErr("name"), "at most 10"),
			nameIs("1", "ann", "ann@x.io")),
		withAfter(w("patch emptying a required field", patch, authors+"/1", `{"name":""}`, 422, fieldErr("name"), "is required"),
			nameIs("1", "ann", "ann@x.io")),
		withAfter(w("patch with an invalid email", patch, authors+"/1", `{"email":"nope"}`, 422, fieldErr("email")),
			nameIs("1", "ann", "ann@x.io")),
		w("empty patch", patch, authors+"/1", `{}`, 200, `"name":"ann"`),

		// belongs-to references.
		w("reference to a live parent", post, booksURL, newBook("2"), 201, `"authorId":2`),
		withAfter(w("reference to a missing parent", post, booksURL, newBook("99"), 422,
			`"errors":[{"field":"authorId","message":"refers to a record of authors that does not exist"}]`), stored("books", 8, 0)),
		withAfter(w("reference to a soft-deleted parent", post, booksURL, newBook("3"), 422, fieldErr("authorId"), "does not exist"),
			stored("books", 8, 0)),
		w("patch to a live parent", patch, booksURL+"/1", `{"authorId":2}`, 200, `"authorId":2`),
		w("patch to a missing parent", patch, booksURL+"/1", `{"authorId":99}`, 422, fieldErr("authorId")),
		withAfter(w("patch to a soft-deleted parent", patch, booksURL+"/1", `{"authorId":3}`, 422, fieldErr("authorId")),
			func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
				rec := h.Do(t, request{Token: userToken, Method: get, URL: booksURL + "/1"})
				if d := dataOf(t, rec.Body.Bytes()); d["authorId"] != float64(1) {
					t.Errorf("book 1's author changed to %v", d["authorId"])
				}
			}),
		w("patch leaving a reference alone does not check it", patch, booksURL+"/5", `{"qty":4}`, 200, `"qty":4`),
		w("chapter of a deleted book", post, "/api/chapters", `{"bookId":6,"title":"x"}`, 422, fieldErr("bookId")),
		w("chapter of a live book", post, "/api/chapters", `{"bookId":1,"title":"x"}`, 201),

		// Database constraints.
		w("unique violation", post, authors, `{"name":"ann2","email":"ann@x.io"}`, 409,
			`"errors":[{"field":"email","message":"the value is already taken"}]`),
		w("unique violation with a soft-deleted row", post, authors, `{"name":"cyd2","email":"cyd@x.io"}`, 409, fieldErr("email")),
		withAfter(w("unique violation on patch", patch, authors+"/2", `{"email":"ann@x.io"}`, 409, fieldErr("email")),
			nameIs("2", "bob", "bob@x.io")),
	))
}

func withAfter(s scenario, after func(*testing.T, *harness, *httptest.ResponseRecorder)) scenario {
	s.After = after
	return s
}

// TestValidateTagRegisterError checks that a malformed validate tag fails
// Register with an error naming the model, instead of a panic.
func TestValidateTagRegisterError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		register func(*testing.T, *framework.App, ...framework.Option) error
		model    string
		resource string
	}{
		{"unknown rule", register[BadRuleModel], "BadRuleModel", "bad_rules"},
		{"bad rule parameter", register[BadParamModel], "BadParamModel", "bad_params"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			app := newBareApp(t)
			err := c.register(t, app)
			if err == nil {
				t.Fatalf("Register succeeded")
			}
			if !strings.Contains(err.Error(), c.model) {
				t.Errorf("error %q does not name the model %s", err, c.model)
			}
			if _, ok := framework.ResourceOf(app, c.resource); ok {
				t.Errorf("the model was registered anyway")
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 10. Permanent delete.

func TestPermanentDelete(t *testing.T) {
	t.Parallel()
	hard := `{"success":true,"softDeleted":false,"hardDeleted":true,"message":"Record permanently deleted"}`
	rows := func(table string, id, want int) func(*testing.T, *harness, *httptest.ResponseRecorder) {
		return func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			t.Helper()
			if got, _ := rowCount(t, h.DB, table, "", id); got != want {
				t.Errorf("%s %d: %d rows in the database, want %d", table, id, got, want)
			}
		}
	}
	d := func(name, token, u string, status int, after func(*testing.T, *harness, *httptest.ResponseRecorder), want ...string) scenario {
		return scenario{Name: name, Request: request{Token: token, Method: del, URL: u},
			ExpectedStatus: status, ExpectedContent: want, After: after}
	}
	gone := func(table string, id int, u string) func(*testing.T, *harness, *httptest.ResponseRecorder) {
		return allChecks(rows(table, id, 0), func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			if rec := h.Do(t, request{Token: adminToken, Method: get, URL: u}); rec.Code != 404 {
				t.Errorf("admin GET %s after a permanent delete: %d", u, rec.Code)
			}
			if rec := h.Do(t, request{Token: adminToken, Method: post, URL: u + "/restore"}); rec.Code != 404 {
				t.Errorf("restore after a permanent delete: %d", rec.Code)
			}
		})
	}
	runScenarios(t, libs(
		d("admin removes a live row", adminToken, "/api/chapters/2?permanent=true", 200, gone("chapters", 2, "/api/chapters/2"), hard),
		d("admin removes a soft-deleted row", adminToken, "/api/chapters/3?permanent=true", 200, gone("chapters", 3, "/api/chapters/3"), hard),
		d("admin removes a soft-deleted book", adminToken, booksURL+"/7?permanent=true", 200, gone("books", 7, booksURL+"/7"), hard),
		d("admin removes a row of a model without soft deletes", adminToken, "/api/audits/1?permanent=true", 200, rows("audits", 1, 0), hard),
		d("missing row", adminToken, "/api/chapters/99?permanent=true", 404, nil),
		d("id that cannot be a key", adminToken, "/api/chapters/abc?permanent=true", 404, nil),
		d("user is forbidden", userToken, "/api/chapters/2?permanent=true", 403, rows("chapters", 2, 1), "hard delete"),
		d("user is forbidden on a soft-deleted row", userToken, "/api/chapters/3?permanent=true", 403, rows("chapters", 3, 1)),
		withHeaders(d("anonymous must authenticate", "", "/api/chapters/2?permanent=true", 401, rows("chapters", 2, 1)), bearer),
		d("referenced by a foreign key", adminToken, "/api/authors/2?permanent=true", 409, rows("authors", 2, 1), "still referenced by books"),
		d("soft-deleted row referenced by a foreign key", adminToken, booksURL+"/6?permanent=true", 409, rows("books", 6, 1), "still referenced by chapters"),
		d("referenced row is not changed", adminToken, "/api/authors/2?permanent=true", 409, func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			rec := h.Do(t, request{Token: userToken, Method: get, URL: "/api/authors/2"})
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"bob"`) {
				t.Errorf("author 2 after a refused permanent delete: %d %s", rec.Code, rec.Body)
			}
		}),
		d("permanent=false is a soft delete", userToken, "/api/chapters/2?permanent=false", 200, func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			if n, deleted := rowCount(t, h.DB, "chapters", "deleted_at", 2); n != 1 || deleted != 1 {
				t.Errorf("chapter 2: %d rows, %d deleted; want it kept and marked", n, deleted)
			}
		}, `"softDeleted":true`),
		d("permanent=1 is refused", adminToken, "/api/chapters/2?permanent=1", 400, rows("chapters", 2, 1), fieldErr("permanent")),
		d("permanent=TRUE is refused", adminToken, "/api/chapters/2?permanent=TRUE", 400, rows("chapters", 2, 1), fieldErr("permanent")),
		d("empty permanent is refused", adminToken, "/api/chapters/2?permanent=", 400, rows("chapters", 2, 1), fieldErr("permanent")),
		d("permanent given twice", adminToken, "/api/chapters/2?permanent=true&permanent=true", 400, rows("chapters", 2, 1), fieldErr("permanent")),
		d("unknown query parameter", adminToken, "/api/chapters/2?force=true", 400, rows("chapters", 2, 1), fieldErr("force")),
		d("unknown query parameter next to permanent", adminToken, "/api/chapters/2?permanent=true&cascade=true", 400, rows("chapters", 2, 1), fieldErr("cascade")),
		d("unknown query parameter on a soft delete", userToken, "/api/chapters/2?includeDeleted=true", 400, func(t *testing.T, h *harness, _ *httptest.ResponseRecorder) {
			if _, deleted := rowCount(t, h.DB, "chapters", "deleted_at", 2); deleted != 0 {
				t.Errorf("chapter 2 was deleted")
			}
		}, fieldErr("includeDeleted")),
	))
}

func withHeaders(s scenario, headers map[string]string) scenario {
	s.ExpectedHeaders = headers
	return s
}
