package framework_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/internal/apitest"
)

// ---------------------------------------------------------------------------
// Test models. Every soft-delete model has ID, Name and Qty first, so the
// lifecycle scenarios can be shared; each one spells its soft-delete column
// differently and holds it in a different Go type.

// Widget is soft-deleted through Go name DeletedAt (JSON "deletedAt"), a
// time.Time without nullzero. It has both automatic timestamps and a
// json:"-" field.
type Widget struct {
	bun.BaseModel `bun:"table:widgets"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	Name      string    `bun:"name,notnull" json:"name"`
	Qty       int64     `bun:"qty,notnull" json:"qty"`
	Secret    string    `bun:"secret" json:"-"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"createdAt"`
	UpdatedAt time.Time `bun:"updated_at,notnull" json:"updatedAt"`
	DeletedAt time.Time `bun:"deleted_at" json:"deletedAt"`
}

// Gadget is soft-deleted through the column and JSON name "deleted_at" on
// an otherwise unconventionally named bun.NullTime field.
type Gadget struct {
	bun.BaseModel `bun:"table:gadgets"`

	ID        int64        `bun:"id,pk,autoincrement" json:"id"`
	Name      string       `bun:"name,notnull" json:"name"`
	Qty       int64        `bun:"qty,notnull" json:"qty"`
	Tombstone bun.NullTime `bun:"deleted_at" json:"deleted_at"`
}

// Ledger is soft-deleted through Go name DeletedDate (JSON "deletedDate"),
// a sql.NullTime, and has a snake_case creation timestamp.
type Ledger struct {
	bun.BaseModel `bun:"table:ledgers"`

	ID          int64        `bun:"id,pk,autoincrement" json:"id"`
	Name        string       `bun:"name,notnull" json:"name"`
	Qty         int64        `bun:"qty,notnull" json:"qty"`
	CreatedAt   time.Time    `bun:"created_at,notnull" json:"created_at"`
	DeletedDate sql.NullTime `bun:"deleted_date" json:"deletedDate"`
}

// Note is soft-deleted through a *time.Time carrying bun's soft_delete tag
// on a field no naming convention would find.
type Note struct {
	bun.BaseModel `bun:"table:notes"`

	ID         int64      `bun:"id,pk,autoincrement" json:"id"`
	Name       string     `bun:"name,notnull" json:"name"`
	Qty        int64      `bun:"qty,notnull" json:"qty"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull" json:"updated_at"`
	ArchivedAt *time.Time `bun:"archived_at,soft_delete,nullzero" json:"archivedAt"`
}

