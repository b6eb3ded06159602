package framework_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/uptrace/bun"
	"go.yaml.in/yaml/v4"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
	"github.com/autoapi-go/autoapi/internal/apitest"
)

// Subscriber exercises the schema of a record: formats, nullability, read-only
// fields, validate tags and a hidden field.
type Subscriber struct {
	bun.BaseModel `bun:"table:subscribers"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Email     string     `bun:"email,notnull" json:"email" validate:"required,email"`
	Name      string     `bun:"name,notnull" json:"name" validate:"required,min=2,max=40"`
	Code      string     `bun:"code" json:"code" validate:"len=4"`
	Plan      string     `bun:"plan" json:"plan" validate:"oneof=free pro"`
	Level     int32      `bun:"level" json:"level" validate:"gte=1,lte=9"`
	Site      *string    `bun:"site" json:"site" validate:"omitempty,url"`
	Ref       string     `bun:"ref" json:"ref" validate:"uuid"`
	Nickname  *string    `bun:"nickname" json:"nickname"`
	OwnerID   string     `bun:"owner_id" json:"ownerId" autoapi:"owner"`
	Password  string     `bun:"password" json:"-"`
	CreatedAt time.Time  `bun:"created_at,notnull" json:"createdAt"`
	DeletedAt *time.Time `bun:"deleted_at,soft_delete,nullzero" json:"deletedAt"`
}

const subscriberPolicy = `
p, admin, *, *
p, user, subscribers, read
p, user, subscribers, create
p, user, subscribers, update:own
p, anonymous, widgets, read
`

// fetchDocument GETs path as token's caller and parses the document.
func fetchDocument(t *testing.T, h *harness, token, path string) (*openapi3.T, map[string]any) {
	t.Helper()
	rec := h.Do(t, request{Token: token, Method: http.MethodGet, URL: path})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	var raw map[string]any
	if strings.HasSuffix(path, ".yaml") {
		if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
			t.Errorf("Content-Type = %q", ct)
		}
		if err := yaml.Unmarshal(body, &raw); err != nil {
			t.Fatalf("yaml: %v", err)
		}
		if body, _ = json.Marshal(raw); body == nil {
			t.Fatal("yaml document does not convert to JSON")
		}
	} else if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("json: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	return doc, raw
}

func subscriberHarness(t *testing.T, configure func(*framework.Config)) *harness {
	t.Helper()
	db := dbtest.Open(t)
	cfg := baseConfig(db)
	cfg.Policy = subscriberPolicy
	if configure != nil {
		configure(&cfg)
	}
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, register := range []func(*framework.App, ...framework.Option) error{framework.Register[Subscriber], framework.Register[Widget]} {
		if err := register(app); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return newHarness(app, db)
}

// at walks a decoded JSON document along keys.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %v: %s is not in an object", keys, k)
		}
		if v, ok = m[k]; !ok {
			return nil
		}
	}
	return v
}

func TestOpenAPIRecordSchema(t *testing.T) {
	h := subscriberHarness(t, nil)
	_, raw := fetchDocument(t, h, adminToken, "/api/openapi.json")
	if v := at(t, raw, "openapi"); v != "3.1.0" {
		t.Errorf("openapi = %v", v)
	}
	props := func(schema string) map[string]any {
		p, _ := at(t, raw, "components", "schemas", schema, "properties").(map[string]any)
		if p == nil {
			t.Fatalf("no schema %s", schema)
		}
		return p
	}
	rec := props("Subscriber")
	type want struct {
		field, key string
		value      any
	}
	for _, w := range []want{
		{"id", "type", "integer"}, {"id", "format", "int64"}, {"id", "readOnly", true},
		{"email", "type", "string"}, {"email", "format", "email"}, {"email", "minLength", 1.0}, // required: not ""
		{"name", "minLength", 2.0}, {"name", "maxLength", 40.0},
		{"code", "minLength", 4.0}, {"code", "maxLength", 4.0},
		{"plan", "enum", []any{"free", "pro"}},
		{"level", "format", "int32"}, {"level", "minimum", 1.0}, {"level", "maximum", 9.0},
		{"ref", "format", "uuid"},
		{"site", "type", []any{"string", "null"}}, {"site", "format", nil}, // omitempty: "" passes
		{"nickname", "type", []any{"string", "null"}}, {"nickname", "nullable", nil},
		{"ownerId", "readOnly", true},
		{"createdAt", "format", "date-time"}, {"createdAt", "readOnly", true},
		{"deletedAt", "type", []any{"string", "null"}}, {"deletedAt", "format", "date-time"}, {"deletedAt", "readOnly", true},
	} {
		got := at(t, rec[w.field], w.key)
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(w.value)
		if string(gj) != string(wj) {
			t.Errorf("Subscriber.%s.%s = %s, want %s", w.field, w.key, gj, wj)
		}
	}
	for _, hidden := range []string{"password", "Password"} {
		if _, ok := rec[hidden]; ok {
			t.Errorf("hidden field %s is in the schema", hidden)
		}
	}
	create := at(t, raw, "components", "schemas", "SubscriberCreate").(map[string]any)
	if got, _ := json.Marshal(create["required"]); string(got) != `["email","name"]` {
		t.Errorf("SubscriberCreate.required = %s", got)
	}
	for _, readOnly := range []string{"id", "createdAt", "deletedAt"} {
		if _, ok := props("SubscriberCreate")[readOnly]; ok {
			t.Errorf("SubscriberCreate has read-only %s", readOnly)
		}
		if _, ok := props("SubscriberUpdate")[readOnly]; ok {
			t.Errorf("SubscriberUpdate has read-only %s", readOnly)
		}
	}
	if at(t, raw, "components", "schemas", "SubscriberUpdate", "required") != nil {
		t.Error("a patch requires nothing")
	}
	if strings.Contains(string(mustJSON(t, raw)), `"nullable"`) {
		t.Error("the document uses 3.0's nullable")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// operations lists "METHOD path" of every operation in a document.
func operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// Every operation is described and tagged with a tag the document lists,
// and a description speaks only of what the caller's document has.
func TestOpenAPIDescriptionsAndTags(t *testing.T) {
	h := subscriberHarness(t, nil)
	admin, _ := fetchDocument(t, h, adminToken, "/api/openapi.json")
	user, _ := fetchDocument(t, h, userToken, "/api/openapi.json")
	for name, doc := range map[string]*openapi3.T{"admin": admin, "user": user} {
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if op.Description == "" {
					t.Errorf("%s's %s %s has no description", name, method, path)
				}
				if len(op.Tags) != 1 {
					t.Errorf("%s's %s %s has tags %v, want one", name, method, path, op.Tags)
				}
				for _, tag := range op.Tags {
					if tg := doc.Tags.Get(tag); tg == nil || tg.Description == "" {
						t.Errorf("%s's %s %s: tag %s is not listed with a description", name, method, path, tag)
					}
				}
			}
		}
	}
	if got := admin.Paths.Find("/api/permissions").Get.Tags; !slices.Equal(got, []string{"permissions"}) {
		t.Errorf("GET /api/permissions has tags %v", got)
	}
	list := func(doc *openapi3.T) string { return doc.Paths.Find("/api/subscribers").Get.Description }
	if !strings.Contains(list(admin), "includeDeleted") || strings.Contains(list(user), "includeDeleted") {
		t.Errorf("a list's description speaks of includeDeleted to a caller without read_deleted, or not to one with it:\nadmin: %s\nuser: %s", list(admin), list(user))
	}
	if d := admin.Paths.Find("/api/subscribers/{id}").Delete.Description; !strings.Contains(d, "permanent=true") {
		t.Errorf("admin's delete does not tell of permanent=true: %s", d)
	}
}

func TestOpenAPIFollowsTheCaller(t *testing.T) {
	h := subscriberHarness(t, nil)
	admin, adminRaw := fetchDocument(t, h, adminToken, "/api/openapi.json")
	user, userRaw := fetchDocument(t, h, userToken, "/api/openapi.yaml")
	anon, anonRaw := fetchDocument(t, h, "", "/api/openapi.json")

	for _, c := range []struct {
		name     string
		doc      *openapi3.T
		has, not []string
	}{
		{"admin", admin, []string{
			"POST /api/subscribers", "PATCH /api/subscribers/{id}", "DELETE /api/subscribers/{id}", "DELETE /api/subscribers",
			"POST /api/subscribers/{id}/restore", "POST /api/subscribers/restore", "GET /api/permissions",
		}, []string{"GET /api/openapi.json", "GET /api/docs"}},
		{"user", user, []string{"GET /api/subscribers", "POST /api/subscribers", "PATCH /api/subscribers/{id}"},
			[]string{"DELETE /api/subscribers/{id}", "DELETE /api/subscribers", "POST /api/subscribers/{id}/restore", "POST /api/subscribers/restore"}},
		{"anonymous", anon, []string{"GET /api/widgets", "GET /api/permissions"},
			[]string{"GET /api/subscribers", "POST /api/subscribers", "POST /api/widgets", "POST /api/widgets/{id}/restore"}},
	} {
		ops := operations(c.doc)
		for _, op := range c.has {
			if !slices.Contains(ops, op) {
				t.Errorf("%s's document lacks %s", c.name, op)
			}
		}
		for _, op := range c.not {
			if slices.Contains(ops, op) {
				t.Errorf("%s's document has %s", c.name, op)
			}
		}
	}

	// Deletion fields and parameters only for read_deleted; permanent
	// only for hard_delete.
	if at(t, adminRaw, "components", "schemas", "Subscriber", "properties", "deletedAt") == nil {
		t.Error("admin's Subscriber schema lacks deletedAt")
	}
	if at(t, userRaw, "components", "schemas", "Subscriber", "properties", "deletedAt") != nil {
		t.Error("user's Subscriber schema shows deletedAt")
	}
	params := func(doc *openapi3.T, path, method string) []string {
		var out []string
		if item := doc.Paths.Find(path); item != nil && item.GetOperation(method) != nil {
			for _, p := range item.GetOperation(method).Parameters {
				out = append(out, p.Value.Name)
			}
		}
		return out
	}
	adminList, userList := params(admin, "/api/subscribers", http.MethodGet), params(user, "/api/subscribers", http.MethodGet)
	for _, p := range []string{"includeDeleted", "onlyDeleted", "deletedAt", "deletedAt[null]"} {
		if !slices.Contains(adminList, p) {
			t.Errorf("admin's list lacks %s", p)
		}
		if slices.Contains(userList, p) {
			t.Errorf("user's list has %s", p)
		}
	}
	for _, p := range []string{"filter", "sort", "fields", "limit", "offset", "page", "cursor", "count", "email", "email[like]", "level[gte]", "id[in]"} {
		if !slices.Contains(userList, p) {
			t.Errorf("user's list lacks %s", p)
		}
	}
	if !slices.Contains(params(admin, "/api/subscribers/{id}", http.MethodDelete), "permanent") {
		t.Error("admin's delete lacks permanent")
	}
	// Sort keys and sparse fields name no deletion field for the user.
	for _, p := range user.Paths.Find("/api/subscribers").Get.Parameters {
		if p.Value.Name == "sort" || p.Value.Name == "fields" {
			if strings.Contains(string(mustJSON(t, p.Value.Schema.Value.Items.Value.Enum)), "deletedAt") {
				t.Errorf("user's %s names deletedAt", p.Value.Name)
			}
		}
	}
	// The anonymous document describes no subscriber: it may only ask
	// what it may do on subscribers.
	for name := range at(t, anonRaw, "components", "schemas").(map[string]any) {
		if strings.HasPrefix(name, "Subscriber") {
			t.Errorf("the anonymous document has schema %s", name)
		}
	}
	// Every operation names its action and takes bearer tokens and JWTs.
	op := admin.Paths.Find("/api/subscribers/{id}/restore").Post
	if op.Extensions["x-autoapi-action"] != "restore" {
		t.Errorf("x-autoapi-action = %v", op.Extensions["x-autoapi-action"])
	}
	for _, scheme := range []string{"bearerAuth", "jwt"} {
		if admin.Components.SecuritySchemes[scheme] == nil {
			t.Errorf("no security scheme %s", scheme)
		}
	}
	if got := admin.Paths.Find("/api/subscribers").Post.Responses.Value("422"); got == nil {
		t.Error("create has no 422")
	} else if ct := got.Value; ct == nil && !strings.Contains(got.Ref, "Problem422") {
		t.Errorf("422 = %+v", got)
	}
}

func TestOpenAPIModes(t *testing.T) {
	full := subscriberHarness(t, func(c *framework.Config) { c.OpenAPI.Mode = framework.DocumentFull })
	doc, _ := fetchDocument(t, full, "", "/api/openapi.json")
	if doc.Paths.Find("/api/subscribers/{id}/restore") == nil {
		t.Error("the full document lacks restore")
	}
	off := subscriberHarness(t, func(c *framework.Config) { c.OpenAPI.Mode = framework.DocumentOff })
	for _, path := range []string{"/api/openapi.json", "/api/openapi.yaml"} {
		if rec := off.Do(t, request{Method: http.MethodGet, URL: path}); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s with DocumentOff: %d", path, rec.Code)
		}
	}
	if rec := full.Do(t, request{Method: http.MethodGet, URL: "/api/openapi.json?x=1"}); rec.Code != http.StatusBadRequest {
		t.Errorf("a query string: %d", rec.Code)
	}
	if _, err := framework.New(framework.Config{DB: full.DB, Policy: subscriberPolicy, OpenAPI: framework.OpenAPIConfig{Mode: 9}}); err == nil {
		t.Error("New accepts an unknown document mode")
	}
}

// Report is what the overridden list answers with.
type Report struct {
	Rows  int    `json:"rows"`
	Title string `json:"title,omitempty"`
}

func TestOpenAPIOverrides(t *testing.T) {
	db := dbtest.Open(t)
	cfg := baseConfig(db)
	cfg.Policy = subscriberPolicy
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Subscriber](app); err != nil {
		t.Fatal(err)
	}
	if err := app.Override("subscribers", framework.OpList, func(c *framework.Context) error {
		return c.JSON(http.StatusOK, Report{Rows: 1})
	}, framework.Responds(http.StatusOK, Report{})); err != nil {
		t.Fatal(err)
	}
	if err := app.Override("subscribers", framework.OpGet, func(c *framework.Context) error { return c.Default() }, framework.Responds(42, Report{})); err == nil {
		t.Error("Responds accepts status 42")
	}
	h := newHarness(app, db)
	doc, _ := fetchDocument(t, h, adminToken, "/api/openapi.json")
	list := doc.Paths.Find("/api/subscribers").Get
	if list.Extensions["x-autoapi-overridden"] != true {
		t.Error("the overridden list is not marked")
	}
	if list.Parameters == nil {
		t.Error("the overridden list lost its parameters")
	}
	schema := list.Responses.Value("200").Value.Content.Get("application/json").Schema.Value
	if schema.Properties["rows"] == nil || schema.Properties["data"] != nil {
		t.Errorf("the override's declared body is not described: %s", mustJSON(t, schema))
	}
	if doc.Paths.Find("/api/subscribers/{id}").Get.Extensions["x-autoapi-overridden"] != nil {
		t.Error("get is marked overridden")
	}
}

// TestOpenAPINamesNothingTheCallerCannotUse: a resource the caller holds
// no action on is absent from its document (paths, tags, schemas, the
// include names of other resources), and so is everything about deleted
// rows and permanent deletes where it lacks read_deleted or hard_delete.
func TestOpenAPINamesNothingTheCallerCannotUse(t *testing.T) {
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = `
p, anonymous, oreplies, read
p, user, othreads, read
p, user, othreads, hard_delete
`
		},
		models: []func(*framework.App) error{registered[OThread](), registered[OReply]()},
	})
	anon, anonRaw := fetchDocument(t, h, "", "/api/openapi.json")
	user, _ := fetchDocument(t, h, userToken, "/api/openapi.json")
	anonText, err := json.Marshal(anonRaw)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"othreads", "OThread", `"thread"`, "thread.", "deletedAt", "includeDeleted", "onlyDeleted", "restore", "permanent", "hard_delete", "x-autoapi-or-action"} {
		if strings.Contains(string(anonText), absent) {
			t.Errorf("the anonymous document mentions %s", absent)
		}
	}
	if anon.Tags.Get("othreads") != nil {
		t.Error("the anonymous document has the tag othreads")
	}
	if !slices.Contains(operations(anon), "GET /api/oreplies") {
		t.Error("the anonymous document lacks GET /api/oreplies")
	}

	// user holds hard_delete but not delete on threads: the delete is
	// there, as a permanent one only; replies, on which it holds
	// nothing, are not.
	del := user.Paths.Find("/api/othreads/{id}")
	if del == nil || del.Delete == nil {
		t.Fatalf("user's document lacks DELETE /api/othreads/{id}: %v", operations(user))
	}
	if got := del.Delete.Extensions["x-autoapi-or-action"]; got != "hard_delete" {
		t.Errorf("x-autoapi-or-action = %v, want hard_delete", got)
	}
	body, err := json.Marshal(del.Delete.Responses.Status(http.StatusOK))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "Record marked as deleted") || !strings.Contains(string(body), "Record permanently deleted") {
		t.Errorf("user's delete answers are not the permanent one alone: %s", body)
	}
	for _, op := range operations(user) {
		if strings.Contains(op, "oreplies") {
			t.Errorf("user's document has %s", op)
		}
	}
}

// Boxed is a generic model, registered once per type argument; it names
// its alias, which Register requires of a generic model whose type
// argument is of another package.
type Boxed[T int64 | *time.Time] struct {
	bun.BaseModel `bun:"table:boxes,alias:box"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Value     T          `bun:"value" json:"value"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// TestOpenAPIGenericModels checks that the schemas of a generic model
// have names OpenAPI accepts, one per instantiation, and that the
// document stays valid.
func TestOpenAPIGenericModels(t *testing.T) {
	t.Parallel()
	h := buildApp(t, appSpec{models: []func(*framework.App) error{
		registered[Boxed[int64]](framework.WithName("int_boxes")),
		registered[Boxed[*time.Time]](framework.WithName("time_boxes")),
	}})
	doc, _ := fetchDocument(t, h, adminToken, "/api/openapi.json")
	for _, name := range []string{"Boxed_int64", "Boxed_int64Create", "Boxed_int64Update", "Boxed_time.Time", "Boxed_time.TimeCreate"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("no schema %s among %v", name, slices.Sorted(maps.Keys(doc.Components.Schemas)))
		}
	}
}

// BenchmarkOpenAPIDocument builds the whole document of the basic app, as
// a caller with a permission set not seen before makes the app do.
func BenchmarkOpenAPIDocument(b *testing.B) {
	app, _ := basic.App(b, nil)
	for b.Loop() {
		if _, err := framework.FullDocument(app); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTreeWritesWhatKinWrites: the document Build writes, from its tree of
// plain values, is byte for byte what kin-openapi writes of the same
// document, whole and pruned for a reader.
func TestTreeWritesWhatKinWrites(t *testing.T) {
	t.Parallel()
	apps := map[string]*apitest.Fixture{"basic": basic}
	for _, s := range libStrategies {
		apps[s.name] = s.fixture
	}
	for name, f := range apps {
		app, _ := f.App(t, nil)
		for _, held := range [][]string{nil, {"read"}, {"read", "read_deleted", "restore"}, {"hard_delete"}} {
			built, kin, err := framework.DocumentTwice(app, held)
			if err != nil {
				t.Fatalf("%s %v: %v", name, held, err)
			}
			if !bytes.Equal(built, kin) {
				t.Errorf("%s %v: Build writes %d bytes, kin-openapi %d; they differ", name, held, len(built), len(kin))
			}
		}
	}
}
