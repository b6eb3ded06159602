package framework

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	swaggerui "github.com/swaggest/swgui/v5/static"

	"github.com/autoapi-go/autoapi/internal/handlers"
)

// docsPath is the path of the docs page under the prefix; its assets are
// under docsPath + "/".
const docsPath = "/docs"

// The page and its own script. Swagger UI itself comes from swgui's
// embedded copy; the page is the framework's own, so that it has no inline
// script and can be served with a strict Content-Security-Policy.
//
//go:embed docspage/page.html docspage/docs.js
var docsFiles embed.FS

// docsCSP is the docs page's Content-Security-Policy: everything it loads
// comes from the server, and scripts only from files (no inline script, no
// eval). Images also come from data: URLs, which Swagger UI's stylesheet
// uses for its icons. Swagger UI sets element styles through the DOM, which
// style-src does not restrict, so it needs no 'unsafe-inline' either. The
// page submits no form and is framed by no other page.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageFile is one file the docs page loads. Its body is read, unzipped
// and hashed on the first request for it, not in New: that costs some
// tens of milliseconds (Swagger UI's bundle is 1.4 MB unzipped), which an
// app that never serves the page should not pay, and after it every answer
// is a stored body.
type pageFile struct {
	contentType string
	// read returns the file as stored: gzipped when gzipped is set.
	read    func() ([]byte, error)
	gzipped bool

	once sync.Once
	err  error
	// body is the file; gz is it gzipped, for the files swgui ships
	// gzipped (nil for the others).
	body, gz []byte
	etag     string
}

// load reads, unzips and hashes the asset once.
func (as *pageFile) load() error {
	as.once.Do(func() {
		b, err := as.read()
		if err != nil {
			as.err = err
			return
		}
		as.body = b
		if as.gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err == nil {
				as.body, err = io.ReadAll(zr)
			}
			if err != nil {
				as.err = err
				return
			}
			as.gz = b
		}
		sum := sha256.Sum256(as.body)
		as.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	})
	return as.err
}

// docsFileList lists the files the docs page loads, by their name under the
// docs path: Swagger UI's stylesheet, bundle and icons, as swgui embeds
// them (the text ones gzipped), and the page's own script.
var docsFileList = []struct {
	name, contentType string
	// swgui is the file's name in swgui's files; "" for the page's own.
	swgui string
}{
	{"swagger-ui.css", "text/css; charset=utf-8", "swagger-ui.css.gz"},
	{"swagger-ui-bundle.js", "text/javascript; charset=utf-8", "swagger-ui-bundle.js.gz"},
	{"favicon-32x32.png", "image/png", "favicon-32x32.png"},
	{"favicon-16x16.png", "image/png", "favicon-16x16.png"},
	{"docs.js", "text/javascript; charset=utf-8", ""},
}

// docsEnabled reports whether the App serves the docs page.
func (a *App) docsEnabled() bool {
	return a.cfg.OpenAPI.Mode != DocumentOff && !a.cfg.OpenAPI.NoDocsPage
}

// docsSpecs are the routes of the docs page: the page, then one per asset,
// so that each is an operation of the table; none when the page is off.
func (a *App) docsSpecs() []handlers.Spec {
	if !a.docsEnabled() {
		return nil
	}
	names := make([]string, len(docsFileList))
	for i, f := range docsFileList {
		names[i] = f.name
	}
	return pageSpecs(handlers.OpDocs, "getDocs", docsPath, "docs page", names)
}

// pageSpecs are the routes of a page the App serves (the docs page, the
// admin page): the page at base, then each of its files below it, hidden
// from the OpenAPI document.
func pageSpecs(op handlers.Operation, id, base, page string, files []string) []handlers.Spec {
	spec := func(path, summary string) handlers.Spec {
		return handlers.Spec{
			Op: op, ID: id, Summary: summary, Method: http.MethodGet, Path: path, Hidden: true,
			Responses: []handlers.Response{{Status: http.StatusOK}, {Status: http.StatusNotModified}},
		}
	}
	specs := []handlers.Spec{spec(base, "The "+page)}
	for _, name := range files {
		specs = append(specs, spec(base+"/"+name, "A file of the "+page))
	}
	return specs
}

// docsPage serves the docs page and its assets.
type docsPage struct {
	page   *pageFile
	assets map[string]*pageFile
}

// newDocsPage renders the page for cfg and checks that every file it
// loads is there; the files are read on first use (see pageFile).
func newDocsPage(cfg OpenAPIConfig) (*docsPage, error) {
	tpl, err := template.ParseFS(docsFiles, "docspage/page.html")
	if err != nil {
		return nil, fmt.Errorf("framework: docs page: %w", err)
	}
	var page bytes.Buffer
	if err := tpl.Execute(&page, struct{ Title string }{cfg.Title}); err != nil {
		return nil, fmt.Errorf("framework: docs page: %w", err)
	}
	d := &docsPage{
		page: &pageFile{contentType: "text/html; charset=utf-8",
			read: func() ([]byte, error) { return page.Bytes(), nil }},
		assets: map[string]*pageFile{},
	}
	for _, f := range docsFileList {
		fsys, name := fs.FS(docsFiles), "docspage/"+f.name
		if f.swgui != "" {
			fsys, name = swaggerui.FS, f.swgui
		}
		if _, err := fs.Stat(fsys, name); err != nil {
			return nil, fmt.Errorf("framework: docs page: %s: %w", f.name, err)
		}
		d.assets[docsPath+"/"+f.name] = &pageFile{
			contentType: f.contentType,
			read:        func() ([]byte, error) { return fs.ReadFile(fsys, name) },
			gzipped:     strings.HasSuffix(name, ".gz"),
		}
	}
	return d, nil
}

// handler serves the operation of the table at path (under the prefix).
func (d *docsPage) handler(path string) echo.HandlerFunc {
	if path == docsPath {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", docsCSP)
			h.Set("Referrer-Policy", "no-referrer")
			return servePageFile(c, d.page)
		}
	}
	as, ok := d.assets[path]
	if !ok {
		panic(fmt.Sprintf("framework: the docs page has no file %s", path))
	}
	return func(c echo.Context) error { return servePageFile(c, as) }
}

// servePageFile answers with as: gzipped to a client that accepts it,
// else as it is; 304 when the client has it. The files change only with
// the binary, so a client keeps them but asks again each time (no-cache).
func servePageFile(c echo.Context, as *pageFile) error {
	if c.QueryString() != "" {
		return handlers.NewProblem(http.StatusBadRequest, "this page takes no query parameters")
	}
	if err := as.load(); err != nil {
		return fmt.Errorf("framework: docs page: %w", err)
	}
	req := c.Request()
	h := c.Response().Header()
	body, etag := as.body, as.etag
	if as.gz != nil {
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		if acceptsGzip(req.Header.Get(echo.HeaderAcceptEncoding)) {
			// Another representation: another tag.
			body, etag = as.gz, strings.TrimSuffix(etag, `"`)+`-gzip"`
			h.Set(echo.HeaderContentEncoding, "gzip")
		}
	}
	h.Set(echo.HeaderContentType, as.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if etagMatches(req.Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	if req.Method == http.MethodHead {
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, as.contentType, body)
}

// acceptsGzip reports whether an Accept-Encoding header value accepts
// gzip: listed, or matched by *, without q=0. Echo's Gzip middleware
// would compress the bundle again on every request; the files come
// compressed, so only the choice is made here.
func acceptsGzip(header string) bool {
	gzipQ, anyQ := -1.0, -1.0 // -1: not listed
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			gzipQ = q
		case "*":
			anyQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

// etagMatches reports whether an If-None-Match header value names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
