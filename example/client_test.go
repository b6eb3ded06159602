package main

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/util"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/modfile"

	"github.com/autoapi-go/autoapi/example/client"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestGeneratedClient plays the README's walk-through through the Go
// client generated from the example's OpenAPI document, against the
// example served on a real listener: a client that compiles against the
// document and talks to the server is what the document is for.
func TestGeneratedClient(t *testing.T) {
	_, e, err := newServer(context.Background(), demo.DB(t), options{logger: quietLogger(), skipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	ctx := context.Background()
	api, err := client.NewClientWithResponses(srv.URL, client.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	as := func(token string) client.RequestEditorFn {
		return func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}
	}
	status := func(step string, got *http.Response, body []byte, want int) {
		t.Helper()
		if got.StatusCode != want {
			t.Fatalf("%s: status %d, want %d; body %s", step, got.StatusCode, want, body)
		}
	}

	// Alice creates a post.
	created, err := api.CreatePostsWithResponse(ctx, client.PostCreate{
		UserId: ptr(int64(2)), Title: "Hello", Content: ptr("My first post"),
	}, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("create", created.HTTPResponse, created.Body, http.StatusCreated)
	post := created.JSON201.Data
	if post.Id == nil || *post.Title != "Hello" || *post.Content != "My first post" || *post.UserId != 2 || *post.Views != 0 || post.DeletedAt != nil {
		t.Fatalf("create: got %s", created.Body)
	}
	id := *post.Id
	if loc := created.HTTPResponse.Header.Get("Location"); loc != "/api/posts/1" || id != 1 {
		t.Fatalf("create: id %d, Location %q; want 1, /api/posts/1", id, loc)
	}

	// It is in the list.
	list, err := api.ListPostsWithResponse(ctx, nil, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("list", list.HTTPResponse, list.Body, http.StatusOK)
	if len(list.JSON200.Data) != 1 || *list.JSON200.Data[0].Id != id || *list.JSON200.Meta.Total != 1 {
		t.Fatalf("list: got %s", list.Body)
	}

	// She deletes it: a soft delete, since posts have a DeletedAt column.
	deleted, err := api.DeletePostsWithResponse(ctx, id, nil, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("delete", deleted.HTTPResponse, deleted.Body, http.StatusOK)
	soft, err := deleted.JSON200.AsDeletePosts200JSONResponseBody0()
	if err != nil || soft.Success != client.DeletePosts200JSONResponseBody0SuccessTrue || soft.SoftDeleted != client.DeletePosts200JSONResponseBody0SoftDeletedTrue || soft.Message != client.DeletePosts200JSONResponseBody0MessageRecordMarkedAsDeleted {
		t.Fatalf("delete: got %s (%v)", deleted.Body, err)
	}

	// Gone from the list.
	list, err = api.ListPostsWithResponse(ctx, nil, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("list after delete", list.HTTPResponse, list.Body, http.StatusOK)
	if len(list.JSON200.Data) != 0 || *list.JSON200.Meta.Total != 0 {
		t.Fatalf("list after delete: got %s", list.Body)
	}

	// In alice's trash view, as its owner; not in bob's.
	trash, err := api.ListPostsWithResponse(ctx, &client.ListPostsParams{OnlyDeleted: ptr(true)}, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("trash", trash.HTTPResponse, trash.Body, http.StatusOK)
	if len(trash.JSON200.Data) != 1 || *trash.JSON200.Data[0].Id != id || trash.JSON200.Data[0].DeletedAt == nil {
		t.Fatalf("trash: got %s", trash.Body)
	}
	bobs, err := api.ListPostsWithResponse(ctx, &client.ListPostsParams{IncludeDeleted: ptr(true)}, as(bob))
	if err != nil {
		t.Fatal(err)
	}
	status("bob's trash", bobs.HTTPResponse, bobs.Body, http.StatusOK)
	if len(bobs.JSON200.Data) != 0 {
		t.Fatalf("bob's trash: got %s", bobs.Body)
	}

	// Bob cannot restore it: not his, so answered like a missing row.
	notHis, err := api.RestorePostsWithResponse(ctx, id, nil, as(bob))
	if err != nil {
		t.Fatal(err)
	}
	status("restore by bob", notHis.HTTPResponse, notHis.Body, http.StatusNotFound)
	if p := notHis.ApplicationproblemJSON404; p == nil || p.Status != http.StatusNotFound || p.Detail == nil || *p.Detail != "posts 1 not found" {
		t.Fatalf("restore by bob: got %s", notHis.Body)
	}

	// Alice restores it.
	restored, err := api.RestorePostsWithResponse(ctx, id, nil, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("restore", restored.HTTPResponse, restored.Body, http.StatusOK)
	if r := restored.JSON200; r.Restored != client.RestorePosts200JSONResponseBodyRestoredTrue || *r.Data.Id != id || r.Data.DeletedAt != nil {
		t.Fatalf("restore: got %s", restored.Body)
	}

	// Once more: it is not deleted.
	again, err := api.RestorePostsWithResponse(ctx, id, nil, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("second restore", again.HTTPResponse, again.Body, http.StatusConflict)
	if p := again.ApplicationproblemJSON409; p == nil || p.Status != http.StatusConflict || p.Detail == nil || *p.Detail != "posts 1 is not deleted" {
		t.Fatalf("second restore: got %s", again.Body)
	}

	// What alice may do with posts.
	perms, err := api.GetPostsPermissionsWithResponse(ctx, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	status("permissions", perms.HTTPResponse, perms.Body, http.StatusOK)
	want := client.Scopes{"create": "own", "delete": "own", "read": "all", "read_deleted": "own", "restore": "own", "update": "own"}
	if got := perms.JSON200.Data; !maps.Equal(got, want) {
		t.Fatalf("permissions: got %v, want %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// oapiCodegenModule is the module of the generator, whose version the
// generated file's header names.
const oapiCodegenModule = "github.com/oapi-codegen/oapi-codegen/v2"

// TestGeneratedClientIsCurrent regenerates the document and the client in
// memory, as go generate would, and compares them with the committed
// files, so that a change to the API (or to the generator's version in
// go.mod) cannot leave the committed client behind.
func TestGeneratedClientIsCurrent(t *testing.T) {
	t.Parallel() // it waits on an outside program: the other tests run meanwhile
	if dbtest.Current() != dbtest.SQLite {
		// The document comes from the models alone, not the database.
		t.Skip("the same on every engine: checked on the SQLite run")
	}
	const regenerate = "run go generate ./example/client"

	doc, err := fullDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compareFile(t, filepath.Join("client", "openapi.json"), doc, regenerate)

	// The configuration, read as the oapi-codegen command reads it.
	raw, err := os.ReadFile(filepath.Join("client", "oapi-codegen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		codegen.Configuration `yaml:",inline"`
		Output                string `yaml:"output"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Configuration = cfg.Configuration.UpdateDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	version := moduleVersion(t, oapiCodegenModule)
	cfg.NoVCSVersionOverride = &version

	path := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := util.LoadSwaggerWithOverlay(path, util.LoadSwaggerWithOverlayOpts{Strict: true, AllowRemoteRefsFrom: cfg.AllowRemoteRefsFrom})
	if err != nil {
		t.Fatal(err)
	}
	code, err := codegen.Generate(spec, cfg.Configuration)
	if err != nil {
		t.Fatal(err)
	}
	// Run as a library, the generator names the module of the binary it
	// runs in, this one; the command names itself.
	header := regexp.MustCompile(`(?m)^// Code generated by \S+ version `)
	code = header.ReplaceAllLiteralString(code, "// Code generated by "+oapiCodegenModule+" version ")
	compareFile(t, filepath.Join("client", cfg.Output), []byte(code), regenerate)
}

// moduleVersion is the version of module that go.mod requires, the one
// `go tool oapi-codegen` runs. (A test binary's build information lists
// only the modules of the package under test, not those of its tests.)
func moduleVersion(t *testing.T, module string) string {
	t.Helper()
	const path = "../go.mod"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Replace {
		if r.Old.Path == module {
			t.Fatalf("go.mod replaces %s: the generated header would not name a release", module)
		}
	}
	for _, r := range f.Require {
		if r.Mod.Path == module {
			return r.Mod.Version
		}
	}
	t.Fatalf("go.mod does not require %s", module)
	return ""
}

// compareFile fails t unless the file at path holds want, naming the
// first line that differs.
func compareFile(t *testing.T, path string, want []byte, fix string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v; %s", path, err, fix)
		return
	}
	if bytes.Equal(got, want) {
		return
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("example/%s is stale: %s\nline %d is\n\t%s\nregenerated, it is\n\t%s", filepath.ToSlash(path), fix, i+1, g, w)
			return
		}
	}
}
