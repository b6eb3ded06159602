package framework_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestAdminPageLoadsOnlyFromTheServer: the admin page and the files it
// loads come from its server, under a strict Content-Security-Policy: no
// inline script or style, no other host named anywhere in them (the
// SVG's XML namespace is a name, not a request), and the API prefix
// handed to the script in a data attribute.
func TestAdminPageLoadsOnlyFromTheServer(t *testing.T) {
	h := subscriberHarness(t, nil)
	rec := h.Do(t, request{Method: http.MethodGet, URL: "/api/admin"})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /api/admin: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, directive+";") && !strings.HasSuffix(csp, directive) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, directive)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows unsafe code", csp)
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := url.Parse("http://example.com/api/admin")
	loaded := map[string]bool{}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		src := ""
		for _, a := range n.Attr {
			switch {
			case a.Key == "src" || a.Key == "href":
				src = a.Val
				u, err := page.Parse(a.Val)
				if err != nil || u.Host != page.Host {
					t.Errorf("<%s %s=%q>: not on the server", n.Data, a.Key, a.Val)
					continue
				}
				loaded[u.Path] = true
			case a.Key == "style" || strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s %s>: inline code, which the Content-Security-Policy forbids", n.Data, a.Key)
			case n.Data == "body" && a.Key == "data-api" && a.Val != "/api":
				t.Errorf("the page's API prefix is %q", a.Val)
			}
		}
		if (n.Data == "script" && src == "") || n.Data == "style" {
			t.Errorf("an inline <%s>, which the Content-Security-Policy forbids", n.Data)
		}
	}
	for _, path := range []string{"/api/admin/admin.js", "/api/admin/admin.css", "/api/admin/admin.svg"} {
		if !loaded[path] {
			t.Errorf("the page does not load %s", path)
			continue
		}
		rec := h.Do(t, request{Method: http.MethodGet, URL: path, Token: "no-such-token"})
		if rec.Code != http.StatusOK || rec.Header().Get("ETag") == "" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s with a bad token: %d %v", path, rec.Code, rec.Header())
		}
		body := strings.ReplaceAll(rec.Body.String(), `xmlns="http://www.w3.org/2000/svg"`, "")
		if found := absoluteURL.FindAllString(body, -1); len(found) > 0 {
			t.Errorf("%s names URLs %q", path, found)
		}
		for _, m := range cssURL.FindAllStringSubmatch(body, -1) {
			t.Errorf("%s loads %s", path, m[0])
		}
		if strings.HasSuffix(path, ".js") {
			// Row values are text: the script never parses strings as HTML.
			for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
				if strings.Contains(body, sink) {
					t.Errorf("the script uses %s", sink)
				}
			}
			if strings.Contains(body, "localStorage") {
				t.Error("the script uses localStorage; the token belongs in sessionStorage")
			}
		}
	}
	for _, c := range []struct{ method, url string }{
		{"GET", "/api/admin?x=1"},
		{"GET", "/api/admin/"},
		{"GET", "/api/admin/nothing.js"},
		{"POST", "/api/admin"},
	} {
		if rec := h.Do(t, request{Method: c.method, URL: c.url}); rec.Code < 400 {
			t.Errorf("%s %s: %d", c.method, c.url, rec.Code)
		}
	}
}

// TestAdminPageConfig: the page can be moved and turned off; without a
// document there is none; a bad path fails New, and no resource may take
// the page's path.
func TestAdminPageConfig(t *testing.T) {
	for name, c := range map[string]struct {
		configure func(*framework.Config)
		gone      []string
		served    string
	}{
		"Off":         {func(c *framework.Config) { c.Admin.Off = true }, []string{"/api/admin", "/api/admin/admin.js"}, ""},
		"DocumentOff": {func(c *framework.Config) { c.OpenAPI.Mode = framework.DocumentOff }, []string{"/api/admin"}, ""},
		"moved":       {func(c *framework.Config) { c.Admin.Path = "/console" }, []string{"/api/admin"}, "/api/console/admin.js"},
	} {
		h := subscriberHarness(t, c.configure)
		for _, path := range c.gone {
			if rec := h.Do(t, request{Method: http.MethodGet, URL: path}); rec.Code != http.StatusNotFound {
				t.Errorf("%s: GET %s: %d", name, path, rec.Code)
			}
		}
		if c.served != "" {
			if rec := h.Do(t, request{Method: http.MethodGet, URL: c.served}); rec.Code != http.StatusOK {
				t.Errorf("%s: GET %s: %d", name, c.served, rec.Code)
			}
		}
	}

	db := dbtest.Open(t)
	for _, bad := range []string{"admin", "/", "/a/b", "/a b", "/docs", "/purge", "/permissions", "/admin/"} {
		cfg := baseConfig(db)
		cfg.Admin.Path = bad
		if _, err := framework.New(cfg); err == nil || !strings.Contains(err.Error(), "Config.Admin.Path") {
			t.Errorf("Admin.Path %q: %v", bad, err)
		}
	}
	cfg := baseConfig(db)
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Widget](app, framework.WithName("admin")); err == nil || !strings.Contains(err.Error(), "admin page") {
		t.Errorf("a resource named admin beside the admin page: %v", err)
	}
	cfg.Admin.Off = true
	if app, err = framework.New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Widget](app, framework.WithName("admin")); err != nil {
		t.Errorf("a resource named admin without the admin page: %v", err)
	}
}
