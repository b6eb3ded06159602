package framework_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// cssURL matches what a stylesheet loads: url(...) and @import "...".
var cssURL = regexp.MustCompile(`url\(\s*['"]?([^'")]*)|@import\s+['"]([^'"]*)`)

// sourceMap matches a source map's URL in a script or stylesheet.
var sourceMap = regexp.MustCompile(`sourceMappingURL=([^\s*]+)`)

// absoluteURL matches an http or https URL in a script.
var absoluteURL = regexp.MustCompile(`https?://[^\s"'` + "`" + `)]*`)

// TestDocsPageLoadsOnlyFromTheServer: the docs page and every file it
// loads come from the server that serves it. The page's links and scripts
// are relative to it; the stylesheet loads nothing but data: URLs; the
// page's own script names no other host and turns off Swagger UI's
// validator, the one request to another host Swagger UI makes by itself.
// Which URLs the bundle's code fetches a static test cannot tell: the
// browser test of the example watches every request the page makes.
func TestDocsPageLoadsOnlyFromTheServer(t *testing.T) {
	h := subscriberHarness(t, nil)
	page, err := url.Parse("http://example.com/api/docs")
	if err != nil {
		t.Fatal(err)
	}
	rec := h.Do(t, request{Method: http.MethodGet, URL: page.Path})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET %s: %d %s", page.Path, rec.Code, rec.Header().Get("Content-Type"))
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, directive+";") && !strings.HasSuffix(csp, directive) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, directive)
		}
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		src := ""
		for _, a := range n.Attr {
			switch {
			case a.Key == "src" || a.Key == "href" || a.Key == "data-document":
				refs = append(refs, a.Val)
				src = a.Val
			case a.Key == "style" || strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s %s>: inline code, which the Content-Security-Policy forbids", n.Data, a.Key)
			}
		}
		if (n.Data == "script" && src == "") || n.Data == "style" {
			t.Errorf("an inline <%s>, which the Content-Security-Policy forbids", n.Data)
		}
	}
	want := map[string]bool{"/api/docs/swagger-ui.css": true, "/api/docs/swagger-ui-bundle.js": true, "/api/docs/docs.js": true, "/api/openapi.json": true}
	loaded := map[string]bool{}
	var load func(from *url.URL, ref string)
	load = func(from *url.URL, ref string) {
		if strings.HasPrefix(ref, "data:") {
			return
		}
		u, err := from.Parse(ref)
		if err != nil {
			t.Errorf("%s references %q: %v", from, ref, err)
			return
		}
		if u.Scheme != page.Scheme || u.Host != page.Host {
			t.Errorf("%s references %s, on another host", from, u)
			return
		}
		if u.RawQuery != "" || loaded[u.Path] {
			t.Errorf("%s references %s", from, u)
			return
		}
		loaded[u.Path] = true
		delete(want, u.Path)
		rec := h.Do(t, request{Method: http.MethodGet, URL: u.Path})
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s, which %s references: %d", u.Path, from, rec.Code)
			return
		}
		body := rec.Body.String()
		ct := rec.Header().Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "text/css"):
			for _, m := range cssURL.FindAllStringSubmatch(body, -1) {
				load(u, m[1]+m[2])
			}
		case strings.HasPrefix(ct, "text/javascript"):
			if strings.HasSuffix(u.Path, "/docs.js") {
				if found := absoluteURL.FindAllString(body, -1); len(found) > 0 {
					t.Errorf("the page's script names URLs %q", found)
				}
				if !regexp.MustCompile(`validatorUrl:\s*null`).MatchString(body) {
					t.Error("the page's script leaves Swagger UI's validator on: it would send the document to validator.swagger.io")
				}
			}
		}
		// A source map is fetched by the browser's developer tools only,
		// and swgui has none, but it would be from the server too.
		for _, m := range sourceMap.FindAllStringSubmatch(body, -1) {
			if ref, err := u.Parse(m[1]); err != nil || ref.Host != page.Host {
				t.Errorf("%s names the source map %s", u.Path, m[1])
			}
		}
	}
	for _, ref := range refs {
		load(page, ref)
	}
	for path := range want {
		t.Errorf("the page does not load %s", path)
	}
}

