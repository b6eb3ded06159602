package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// TestDocsPageInBrowser opens the docs page of the example in Chromium and
// uses it as a reader would: the operations the anonymous caller may use
// are shown; every request the browser makes goes to the example's server;
// the page breaks no rule of its Content-Security-Policy and throws
// nothing; after Authorize with admin-token the page shows the admin's
// operations, and Try it out on one only the admin may use answers 200
// with the data; after Logout it shows the anonymous caller's again.
//
// It needs Chromium; without it the test is skipped, except under CI=true,
// where it fails.
func TestDocsPageInBrowser(t *testing.T) {
	t.Parallel() // it waits on an outside program: the other tests run meanwhile
	if dbtest.Current() != dbtest.SQLite {
		t.Skip("the page is the same on every engine: it is tested on SQLite")
	}
	e := newTestServer(t).E
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	server, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, seen := startBrowser(t, "the docs page")
	mu, requests, problems := &seen.mu, &seen.requests, &seen.problems

	const (
		listPosts  = "#operations-posts-listPosts"
		listUsers  = "#operations-users-listUsers"
		authorized = ".auth-wrapper .authorize.locked"
		modal      = ".dialog-ux .modal-ux"
	)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/api/docs"),
		chromedp.WaitVisible(css(listPosts)),
	); err != nil {
		t.Fatalf("open the docs page: %v", err)
	}
	// The anonymous caller may not list users: its document has no such
	// operation.
	if n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(listUsers), chromedp.AtLeast(0))); err != nil || len(n) > 0 {
		t.Errorf("the anonymous caller's page shows %s (%v)", listUsers, err)
	}

	// Authorize with the admin's token: the page fetches the document
	// again with it, and shows what the admin may do.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(".auth-wrapper .authorize")),
		chromedp.WaitVisible(css(modal)),
		chromedp.SendKeys(css(modal+" .auth-container input"), "admin-token"),
		chromedp.Click(css(modal+" .auth-container .auth-btn-wrapper .authorize")),
		chromedp.Click(css(modal+" .btn-done")),
		chromedp.WaitVisible(css(authorized)),
		chromedp.WaitVisible(css(listUsers)),
	); err != nil {
		t.Fatalf("authorize: %v", err)
	}

	// Try it out: GET /api/users, which only the admin may do.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(listUsers+" .opblock-summary-control")),
		chromedp.Click(css(listUsers+" .try-out__btn")),
		chromedp.Click(css(listUsers+" .execute")),
		chromedp.WaitVisible(css(listUsers+" .live-responses-table tr.response .response-col_status")),
	); err != nil {
		t.Fatalf("try it out: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("document.querySelector(%q).textContent", sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	status := text(listUsers + " .live-responses-table tr.response .response-col_status")
	body := text(listUsers + " .live-responses-table tr.response .response-col_description pre")
	if strings.TrimSpace(status) != "200" || !strings.Contains(body, "admin@example.com") {
		t.Errorf("Try it out on GET /api/users as the admin: status %q, body %s", status, body)
	}

	// Logout: the page goes back to the anonymous caller's document.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(".auth-wrapper .authorize")),
		chromedp.WaitVisible(css(modal)),
		// Where Authorize was: Logout.
		chromedp.Click(css(modal+" .auth-container .auth-btn-wrapper button.auth:not(.authorize):not(.btn-done)")),
		chromedp.Click(css(modal+" .btn-done")),
		chromedp.WaitNotPresent(css(listUsers)),
		chromedp.WaitVisible(css(listPosts)),
	); err != nil {
		t.Fatalf("logout: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range *problems {
		t.Errorf("the page: %s", p)
	}
	// Every request goes to the server; the document is fetched anonymous,
	// then again with the token, which Try it out sends too.
	var calls []string
	for _, r := range *requests {
		u, err := url.Parse(r.url)
		switch {
		case err != nil:
			t.Errorf("request to %q: %v", r.url, err)
		case u.Scheme == "data":
			// Swagger UI's icons, inside its stylesheet: nothing is fetched.
		case (u.Scheme == "http" || u.Scheme == "https") && u.Host == server.Host:
			call := r.method + " " + u.Path
			if r.authorization != "" {
				call += " (" + r.authorization + ")"
			}
			calls = append(calls, call)
		default:
			t.Errorf("the page made a request to another host: %s %s", r.method, r.url)
		}
	}
	for _, want := range []string{
		"GET /api/docs", "GET /api/docs/swagger-ui.css", "GET /api/docs/swagger-ui-bundle.js", "GET /api/docs/docs.js",
		"GET /api/openapi.json", "GET /api/openapi.json (Bearer admin-token)", "GET /api/users (Bearer admin-token)",
	} {
		if !slices.Contains(calls, want) {
			t.Errorf("the page never requested %s; it requested %q", want, calls)
		}
	}
}

// browserRequest is one request a page made.
type browserRequest struct{ method, url, authorization string }

// browserEvents is what a page did that a test checks: the requests it
// made, and its problems (exceptions, console errors, refusals by the
// Content-Security-Policy, failed requests, and dialogs such as alert).
type browserEvents struct {
	mu       sync.Mutex
	requests []browserRequest
	problems []string
}

// startBrowser starts a headless Chromium for a test of what (a page),
// and records what its pages do. Without Chromium the test is skipped,
// except under CI=true, where it fails. The browser stops with the test.
func startBrowser(t *testing.T, what string) (context.Context, *browserEvents) {
	t.Helper()
	browser := chromiumPath
	if _, err := os.Stat(browser); err != nil {
		if browser, err = exec.LookPath("chromium"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("Chromium is needed to test %s (apt-get install chromium): %v", what, err)
			}
			t.Skipf("Chromium is needed to test %s (apt-get install chromium): %v", what, err)
		}
	}
	// The machine may have no network: these flags keep Chromium from
	// reaching for its own services, so that every request it makes is
	// the page's.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() {
		cancel()
		cancelBrowser()
		cancelAlloc()
	})
	seen := &browserEvents{}
	err := chromedp.Listen(ctx, func(ev any) {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			authz, _ := ev.Request.Headers["Authorization"].(string)
			seen.requests = append(seen.requests, browserRequest{ev.Request.Method, ev.Request.URL, authz})
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			seen.problems = append(seen.problems, "exception: "+text)
		case *runtime.EventConsoleAPICalled:
			// Swagger UI warns of its own gaps (no component for a
			// format); an error is the page's.
			if ev.Type == "error" {
				var args []string
				for _, a := range ev.Args {
					args = append(args, strings.TrimSpace(string(a.Value)+" "+a.Description))
				}
				seen.problems = append(seen.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			// A refusal by the Content-Security-Policy is logged here, and
			// so is a failed request.
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				seen.problems = append(seen.problems, "log "+string(ev.Entry.Source)+": "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *page.EventJavascriptDialogOpening:
			// alert, confirm and prompt: the pages open none, so one is
			// script the page did not mean to run.
			seen.problems = append(seen.problems, "a "+string(ev.Type)+" dialog opened: "+ev.Message)
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, seen
}