// Ticket is soft-deleted through a boolean flag alone, Go name IsDeleted
// (JSON "isDeleted"): false while live.
type Ticket struct {
	bun.BaseModel `bun:"table:tickets"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	Name      string `bun:"name,notnull" json:"name"`
	Qty       int64  `bun:"qty,notnull" json:"qty"`
	IsDeleted bool   `bun:"is_deleted,notnull,default:false" json:"isDeleted"`
}

// Draft is soft-deleted through the flag is_deleted beside a *time.Time
// deletion timestamp (JSON "deletedAt"); every write keeps them together.
type Draft struct {
	bun.BaseModel `bun:"table:drafts"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Name      string     `bun:"name,notnull" json:"name"`
	Qty       int64      `bun:"qty,notnull" json:"qty"`
	IsDeleted bool       `bun:"is_deleted" json:"is_deleted"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// Stamp is soft-deleted through an int64 deleted_at of Unix seconds, 0
// while live, as gorm.io/plugin/soft_delete stores it.
type Stamp struct {
	bun.BaseModel `bun:"table:stamps"`

	ID        int64  `bun:"id,pk,autoincrement" json:"id"`
	Name      string `bun:"name,notnull" json:"name"`
	Qty       int64  `bun:"qty,notnull" json:"qty"`
	DeletedAt int64  `bun:"deleted_at,notnull,default:0" json:"deletedAt"`
}

// Tag has no soft-delete column: DELETE removes the row.
type Tag struct {
	bun.BaseModel `bun:"table:tags"`

	ID   int64  `bun:"id,pk,autoincrement" json:"id"`
	Name string `bun:"name,notnull,unique" json:"name"`
	Qty  int64  `bun:"qty,notnull" json:"qty"`
}

// Country has a client-chosen string key. Its rows are seeded out of key
// order, so only an explicit ORDER BY returns them sorted.
type Country struct {
	bun.BaseModel `bun:"table:countries"`

	Code string `bun:"code,pk" json:"code"`
	Name string `bun:"name,notnull" json:"name"`
}

// modelSpec says what the shared scenarios need to know about a test model.
type modelSpec struct {
	resource   string // URL segment and casbin object
	table      string
	deletedKey string // JSON key of the soft-delete column; "" for hard deletes
	deletedCol string
	createdKey string // JSON key of the creation timestamp (column created_at), or ""
	updatedKey string // JSON key of the update timestamp (column updated_at), or ""
	anonRead   bool   // the policy lets anonymous callers read it
	// state is how the deletion columns read in JSON and are seeded, for
	// the conventions other than a nullable timestamp; nil for those.
	state *deletionState
}

var (
	widgets = modelSpec{resource: "widgets", table: "widgets", deletedKey: "deletedAt", deletedCol: "deleted_at", createdKey: "createdAt", updatedKey: "updatedAt", anonRead: true}
	gadgets = modelSpec{resource: "gadgets", table: "gadgets", deletedKey: "deleted_at", deletedCol: "deleted_at", anonRead: true}
	ledgers = modelSpec{resource: "ledgers", table: "ledgers", deletedKey: "deletedDate", deletedCol: "deleted_date", createdKey: "created_at"}
	notes   = modelSpec{resource: "notes", table: "notes", deletedKey: "archivedAt", deletedCol: "archived_at", updatedKey: "updated_at", anonRead: true}
	tickets = modelSpec{resource: "tickets", table: "tickets", deletedKey: "isDeleted", deletedCol: "is_deleted", anonRead: true, state: flagState}
	drafts  = modelSpec{resource: "drafts", table: "drafts", deletedKey: "deletedAt", deletedCol: "deleted_at", anonRead: true, state: flagBesideTimeState}
	stamps  = modelSpec{resource: "stamps", table: "stamps", deletedKey: "deletedAt", deletedCol: "deleted_at", anonRead: true, state: unixState}

	softDeleteModels = []modelSpec{widgets, gadgets, ledgers, notes, tickets, drafts, stamps}
)

// ---------------------------------------------------------------------------
// Principals and policy.

const (
	adminToken  = "admin-token"  // role admin: everything
	userToken   = "user-token"   // role user: read, create, update, delete
	readerToken = "reader-token" // role reader: read only
)

var tokens = auth.StaticTokens{
	adminToken:  {ID: "1", Roles: []string{"admin"}},
	userToken:   {ID: "2", Roles: []string{"user"}},
	readerToken: {ID: "3", Roles: []string{"reader"}},
}

// testPolicy grants anonymous callers read access to every resource but
// ledgers.
const testPolicy = `
p, admin, *, *
p, user, *, read
p, user, *, create
p, user, *, update
p, user, *, delete
p, reader, *, read
p, anonymous, widgets, read
p, anonymous, gadgets, read
p, anonymous, notes, read
p, anonymous, tags, read
p, anonymous, tickets, read
p, anonymous, drafts, read
p, anonymous, stamps, read
p, anonymous, countries, read
`

// ---------------------------------------------------------------------------
// Seed data.

var (
	seedCreated = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	seedDeleted = time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)
)

// seedDeletedJSON is seedDeleted as the API writes it.
const seedDeletedJSON = "2021-06-01T12:00:00Z"

// seedCreatedJSON is seedCreated as the API writes it.
const seedCreatedJSON = "2020-01-01T00:00:00Z"

// secretPrefix starts every value of the json:"-" field; no response may
// contain it.
const secretPrefix = "hidden-value-"

// seedNames are the names of rows 1..4 of every id-keyed model; row 4 is
// soft-deleted where the model can be.
var seedNames = []string{"alpha", "bravo", "charlie", "delta"}

// quietLogger discards the framework's logs so that expected 500s do not
// clutter the test output.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// baseConfig is the Config every test app starts from.
func baseConfig(db *bun.DB) framework.Config {
	return framework.Config{DB: db, Authenticator: tokens, Policy: testPolicy, Logger: quietLogger()}
}

// registerAll registers every test model on app.
func registerAll(app *framework.App, _ *bun.DB) error {
	for _, register := range []func(*framework.App, ...framework.Option) error{
		framework.Register[Widget],
		framework.Register[Gadget],
		framework.Register[Ledger],
		framework.Register[Note],
		framework.Register[Ticket],
		framework.Register[Draft],
		framework.Register[Stamp],
		framework.Register[Tag],
		framework.Register[Country],
	} {
		if err := register(app); err != nil {
			return err
		}
	}
	return nil
}

// basic is the app most tests start from: every test model, seeded.
var basic = &apitest.Fixture{Name: "basic", Config: baseConfig, Register: registerAll, Seed: seed}

// newTestApp returns an App with every test model registered, on a
// database with their tables migrated and seeded; routes are not mounted
// yet, so the caller may still add overrides.
func newTestApp(t *testing.T, configure func(*framework.Config)) (*framework.App, *bun.DB) {
	t.Helper()
	return basic.App(t, configure)
}

// seed inserts rows 1..4 into every soft-delete model (row 4 soft-deleted
// at seedDeleted), rows 1..3 into tags, and three countries out of key
// order. Rows are written as plain column maps so that seeding does not
// depend on the code under test.
func seed(t testing.TB, db *bun.DB) {
	t.Helper()
	ctx := context.Background()
	insert := func(table string, row map[string]any) {
		if _, err := db.NewInsert().Model(&row).TableExpr(table).Exec(ctx); err != nil {
			t.Fatalf("seed %s: %v", table, err)
		}
	}
	for _, m := range softDeleteModels {
		for i, name := range seedNames {
			row := map[string]any{"id": i + 1, "name": name, "qty": (i + 1) * 10}
			maps.Copy(row, m.seedColumns(i == 3))
			if m.createdKey != "" {
				row["created_at"] = seedCreated
			}
			if m.updatedKey != "" {
				row["updated_at"] = seedCreated
			}
			if m.table == "widgets" {
				row["secret"] = fmt.Sprintf("%s%d", secretPrefix, i+1)
			}
			insert(m.table, row)
		}
	}
	for i, name := range seedNames[:3] {
		insert("tags", map[string]any{"id": i + 1, "name": name, "qty": (i + 1) * 10})
	}
	for _, c := range [][2]string{{"se", "Sweden"}, {"de", "Germany"}, {"fr", "France"}} {
		insert("countries", map[string]any{"code": c[0], "name": c[1]})
	}
}

// ---------------------------------------------------------------------------
// Requests, harnesses and scenarios: the shared harness (internal/apitest),
// with this suite's fixture, secret and conformance check.

// request describes one HTTP request.
type request = apitest.Request

// harness is a mounted app; its Subject is the model a generated scenario
// is about, if any.
type harness = apitest.Harness[modelSpec]

// scenario is one request against a freshly built, seeded app.
type scenario = apitest.Scenario[modelSpec]

// suite builds this package's harnesses: responses never hold secretPrefix
// and conform to the app's OpenAPI document.
var suite = &apitest.Suite[modelSpec]{Fixture: basic, Secrets: []string{secretPrefix}, NewCheck: newConformance}

// newHarness mounts app, on db.
func newHarness(app *framework.App, db *bun.DB) *harness { return suite.Harness(app, db) }

// runScenarios runs each scenario as a parallel subtest with its own app
// and database.
func runScenarios(t *testing.T, scenarios []scenario) {
	t.Helper()
	suite.Run(t, scenarios)
}

// checkEnvelope checks what holds for every response (see
// apitest.CheckEnvelope), and that no seeded secret leaks.
func checkEnvelope(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	apitest.CheckEnvelope(t, rec, secretPrefix)
}

// ---------------------------------------------------------------------------
// Small helpers for bodies and follow-up checks.

// decode parses a JSON object body.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, body)
	}
	return m
}

// dataOf returns the "data" object of a single-record response.
func dataOf(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d, ok := decode(t, body)["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", body)
	}
	return d
}

// listOf returns the "data" array of a list response.
func listOf(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	raw, ok := decode(t, body)["data"].([]any)
	if !ok {
		t.Fatalf("no data array in %s", body)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i], _ = r.(map[string]any)
	}
	return out
}

// timeAt parses the RFC 3339 timestamp under key in obj.
func timeAt(t *testing.T, obj map[string]any, key string) time.Time {
	t.Helper()
	s, ok := obj[key].(string)
	if !ok {
		t.Fatalf("%q is %v, want a timestamp", key, obj[key])
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%q = %q: %v", key, s, err)
	}
	return ts
}

// inOrder returns an After check that the substrings occur in the body in
// the given order.
func inOrder(subs ...string) func(*testing.T, *harness, *httptest.ResponseRecorder) {
	return func(t *testing.T, _ *harness, rec *httptest.ResponseRecorder) {
		t.Helper()
		body := rec.Body.String()
		last := -1
		for _, s := range subs {
			i := strings.Index(body, s)
			if i < 0 || i < last {
				t.Errorf("want %q in order in %s", subs, body)
				return
			}
			last = i
		}
	}
}

// adminGet fetches a record as admin, deleted or not, and returns its data
// object (nil when the answer is not 200).
func adminGet(t *testing.T, h *harness, id string) map[string]any {
	t.Helper()
	rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: "/api/" + h.Subject.resource + "/" + id})
	if rec.Code != http.StatusOK {
		return nil
	}
	return dataOf(t, rec.Body.Bytes())
}

// rowCount counts the rows of table with the given id straight from the
// database, and how many of them have a non-NULL deleteCol (when given).
func rowCount(t *testing.T, db *bun.DB, table, deleteCol string, id any) (rows, deleted int) {
	t.Helper()
	ctx := context.Background()
	q := db.NewSelect().TableExpr(table).ColumnExpr("count(*)").Where("id = ?", id)
	if err := q.Scan(ctx, &rows); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	if deleteCol != "" {
		q = db.NewSelect().TableExpr(table).ColumnExpr("count(*)").Where("id = ?", id).Where("? IS NOT NULL", bun.Ident(deleteCol))
		if err := q.Scan(ctx, &deleted); err != nil {
			t.Fatalf("count deleted %s: %v", table, err)
		}
	}
	return rows, deleted
}

// clip shortens a body for a failure message.
func clip(body string) string { return apitest.Clip(body) }

// Shorthands for scenario expectations.

// fieldErr is the member of a problem's "errors" array naming field.
func fieldErr(field string) string { return `"errors":[{"field":"` + field + `"` }

// bearer is the challenge every 401 must carry.
var bearer = map[string]string{"WWW-Authenticate": "Bearer"}