// TestDocsPageFiles: the files answer as a browser expects them: with
// their type, gzipped when the client accepts it (and only then), with an
// ETag a second request gets a 304 with, and to HEAD. The page and its
// files need no credentials, and a bad token does not keep anyone from
// them.
func TestDocsPageFiles(t *testing.T) {
	h := subscriberHarness(t, nil)
	plain := h.Do(t, request{Method: http.MethodGet, URL: "/api/docs/swagger-ui-bundle.js"})
	if plain.Code != http.StatusOK || plain.Header().Get("Content-Encoding") != "" || !strings.Contains(plain.Body.String(), "SwaggerUIBundle") {
		t.Fatalf("the bundle without Accept-Encoding: %d %q", plain.Code, plain.Header().Get("Content-Encoding"))
	}
	for _, c := range []struct {
		accept string
		gzip   bool
	}{
		{"gzip", true},
		{"br, gzip;q=0.5", true},
		{"*", true},
		{"gzip;q=0", false},
		{"*, gzip;q=0", false},
		{"br", false},
		{"identity", false},
	} {
		rec := h.Do(t, request{Method: http.MethodGet, URL: "/api/docs/swagger-ui-bundle.js", Headers: map[string]string{"Accept-Encoding": c.accept}})
		body := rec.Body.Bytes()
		if gz := rec.Header().Get("Content-Encoding") == "gzip"; gz != c.gzip {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", c.accept, rec.Header().Get("Content-Encoding"))
			continue
		} else if gz {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(body, plain.Body.Bytes()) {
			t.Errorf("Accept-Encoding %q: another bundle", c.accept)
		}
		if rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q", c.accept, rec.Header().Get("Vary"))
		}
	}
	for _, path := range []string{"/api/docs", "/api/docs/docs.js", "/api/docs/swagger-ui.css", "/api/docs/favicon-32x32.png"} {
		rec := h.Do(t, request{Method: http.MethodGet, URL: path, Token: "no-such-token"})
		etag := rec.Header().Get("ETag")
		if rec.Code != http.StatusOK || etag == "" || rec.Header().Get("Cache-Control") != "no-cache" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s with a bad token: %d, ETag %q, headers %v", path, rec.Code, etag, rec.Header())
			continue
		}
		again := h.Do(t, request{Method: http.MethodGet, URL: path, Headers: map[string]string{"If-None-Match": etag}})
		if again.Code != http.StatusNotModified || again.Body.Len() > 0 {
			t.Errorf("GET %s again with its ETag: %d", path, again.Code)
		}
		head := h.Do(t, request{Method: http.MethodHead, URL: path})
		if head.Code != http.StatusOK || head.Body.Len() > 0 || head.Header().Get("Content-Type") != rec.Header().Get("Content-Type") {
			t.Errorf("HEAD %s: %d %q", path, head.Code, head.Header().Get("Content-Type"))
		}
	}
	for _, c := range []struct{ method, url string }{
		{"GET", "/api/docs?x=1"},
		{"GET", "/api/docs/"},
		{"GET", "/api/docs/nothing.js"},
		{"GET", "/api/docs/swagger-ui-bundle.js.gz"},
		{"POST", "/api/docs"},
	} {
		if rec := h.Do(t, request{Method: c.method, URL: c.url}); rec.Code < 400 {
			t.Errorf("%s %s: %d", c.method, c.url, rec.Code)
		}
	}
}

// TestDocsPageOff: with NoDocsPage, or with no document, there is no page;
// with the page, no resource may take its path.
func TestDocsPageOff(t *testing.T) {
	for name, configure := range map[string]func(*framework.Config){
		"NoDocsPage":  func(c *framework.Config) { c.OpenAPI.NoDocsPage = true },
		"DocumentOff": func(c *framework.Config) { c.OpenAPI.Mode = framework.DocumentOff },
	} {
		h := subscriberHarness(t, configure)
		for _, path := range []string{"/api/docs", "/api/docs/docs.js"} {
			if rec := h.Do(t, request{Method: http.MethodGet, URL: path}); rec.Code != http.StatusNotFound {
				t.Errorf("%s: GET %s: %d", name, path, rec.Code)
			}
		}
		for _, r := range framework.TableOf(h.App) {
			if strings.HasPrefix(r.Path, "/api/docs") {
				t.Errorf("%s: the table has %s %s", name, r.Method, r.Path)
			}
		}
	}

	db := dbtest.Open(t)
	cfg := baseConfig(db)
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Widget](app, framework.WithName("docs")); err == nil || !strings.Contains(err.Error(), "docs page") {
		t.Errorf("a resource named docs beside the docs page: %v", err)
	}
	cfg.OpenAPI.NoDocsPage = true
	if app, err = framework.New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Widget](app, framework.WithName("docs")); err != nil {
		t.Errorf("a resource named docs without the docs page: %v", err)
	}
}
