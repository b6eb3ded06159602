package framework_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// referencePackages are the public packages docs/reference.md lists, by
// directory from the module root, and the internal types a user names
// through framework's aliases, whose exported methods and fields the
// reference lists too.
var referencePackages = []struct{ dir, name string }{
	{"framework", "framework"},
	{"framework/database", "database"},
	{"auth", "auth"},
	{"framework/dbtest", "dbtest"},
	{"internal/handlers", "handlers"},
}

// aliasedTypes are the internal types framework names by alias: their
// methods and fields are part of the public API.
var aliasedTypes = map[string]bool{"Context": true, "Event": true, "Member": true, "Operation": true, "HandlerFunc": true}

// TestReferenceListsTheExportedAPI keeps docs/reference.md true: each
// package's listing there is exactly its exported API as this test renders
// it, and every exported name has a doc comment. Run with
// AUTOAPI_UPDATE_REFERENCE=1 to rewrite the listings after a change.
func TestReferenceListsTheExportedAPI(t *testing.T) {
	path := filepath.Join("..", "docs", "reference.md")
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	updated := string(page)
	for _, p := range referencePackages {
		listing, undocumented := exportedAPI(t, filepath.Join("..", p.dir), p.name == "handlers")
		for _, name := range undocumented {
			t.Errorf("%s: exported %s has no doc comment", p.dir, name)
		}
		start, end := "<!-- api:"+p.dir+" -->\n", "<!-- /api -->"
		i := strings.Index(updated, start)
		if i < 0 {
			t.Errorf("%s has no %q section", path, strings.TrimSpace(start))
			continue
		}
		j := strings.Index(updated[i:], end)
		if j < 0 {
			t.Fatalf("%s: the %s section has no end marker", path, p.dir)
		}
		want := "```go\n" + listing + "```\n"
		got := updated[i+len(start) : i+j]
		if got != want {
			if os.Getenv("AUTOAPI_UPDATE_REFERENCE") == "" {
				t.Errorf("%s: the listing of %s is stale; rerun with AUTOAPI_UPDATE_REFERENCE=1.\n--- have\n%s--- want\n%s", path, p.dir, got, want)
			}
			updated = updated[:i+len(start)] + want + updated[i+j:]
		}
	}
	if updated != string(page) && os.Getenv("AUTOAPI_UPDATE_REFERENCE") != "" {
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// exportedAPI renders the exported declarations of the package in dir, one
// per line, as `go doc -short` does, with each type's exported methods
// under it; aliasedOnly keeps the types framework aliases and nothing
// else. It also returns the exported names without a doc comment.
func exportedAPI(t *testing.T, dir string, aliasedOnly bool) (string, []string) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range pkgs {
		for _, f := range p.Files {
			files = append(files, f)
		}
	}
	sort.Slice(files, func(i, j int) bool { return fset.File(files[i].Pos()).Name() < fset.File(files[j].Pos()).Name() })
	pkg, err := doc.NewFromFiles(fset, files, "example.com/"+dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var undocumented []string
	line := func(node any) string {
		var buf bytes.Buffer
		if err := (&printer.Config{Mode: printer.RawFormat}).Fprint(&buf, fset, node); err != nil {
			t.Fatal(err)
		}
		return collapse(buf.String())
	}
	check := func(name, comment string) {
		if strings.TrimSpace(comment) == "" {
			undocumented = append(undocumented, name)
		}
	}
	values := func(vs []*doc.Value, kw string) {
		for _, v := range vs {
			var names []string
			for _, spec := range v.Decl.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if n.IsExported() {
						names = append(names, n.Name)
					}
				}
			}
			if len(names) == 0 {
				continue
			}
			if v.Doc == "" {
				// A name in a group may carry its own comment.
				for _, spec := range v.Decl.Specs {
					vs := spec.(*ast.ValueSpec)
					if vs.Names[0].IsExported() && vs.Doc == nil && vs.Comment == nil {
						undocumented = append(undocumented, vs.Names[0].Name)
					}
				}
			}
			fmt.Fprintf(&b, "%s %s\n", kw, strings.Join(names, ", "))
		}
	}
	fn := func(f *doc.Func, indent string) {
		decl := *f.Decl
		decl.Body, decl.Doc = nil, nil
		check(f.Name, f.Doc)
		b.WriteString(indent + line(&decl) + "\n")
	}
	if !aliasedOnly {
		values(pkg.Consts, "const")
		values(pkg.Vars, "var")
		for _, f := range pkg.Funcs {
			fn(f, "")
		}
	}
	for _, typ := range pkg.Types {
		if aliasedOnly && !aliasedTypes[typ.Name] {
			continue
		}
		check(typ.Name, typ.Doc)
		spec := *typ.Decl.Specs[0].(*ast.TypeSpec)
		spec.Doc, spec.Comment = nil, nil
		switch st := spec.Type.(type) {
		case *ast.StructType:
			b.WriteString("type " + spec.Name.Name + typeParams(spec.TypeParams) + " struct {")
			var fields []string
			for _, fl := range st.Fields.List {
				for _, n := range fl.Names {
					if n.IsExported() {
						fields = append(fields, n.Name+" "+line(fl.Type))
					}
				}
				if len(fl.Names) == 0 {
					fields = append(fields, line(fl.Type))
				}
			}
			if len(fields) > 0 {
				b.WriteString(" " + strings.Join(fields, "; ") + " ")
			}
			b.WriteString("}\n")
		case *ast.InterfaceType:
			b.WriteString("type " + spec.Name.Name + " interface{ ... }\n")
		default:
			b.WriteString("type " + line(&spec) + "\n")
		}
		if !aliasedOnly {
			values(typ.Consts, "const")
			values(typ.Vars, "var")
			for _, f := range typ.Funcs {
				fn(f, "")
			}
		}
		for _, m := range typ.Methods {
			fn(m, "    ")
		}
	}
	return b.String(), undocumented
}

// typeParams renders a generic type's parameters, "[T any]".
func typeParams(l *ast.FieldList) string {
	if l == nil {
		return ""
	}
	var out []string
	for _, f := range l.List {
		var names []string
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
		var buf bytes.Buffer
		_ = printer.Fprint(&buf, token.NewFileSet(), f.Type)
		out = append(out, strings.Join(names, ", ")+" "+buf.String())
	}
	return "[" + strings.Join(out, ", ") + "]"
}

var spaces = regexp.MustCompile(`\s+`)

// collapse puts a printed declaration on one line.
func collapse(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }
