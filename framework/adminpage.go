package framework

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/internal/handlers"
)

// The admin page: its HTML, stylesheet and script are the framework's own,
// built into the binary, with no build step and nothing loaded from
// another host.
//
//go:embed adminpage/page.html adminpage/admin.js adminpage/admin.css adminpage/admin.svg
var adminFiles embed.FS

// defaultAdminPath is AdminConfig.Path when it is not set.
const defaultAdminPath = "/admin"

// adminPathPattern is what AdminConfig.Path may be: one segment of
// letters, digits, '-' and '_', beside the resources' paths.
var adminPathPattern = regexp.MustCompile(`^/[A-Za-z0-9_-]+$`)

// adminCSP is the admin page's Content-Security-Policy: its script and
// stylesheet come from the server, it runs no inline script, calls only
// the server's API, submits no form (its forms are handled by the script)
// and is framed by no other page.
const adminCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// adminFileList lists the files the admin page loads, by their name under
// its path.
var adminFileList = []struct{ name, contentType string }{
	{"admin.js", "text/javascript; charset=utf-8"},
	{"admin.css", "text/css; charset=utf-8"},
	{"admin.svg", "image/svg+xml"},
}

// adminEnabled reports whether the App serves the admin page: it reads
// the caller's OpenAPI document, so there is none without one.
func (a *App) adminEnabled() bool {
	return a.cfg.OpenAPI.Mode != DocumentOff && !a.cfg.Admin.Off
}

// adminSpecs are the routes of the admin page: the page, then one per
// file; none when the page is off.
func (a *App) adminSpecs() []handlers.Spec {
	if !a.adminEnabled() {
		return nil
	}
	names := make([]string, len(adminFileList))
	for i, f := range adminFileList {
		names[i] = f.name
	}
	return pageSpecs(handlers.OpAdmin, "getAdmin", a.cfg.Admin.Path, "admin page", names)
}

// adminPage serves the admin page and its files.
type adminPage struct {
	path  string
	files map[string]*pageFile
}

// newAdminPage renders the page for cfg.
func newAdminPage(cfg Config) (*adminPage, error) {
	tpl, err := template.ParseFS(adminFiles, "adminpage/page.html")
	if err != nil {
		return nil, fmt.Errorf("framework: admin page: %w", err)
	}
	var page bytes.Buffer
	data := struct{ Title, Prefix, Base string }{cfg.OpenAPI.Title, cfg.Prefix, cfg.Prefix + cfg.Admin.Path}
	if err := tpl.Execute(&page, data); err != nil {
		return nil, fmt.Errorf("framework: admin page: %w", err)
	}
	p := &adminPage{path: cfg.Admin.Path, files: map[string]*pageFile{
		cfg.Admin.Path: {contentType: "text/html; charset=utf-8", read: func() ([]byte, error) { return page.Bytes(), nil }},
	}}
	for _, f := range adminFileList {
		name := "adminpage/" + f.name
		p.files[cfg.Admin.Path+"/"+f.name] = &pageFile{contentType: f.contentType, read: func() ([]byte, error) { return fs.ReadFile(adminFiles, name) }}
	}
	return p, nil
}

// handler serves the operation of the table at path (under the prefix).
// Like the docs page, it is not authenticated: it is the same for
// everyone, and holds no privilege; the caller's token goes with each API
// call it makes.
func (p *adminPage) handler(path string) echo.HandlerFunc {
	f, ok := p.files[path]
	if !ok {
		panic(fmt.Sprintf("framework: the admin page has no file %s", path))
	}
	if path != p.path {
		return func(c echo.Context) error { return servePageFile(c, f) }
	}
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", adminCSP)
		h.Set("Referrer-Policy", "no-referrer")
		return servePageFile(c, f)
	}
}
