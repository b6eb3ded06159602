package framework_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// The conventions other than a nullable timestamp, mixed along one
// cascade: a post with a Unix-time column, its comments with a flag beside
// a timestamp, their votes with a Unix-time column again.

type UPost struct {
	bun.BaseModel `bun:"table:uposts"`

	ID        int64       `bun:"id,pk,autoincrement" json:"id"`
	Title     string      `bun:"title,notnull" json:"title"`
	Comments  []*UComment `bun:"rel:has-many,join:id=post_id" json:"comments,omitempty" autoapi:"cascade"`
	DeletedAt int64       `bun:"deleted_at" json:"deletedAt"`
}

type UComment struct {
	bun.BaseModel `bun:"table:ucomments"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	PostID    int64      `bun:"post_id,notnull" json:"postId"`
	Body      string     `bun:"body,notnull" json:"body"`
	Votes     []*UVote   `bun:"rel:has-many,join:id=comment_id" json:"votes,omitempty" autoapi:"cascade"`
	IsDeleted bool       `bun:"is_deleted" json:"isDeleted"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
	DeletedBy *int64     `bun:"deleted_by" json:"deletedBy"`
}

type UVote struct {
	bun.BaseModel `bun:"table:uvotes"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	CommentID int64  `bun:"comment_id,notnull" json:"commentId"`
	Up        bool   `bun:"up,notnull" json:"up"`
	DeletedAt uint64 `bun:"deleted_at" json:"deletedAt"`
}

// FMember is unique by email among live rows, deleted by a flag alone.
type FMember struct {
	bun.BaseModel `bun:"table:fmembers"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	Email     string `bun:"email,notnull" json:"email" autoapi:"unique"`
	IsDeleted bool   `bun:"is_deleted" json:"is_deleted"`
}

// UMember is unique by email among live rows, deleted by Unix time.
type UMember struct {
	bun.BaseModel `bun:"table:umembers"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	Email     string `bun:"email,notnull" json:"email" autoapi:"unique"`
	DeletedAt int64  `bun:"deleted_at" json:"deletedAt"`
}

// TestCascadesAcrossStrategies runs the cascade scenario over a chain whose
// every link records deletions differently, and compares after every step
// the totals of the counts table with counted ones.
func TestCascadesAcrossStrategies(t *testing.T) {
	ctx := context.Background()
	models := []func(*framework.App) error{registered[UPost](), registered[UComment](), registered[UVote]()}
	h := buildApp(t, appSpec{models: models})
	counted := buildApp(t, appSpec{db: h.DB, models: models, config: func(cfg *framework.Config) { cfg.ComputeCounts = true }})
	db := h.DB
	total := func(h *harness, url string) int64 {
		rec := h.Do(t, request{Token: adminToken, Method: "GET", URL: url})
		var body struct{ Meta struct{ Total *int64 } }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Meta.Total == nil {
			t.Fatalf("GET %s: %d %s", url, rec.Code, rec.Body.String())
		}
		return *body.Meta.Total
	}
	step := func(name, token, method, url, body string, status int) string {
		t.Helper()
		rec := h.Do(t, request{Token: token, Method: method, URL: url, Body: body})
		if rec.Code != status {
			t.Fatalf("%s: %s %s: %d %s, want %d", name, method, url, rec.Code, rec.Body.String(), status)
		}
		for _, r := range []string{"uposts", "ucomments", "uvotes"} {
			for _, q := range []string{"", "?includeDeleted=true", "?onlyDeleted=true"} {
				if got, want := total(h, "/api/"+r+q), total(counted, "/api/"+r+q); got != want {
					t.Fatalf("after %s: /api/%s%s total %d from the counts table, %d counted", name, r, q, got, want)
				}
			}
		}
		return rec.Body.String()
	}
	// Raw SQL, as another program would write: an earlier deletion time.
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, query, args...); err != nil {
			t.Fatal(err)
		}
	}
	step("post", userToken, "POST", "/api/uposts", `{"title":"t"}`, 201)
	for _, b := range []string{"c1", "c2", "c3"} {
		step("comment "+b, userToken, "POST", "/api/ucomments", `{"postId":1,"body":"`+b+`"}`, 201)
	}
	step("vote on c1", userToken, "POST", "/api/uvotes", `{"commentId":1,"up":true}`, 201)
	step("vote on c2", userToken, "POST", "/api/uvotes", `{"commentId":2,"up":false}`, 201)
	body := step("admin sees live flags", adminToken, "GET", "/api/ucomments/1", "", 200)
	if !strings.Contains(body, `"isDeleted":false,"deletedAt":null,"deletedBy":null`) {
		t.Fatalf("live comment: %s", body)
	}
	if body := step("user sees no deletion fields", userToken, "GET", "/api/ucomments/1", "", 200); strings.Contains(body, "isDeleted") || strings.Contains(body, "deletedAt") {
		t.Fatalf("user sees a deletion field: %s", body)
	}
	// c3 and vote 2 are deleted on their own, a day earlier.
	step("delete c3 alone", userToken, "DELETE", "/api/ucomments/3", "", 200)
	exec("UPDATE ucomments SET deleted_at = ? WHERE id = 3", seedDeleted)
	step("delete vote 2 alone", userToken, "DELETE", "/api/uvotes/2", "", 200)
	exec("UPDATE uvotes SET deleted_at = ? WHERE id = 2", seedDeleted.Unix())

	// Includes, lists and the trash view never show a user a deleted row
	// or a deletion field, whatever the convention.
	for _, url := range []string{"/api/uposts/1?include=comments.votes", "/api/uposts?include=comments", "/api/ucomments", "/api/ucomments?" + queryString("filter", "body = 'c3' || body = 'c1'")} {
		rec := h.Do(t, request{Token: userToken, Method: "GET", URL: url})
		for _, never := range []string{`"c3"`, `"id":2,"commentId"`, "isDeleted", "deletedAt", "deletedBy"} {
			if strings.Contains(rec.Body.String(), never) {
				t.Fatalf("user GET %s shows %s: %s", url, never, rec.Body.String())
			}
		}
	}
	step("user may not see the trash", userToken, "GET", "/api/ucomments?onlyDeleted=true", "", 403)
	step("user may not filter on the flag", userToken, "GET", "/api/ucomments?isDeleted=true", "", 400)
	step("admin filters on the flag", adminToken, "GET", "/api/ucomments?includeDeleted=true&isDeleted=true", "", 200)

	step("delete the post", userToken, "DELETE", "/api/uposts/1", "", 200)
	ids := func(table, cond string) []int64 {
		t.Helper()
		var out []int64
		if err := db.NewSelect().TableExpr(table).Column("id").Where(cond).Order("id").Scan(ctx, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := ids("ucomments", "is_deleted = FALSE"); len(got) != 0 {
		t.Fatalf("comments still live after the post's delete: %v", got)
	}
	if got := ids("ucomments", "(is_deleted = TRUE) <> (deleted_at IS NOT NULL) OR (is_deleted = TRUE) <> (deleted_by IS NOT NULL)"); len(got) != 0 {
		t.Fatalf("comments whose flag, time and deleted-by disagree: %v", got)
	}
	if got := ids("uvotes", "deleted_at = 0"); len(got) != 0 {
		t.Fatalf("votes still live: %v", got)
	}
	var stamp int64
	if err := db.NewSelect().TableExpr("uposts").Column("deleted_at").Scan(ctx, &stamp); err != nil || stamp == 0 {
		t.Fatalf("post's deletion time %d (%v)", stamp, err)
	}
	var same int
	if err := db.NewSelect().TableExpr("ucomments").ColumnExpr("count(*)").Where("deleted_at = ?", time.Unix(stamp, 0).UTC()).Scan(ctx, &same); err != nil || same != 2 {
		t.Fatalf("%d comments carry the post's deletion time (%v), want 2", same, err)
	}

	body = step("restore the post", adminToken, "POST", "/api/uposts/1/restore", "", 200)
	if !strings.Contains(body, `"deletedAt":0`) {
		t.Fatalf("restored post: %s", body)
	}
	if got := ids("ucomments", "is_deleted = FALSE AND deleted_at IS NULL AND deleted_by IS NULL"); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("live comments after restore %v, want [1 2] (c3 was deleted on its own)", got)
	}
	if got := ids("uvotes", "deleted_at = 0"); len(got) != 1 || got[0] != 1 {
		t.Fatalf("live votes after restore %v, want [1]", got)
	}
	step("restore again", adminToken, "POST", "/api/uposts/1/restore", "", 409)
	step("trash view, latest first", adminToken, "GET", "/api/ucomments?onlyDeleted=true", "", 200)
	step("bulk delete", userToken, "DELETE", "/api/ucomments?body[in]=c1,c2", "", 200)
	step("bulk restore", adminToken, "POST", "/api/ucomments/restore?body[in]=c1,c2,c3", "", 200)
	if got := ids("ucomments", "is_deleted = FALSE AND deleted_at IS NULL"); len(got) != 3 {
		t.Fatalf("live comments after the bulk restore %v, want [1 2 3]", got)
	}
	step("erase the post", adminToken, "DELETE", "/api/uposts/1?permanent=true", "", 200)
}

// TestUniqueAmongLiveRowsEveryStrategy checks that a deleted row frees its
// unique values, and a restore into a collision is refused, with a flag
// alone and with a Unix-time column.
func TestUniqueAmongLiveRowsEveryStrategy(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[FMember](), registered[UMember]()}})
	for _, base := range []string{"/api/fmembers", "/api/umembers"} {
		playSteps(t, h, []step{
			{"first", adminToken, "POST", base, `{"email":"a@x.io"}`, 201, `"id":1`, ""},
			{"same email while live", adminToken, "POST", base, `{"email":"a@x.io"}`, 409, fieldErr("email"), ""},
			{"delete the first", adminToken, "DELETE", base + "/1", "", 200, `"softDeleted":true`, ""},
			{"the email is free again", adminToken, "POST", base, `{"email":"a@x.io"}`, 201, "", ""},
			{"restoring the first collides", adminToken, "POST", base + "/1/restore", "", 409, fieldErr("email"), ""},
			{"free the email again", adminToken, "DELETE", base + "?email=a@x.io", "", 200, `"count":1`, ""},
			{"now the restore succeeds", adminToken, "POST", base + "/1/restore", "", 200, `"restored":true`, ""},
			{"the user sees one", userToken, "GET", base, "", 200, `"total":1`, "deleted"},
		})
	}
}

// TestPurgeEveryStrategy checks that purges find old deleted rows by each
// convention's deletion time, and that a flag alone, which records none,
// is purged only without an age.
func TestPurgeEveryStrategy(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	h := buildApp(t, appSpec{db: db, models: []func(*framework.App) error{registered[FMember](), registered[UMember](), registered[UComment](), registered[UPost]()}})
	old := time.Now().UTC().Add(-40 * 24 * time.Hour)
	for _, q := range []struct {
		query string
		args  []any
	}{
		{"INSERT INTO fmembers (email, is_deleted) VALUES ('live', FALSE), ('gone', TRUE)", nil},
		{"INSERT INTO umembers (email, deleted_at) VALUES ('live', 0), ('old', ?), ('recent', ?)", []any{old.Unix(), time.Now().Unix()}},
		{"INSERT INTO uposts (title, deleted_at) VALUES ('p', 0)", nil},
		{"INSERT INTO ucomments (post_id, body, is_deleted, deleted_at) VALUES (1, 'live', FALSE, NULL), (1, 'old', TRUE, ?), (1, 'recent', TRUE, ?)", []any{old, time.Now().UTC()}},
	} {
		if _, err := db.ExecContext(ctx, q.query, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.App.Purge(ctx, framework.PurgeOptions{Resource: "fmembers", OlderThan: time.Hour}); err == nil || !strings.Contains(err.Error(), "FMember") {
		t.Fatalf("purge by age of a flag alone: %v, want an error naming FMember", err)
	}
	for _, c := range []struct {
		resource string
		older    time.Duration
		removed  int64
		left     int64
	}{
		{"umembers", 30 * 24 * time.Hour, 1, 2},
		{"ucomments", 30 * 24 * time.Hour, 1, 2},
		{"fmembers", 0, 1, 1},
	} {
		counts, err := h.App.Purge(ctx, framework.PurgeOptions{Resource: c.resource, OlderThan: c.older})
		if err != nil || len(counts) != 1 || counts[0].Removed != c.removed {
			t.Fatalf("purge %s: %+v %v, want %d removed", c.resource, counts, err, c.removed)
		}
		if n, err := db.NewSelect().TableExpr(c.resource).Count(ctx); err != nil || n != c.left {
			t.Fatalf("%s: %d rows left (%v), want %d", c.resource, n, err, c.left)
		}
	}
}

// FlagParent records deletions with a flag alone, so it cannot cascade.
type FlagParent struct {
	bun.BaseModel `bun:"table:flag_parents"`

	ID        int64       `bun:"id,pk,autoincrement" json:"id"`
	Comments  []*UComment `bun:"rel:has-many,join:id=post_id" json:"comments,omitempty" autoapi:"cascade"`
	IsDeleted bool        `bun:"is_deleted" json:"isDeleted"`
}

// FlagChild is a cascade target that records deletions with a flag alone.
type FlagChild struct {
	bun.BaseModel `bun:"table:flag_children"`

	ID        int64 `bun:"id,pk,autoincrement" json:"id"`
	PostID    int64 `bun:"post_id,notnull" json:"postId"`
	IsDeleted bool  `bun:"is_deleted" json:"isDeleted"`
}

// TimeParent cascades to FlagChild.
type TimeParent struct {
	bun.BaseModel `bun:"table:time_parents"`

	ID        int64        `bun:"id,pk,autoincrement" json:"id"`
	Children  []*FlagChild `bun:"rel:has-many,join:id=post_id" json:"children,omitempty" autoapi:"cascade"`
	DeletedAt *time.Time   `bun:"deleted_at" json:"deletedAt"`
}

// TestFlagAloneCannotCascade checks that a cascade from or to a model
// that records deletions with a flag alone is refused at registration,
// naming the fields.
func TestFlagAloneCannotCascade(t *testing.T) {
	t.Parallel()
	app, err := framework.New(baseConfig(dbtest.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		register func(*framework.App, ...framework.Option) error
		want     []string
	}{
		{framework.Register[FlagParent], []string{"FlagParent", "Comments", "IsDeleted", "deletion timestamp"}},
		{framework.Register[TimeParent], []string{"TimeParent", "Children", "FlagChild", "IsDeleted"}},
	} {
		err := c.register(app)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("register: %v, want an error naming %s", err, w)
			}
		}
	}
}

// TestRowsWrittenOutsideAreLive: a table Migrate creates declares the flag
// and a Unix-time column NOT NULL with their live value as default, so a
// row another program inserts without them is live, and counted so.
func TestRowsWrittenOutsideAreLive(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[FMember](), registered[UMember]()}})
	ctx := context.Background()
	for _, c := range []struct{ table, base, column string }{
		{"fmembers", "/api/fmembers", "is_deleted"},
		{"umembers", "/api/umembers", "deleted_at"},
	} {
		if _, err := h.DB.ExecContext(ctx, "INSERT INTO "+c.table+" (email) VALUES ('raw@x.io')"); err != nil {
			t.Fatalf("%s: an insert without %s: %v", c.table, c.column, err)
		}
		if _, err := h.DB.ExecContext(ctx, "UPDATE "+c.table+" SET "+c.column+" = NULL"); err == nil {
			t.Errorf("%s: %s took a NULL", c.table, c.column)
		}
		playSteps(t, h, []step{
			{c.table + ": the row is live", userToken, "GET", c.base, "", 200, `"total":1`, ""},
			{c.table + ": and counted so", userToken, "GET", c.base + "?count=true&email=raw@x.io", "", 200, `"total":1`, ""},
			{c.table + ": none deleted", adminToken, "GET", c.base + "?onlyDeleted=true", "", 200, `"total":0`, ""},
		})
	}
}

// MFlagBefore and MFlagAfter are one table before and after it gains an
// is_deleted flag beside its deletion time.
type MFlagBefore struct {
	bun.BaseModel `bun:"table:mflags"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Name      string     `bun:"name,notnull" json:"name" autoapi:"unique"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

type MFlagAfter struct {
	bun.BaseModel `bun:"table:mflags"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Name      string     `bun:"name,notnull" json:"name" autoapi:"unique"`
	IsDeleted bool       `bun:"is_deleted" json:"isDeleted"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// TestMigrateAddsAFlag: a table that gains a flag beside its deletion time
// keeps its deleted rows deleted, and gets partial indexes whose predicate
// reads the flag, as the queries do.
func TestMigrateAddsAFlag(t *testing.T) {
	before := buildApp(t, appSpec{models: []func(*framework.App) error{registered[MFlagBefore](framework.WithName("mflags"))}})
	playSteps(t, before, []step{
		{"a live row", adminToken, "POST", "/api/mflags", `{"name":"a"}`, 201, "", ""},
		{"a row to delete", adminToken, "POST", "/api/mflags", `{"name":"b"}`, 201, "", ""},
		{"deleted", adminToken, "DELETE", "/api/mflags/2", "", 200, "", ""},
	})
	after := buildApp(t, appSpec{db: before.DB, models: []func(*framework.App) error{registered[MFlagAfter](framework.WithName("mflags"))}})
	playSteps(t, after, []step{
		{"the live row is live", userToken, "GET", "/api/mflags", "", 200, `"total":1`, `"name":"b"`},
		{"the deleted row stays deleted", adminToken, "GET", "/api/mflags?onlyDeleted=true", "", 200, `"isDeleted":true`, `"name":"a"`},
		{"its name is free", adminToken, "POST", "/api/mflags", `{"name":"b"}`, 201, "", ""},
		{"and taken among live rows", adminToken, "POST", "/api/mflags", `{"name":"a"}`, 409, fieldErr("name"), ""},
	})
	for _, name := range []string{"idx_mflags_live_is_deleted", "uq_mflags_name_is_deleted"} {
		var def string
		q := "SELECT sql FROM sqlite_master WHERE name = ?"
		if dbtest.Current() == dbtest.Postgres {
			q = "SELECT indexdef FROM pg_indexes WHERE indexname = ?"
		}
		if err := after.DB.QueryRowContext(context.Background(), q, name).Scan(&def); err != nil {
			t.Fatalf("index %s: %v", name, err)
		}
		if !strings.Contains(def, "is_deleted") {
			t.Errorf("index %s does not read the flag: %s", name, def)
		}
	}
}
