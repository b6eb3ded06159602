package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// browserPage drives one page in Chromium for a test; every failure
// stops the test with what was being done.
type browserPage struct {
	t   *testing.T
	ctx context.Context
}

// do runs actions, as the step what.
func (p browserPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](p browserPage, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor waits until the JavaScript expression js is true, as the step
// what. chromedp's Poll builds its predicate with new Function, which the
// page's Content-Security-Policy forbids, so this polls from Go.
func (p browserPage) waitFor(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string]("document.body.innerText"))
			p.t.Fatalf("%s: %s never held (%v); the page reads:\n%s", what, js, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the text of the first element sel matches, "" when none does.
func (p browserPage) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf("(document.querySelector(%q) || {textContent: ''}).textContent", sel))
}

// count is how many elements sel matches.
func (p browserPage) count(sel string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf("document.querySelectorAll(%q).length", sel))
}

// screenshot writes the page as docs/name when AUTOAPI_UPDATE_SCREENSHOTS
// is set: the pictures of docs/admin.md are taken by this test.
func (p browserPage) screenshot(name string) {
	p.t.Helper()
	if os.Getenv("AUTOAPI_UPDATE_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", name), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// signIn signs out whoever is signed in and signs in with token, from the
// keyboard: the token, then Enter.
func (p browserPage) signIn(token string) {
	p.t.Helper()
	if eval[bool](p, "!document.getElementById('signout').closest('[hidden]')") {
		p.do("sign out", chromedp.Click(chromedp.CSS("#signout")))
	}
	p.do("sign in as "+token,
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.Focus(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#signout")),
	)
	p.waitFor("the resources of "+token, "!document.body.hasAttribute('aria-busy') && document.querySelectorAll('#resources button').length > 0")
}

// open opens resource in view (live, all or trash) and waits for its rows.
func (p browserPage) open(resource, view string) {
	p.t.Helper()
	p.do("open "+resource, chromedp.Click(chromedp.CSS(fmt.Sprintf("#resources button[data-resource=%q]", resource))))
	p.waitFor("the title of "+resource, fmt.Sprintf("document.getElementById('resource-title').textContent === %q", resource))
	if !eval[bool](p, fmt.Sprintf("document.querySelector('#views input[value=%q]').checked", view)) {
		p.do("the "+view+" view of "+resource, chromedp.Click(chromedp.CSS(fmt.Sprintf("#views input[value=%q]", view))))
	}
	want := map[string]string{"live": "live rows", "all": "live and deleted rows", "trash": "deleted rows"}[view]
	p.waitFor(resource+" "+view, fmt.Sprintf("!document.getElementById('rows').hasAttribute('aria-busy') && document.getElementById('rows-caption').textContent.includes(%q)", want))
}

// row is the selector of the row of key in the table.
func row(key string) string { return fmt.Sprintf("#rows tbody tr[data-key=%q]", key) }

// TestAdminPageInBrowser uses the example's admin page in Chromium as its
// three kinds of user would, on the example's data: the admin restores a
// post and its cascaded comments come back, deletes an attachment for
// good, meets a restore conflict with the live row that causes it and
// purges the trash; alice sees only her own trash and no permanent
// delete; bob never sees alice's deleted post. A title that is HTML stays
// text. The page makes every request to its own server, breaks no rule of
// its Content-Security-Policy, throws nothing, opens no alert, keeps the
// token in sessionStorage only, labels every control, and fits 360 px.
//
// It needs Chromium; without it the test is skipped, except under CI=true,
// where it fails.
func TestAdminPageInBrowser(t *testing.T) {
	t.Parallel() // it waits on an outside program: the other tests run meanwhile
	if dbtest.Current() != dbtest.SQLite {
		t.Skip("the page is the same on every engine: it is tested on SQLite")
	}
	h := newTestServer(t)
	srv := httptest.NewServer(h.E)
	t.Cleanup(srv.Close)
	server, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	const xss = `<img src=x onerror=alert(1)>`
	play(t, h, []step{
		{name: "alice's post", token: alice, method: "POST", url: "/api/posts", body: `{"title":"Alice's trip","content":"x"}`, status: 201, expect: []string{`"id":1`}},
		{name: "her comment", token: alice, method: "POST", url: "/api/comments", body: `{"postId":1,"body":"first"}`, status: 201},
		{name: "bob's comment", token: bob, method: "POST", url: "/api/comments", body: `{"postId":1,"body":"second"}`, status: 201},
		{name: "a title that is HTML", token: alice, method: "POST", url: "/api/posts", body: `{"title":"<img src=x onerror=alert(1)>","content":"x"}`, status: 201, expect: []string{`"id":2`}},
		{name: "bob's post", token: bob, method: "POST", url: "/api/posts", body: `{"title":"Bob's draft","content":"x"}`, status: 201, expect: []string{`"id":3`}},
		{name: "an attachment", token: admin, method: "POST", url: "/api/attachments", body: `{"postId":3,"filename":"plan.pdf"}`, status: 201, expect: []string{`"id":1`}},
		{name: "alice deletes her trip", token: alice, method: "DELETE", url: "/api/posts/1", status: 200},
		{name: "its comments went with it", token: admin, method: "GET", url: "/api/comments?postId=1&onlyDeleted=true", status: 200, expect: []string{`"total":2`}},
		{name: "alice deletes the HTML one", token: alice, method: "DELETE", url: "/api/posts/2", status: 200},
		{name: "bob deletes his", token: bob, method: "DELETE", url: "/api/posts/3", status: 200},
		{name: "carol", token: admin, method: "POST", url: "/api/users", body: `{"name":"Carol","email":"carol@example.com"}`, status: 201, expect: []string{`"id":4`}},
		{name: "carol deleted", token: admin, method: "DELETE", url: "/api/users/4", status: 200},
		{name: "an invoice", token: alice, method: "POST", url: "/api/invoices", body: `{"number":"A-1","amount":100}`, status: 201, expect: []string{`"id":1`}},
		{name: "another", token: alice, method: "POST", url: "/api/invoices", body: `{"number":"A-2","amount":200}`, status: 201, expect: []string{`"id":2`}},
		{name: "both deleted", token: admin, method: "DELETE", url: "/api/invoices?userId=2", status: 200, expect: []string{`"count":2`}},
		{name: "her email taken again", token: admin, method: "POST", url: "/api/users", body: `{"name":"Carol Two","email":"carol@example.com"}`, status: 201, expect: []string{`"id":5`}},
	})

	var tags []step
	for i := 1; i <= 23; i++ {
		tags = append(tags, step{name: "a tag", token: admin, method: "POST", url: "/api/tags", body: fmt.Sprintf(`{"name":"tag %02d"}`, i), status: 201})
	}
	play(t, h, tags)

	ctx, seen := startBrowser(t, "the admin page")
	p := browserPage{t, ctx}
	p.do("open the admin page",
		chromedp.EmulateViewport(1440, 900),
		chromedp.Navigate(srv.URL+"/api/admin"),
		chromedp.WaitVisible(chromedp.CSS(`#resources button[data-resource="posts"]`)),
	)
	if p.count(`#resources button[data-resource="users"]`) != 0 {
		t.Errorf("the anonymous caller is offered users")
	}
	p.screenshot("admin-signin.png")

	// The admin.
	p.signIn(admin)
	p.waitFor("users for the admin", `document.querySelector('#resources button[data-resource="users"]')`)
	if got := eval[string](p, "sessionStorage.getItem('autoapi-admin-token')"); got != admin {
		t.Errorf("sessionStorage holds %q, want the token", got)
	}
	if n := eval[int](p, "localStorage.length"); n != 0 {
		t.Errorf("localStorage holds %d items; the token belongs in sessionStorage only", n)
	}
	p.open("posts", "trash")
	for _, key := range []string{"1", "2", "3"} {
		p.waitFor("deleted post "+key, "document.querySelector('"+row(key)+"')")
	}
	if got := p.text(row("2")); !strings.Contains(got, xss) {
		t.Errorf("the HTML title shows as %q", got)
	}
	if n := p.count("#rows img, #rows [onerror]"); n != 0 {
		t.Errorf("a title made %d elements", n)
	}
	p.screenshot("admin-trash.png")

	// A permanent delete says what it would erase; Escape cancels it.
	p.do("preview a permanent delete", chromedp.Click(chromedp.CSS(row("1")+` button[data-action="delete"]`)))
	p.waitFor("the permanent-delete confirmation", "document.getElementById('confirm').open && document.getElementById('confirm-body').textContent.includes('comments ×2')")
	p.do("cancel it from the keyboard", chromedp.KeyEvent("\x1b"))
	p.waitFor("the confirmation closes", "!document.getElementById('confirm').open")

	// A restore says which comments come back, and brings them.
	p.do("restore post 1", chromedp.Click(chromedp.CSS(row("1")+` button[data-action="restore"]`)))
	p.waitFor("the restore confirmation", "document.getElementById('confirm').open && document.getElementById('confirm-body').textContent.includes('comments ×2: 1, 2')")
	p.screenshot("admin-restore.png")
	p.do("confirm the restore", chromedp.Click(chromedp.CSS("#confirm-ok")))
	p.waitFor("the restore", "document.getElementById('status').textContent.includes('Restored posts 1')")
	p.waitFor("post 1 leaves the trash", "!document.querySelector('"+row("1")+"')")
	play(t, h, []step{
		{name: "the comments are back", token: admin, method: "GET", url: "/api/comments?postId=1", status: 200, expect: []string{`"total":2`}},
	})

	// An attachment's DELETE is the example's own code: the confirmation
	// says its effects cannot be listed, and the attachment goes.
	p.open("attachments", "live")
	p.waitFor("attachment 1", "document.querySelector('"+row("1")+"')")
	p.do("delete attachment 1", chromedp.Click(chromedp.CSS(row("1")+` button[data-action="delete"]`)))
	p.waitFor("its confirmation", "document.getElementById('confirm').open && document.getElementById('confirm-body').textContent.includes('cannot be undone')")
	p.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	p.waitFor("the attachment goes", "document.getElementById('status').textContent.includes('Deleted attachments 1 permanently')")
	play(t, h, []step{
		{name: "gone for good", token: admin, method: "GET", url: "/api/attachments/1?includeDeleted=true", status: 404},
	})

	// A selection: both invoices restored at once, then deleted for good.
	p.open("invoices", "trash")
	p.waitFor("the invoices", "document.querySelector('"+row("1")+"') && document.querySelector('"+row("2")+"')")
	// The deletion time, and who deleted the row where the model records it.
	if head := p.text("#rows thead"); !strings.Contains(head, "deletedDate") || !strings.Contains(head, "deletedBy") {
		t.Errorf("the trash of invoices has the columns %q", head)
	}
	if got := p.text(row("1")); !strings.Contains(got, "UTC") || !strings.Contains(got, "1") {
		t.Errorf("a deleted invoice reads %q", got)
	}
	p.do("select every row", chromedp.Click(chromedp.CSS(`#rows thead input[type="checkbox"]`)))
	p.waitFor("two selected", "document.getElementById('selected-count').textContent === '2 selected'")
	p.do("restore the selection", chromedp.Click(chromedp.CSS("#restore-selected")))
	p.waitFor("its confirmation", "document.getElementById('confirm').open && document.getElementById('confirm-body').textContent.includes('invoices ×2: 1, 2')")
	p.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	p.waitFor("the restore", "document.getElementById('status').textContent.includes('Restored 2 invoices')")
	play(t, h, []step{
		{name: "both live", token: alice, method: "GET", url: "/api/invoices", status: 200, expect: []string{`"total":2`}},
	})
	p.open("invoices", "live")
	p.waitFor("the live invoices", "document.querySelector('"+row("1")+"') && document.querySelector('"+row("2")+"')")
	p.do("select both", chromedp.Click(chromedp.CSS(`#rows thead input[type="checkbox"]`)))
	p.do("delete the selection for good", chromedp.Click(chromedp.CSS("#delete-selected")))
	p.waitFor("its confirmation", "document.getElementById('confirm').open && document.getElementById('confirm-body').textContent.includes('invoices ×2: 1, 2')")
	p.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	p.waitFor("the delete", "document.getElementById('status').textContent.includes('Deleted 2 invoices permanently')")
	play(t, h, []step{
		{name: "both gone", token: admin, method: "GET", url: "/api/invoices?includeDeleted=true", status: 200, expect: []string{`"total":0`}},
	})

	// A restore that collides with a live unique value names the field and
	// the live row that holds it, and restores nothing.
	p.open("users", "trash")
	p.waitFor("carol", "document.querySelector('"+row("4")+"')")
	p.do("restore carol", chromedp.Click(chromedp.CSS(row("4")+` button[data-action="restore"]`)))
	p.waitFor("the conflict", "document.getElementById('confirm').open && document.getElementById('confirm-title').textContent.includes('Cannot restore users 4')")
	body := p.text("#confirm-body")
	for _, want := range []string{"email: the value is already taken", "The live users 5 holds email carol@example.com"} {
		if !strings.Contains(body, want) {
			t.Errorf("the conflict reads %q, want %q in it", body, want)
		}
	}
	if p.count("#confirm-ok:not([hidden])") != 0 {
		t.Errorf("a conflict offers to go on")
	}
	p.screenshot("admin-conflict.png")
	p.do("close", chromedp.Click(chromedp.CSS("#confirm-cancel")))
	p.waitFor("closed", "!document.getElementById('confirm').open")

	// A permanent delete that other rows' references block says which.
	p.open("users", "live")
	p.waitFor("alice", "document.querySelector('"+row("2")+"')")
	p.do("delete alice for good", chromedp.Click(chromedp.CSS(row("2")+` button[data-action="delete"]`)))
	p.waitFor("the refusal", "document.getElementById('confirm').open && document.getElementById('confirm-title').textContent.includes('Cannot delete users 2 permanently') && document.getElementById('confirm-body').textContent.includes('still referenced by')")
	if p.count("#confirm-ok:not([hidden])") != 0 {
		t.Errorf("a blocked permanent delete offers to go on")
	}
	p.do("close", chromedp.Click(chromedp.CSS("#confirm-cancel")))
	p.waitFor("closed", "!document.getElementById('confirm').open")

	// Every visible control has a name a screen reader can say.
	unlabelled := eval[[]string](p, `[...document.querySelectorAll('input, button')]
		.filter((e) => !e.closest('[hidden]') && !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
		.map((e) => e.outerHTML)`)
	for _, e := range unlabelled {
		t.Errorf("a control has no label: %s", e)
	}

	// Alice: her own trash only, and no permanent delete.
	p.signIn(alice)
	if p.count(`#resources button[data-resource="users"]`) != 0 {
		t.Errorf("alice is offered users")
	}
	p.open("posts", "trash")
	p.waitFor("her deleted post", "document.querySelector('"+row("2")+"')")
	if p.count(row("3")) != 0 {
		t.Errorf("alice's trash shows bob's post")
	}
	if p.count(`button[data-action="delete"]`) != 0 || !eval[bool](p, "document.getElementById('delete-selected').hidden") {
		t.Errorf("alice is offered a permanent delete")
	}
	if p.count(row("2")+` button[data-action="restore"]`) != 1 {
		t.Errorf("alice cannot restore her own post")
	}
	if !eval[bool](p, "document.getElementById('purge').hidden") {
		t.Errorf("alice is offered a purge")
	}
	p.screenshot("admin-own-trash.png")

	// Bob: alice's deleted post is nowhere.
	p.signIn(bob)
	for _, view := range []string{"live", "all", "trash"} {
		p.open("posts", view)
		if view == "trash" {
			p.waitFor("his own deleted post", "document.querySelector('"+row("3")+"')")
		}
		if p.count(row("2")) != 0 || strings.Contains(eval[string](p, "document.body.innerText"), xss) {
			t.Errorf("bob's %s view shows alice's deleted post", view)
		}
	}

	// Sorting by a column, and paging by cursor: 23 tags are two pages.
	p.signIn(admin)
	p.open("tags", "live")
	p.do("sort by name", chromedp.Click(chromedp.CSS(`#rows thead button[title="Sort by name"]`)))
	p.waitFor("sorted ascending", `document.querySelector('#rows thead th[aria-sort="ascending"]') && !document.getElementById('rows').hasAttribute('aria-busy')`)
	if got := p.text("#rows tbody tr:first-child"); !strings.Contains(got, "tag 01") {
		t.Errorf("the first tag by name reads %q", got)
	}
	p.do("sort descending", chromedp.Click(chromedp.CSS(`#rows thead button[title="Sort by name"]`)))
	p.waitFor("sorted descending", `document.querySelector('#rows thead th[aria-sort="descending"]') && !document.getElementById('rows').hasAttribute('aria-busy')`)
	if got := p.text("#rows tbody tr:first-child"); !strings.Contains(got, "tag 23") {
		t.Errorf("the last tag by name reads %q", got)
	}
	p.do("the next page", chromedp.Click(chromedp.CSS("#next")))
	p.waitFor("page 2", "document.getElementById('rows-caption').textContent === '3 live rows, page 2'")
	if got := p.text("#rows tbody tr:first-child"); !strings.Contains(got, "tag 03") {
		t.Errorf("page 2 starts with %q", got)
	}
	if !eval[bool](p, "document.getElementById('next').disabled") {
		t.Errorf("the last page offers a next one")
	}
	p.do("back", chromedp.Click(chromedp.CSS("#prev")))
	p.waitFor("page 1", "document.getElementById('rows-caption').textContent === '20 live rows'")

	// A filter the API refuses shows its problem by the filter box.
	p.signIn(bob)
	p.open("posts", "trash")
	p.do("a bad filter",
		chromedp.SendKeys(chromedp.CSS("#filter"), "nope > 1"),
		chromedp.KeyEvent("\r"),
	)
	p.waitFor("the filter's problem", "!document.getElementById('filter-error').hidden && document.getElementById('filter-error').textContent.length > 0")

	// 360 px wide: nothing sticks out of the page; the table scrolls in
	// its frame.
	p.signIn(admin)
	p.do("narrow", chromedp.EmulateViewport(360, 760))
	p.open("posts", "all")
	if w := eval[int](p, "document.documentElement.scrollWidth"); w > 360 {
		t.Errorf("at 360 px the page is %d px wide", w)
	}
	p.screenshot("admin-narrow.png")
	p.do("wide", chromedp.EmulateViewport(1440, 900))

	// Purge: a dry run first, per resource, then the purge.
	p.do("preview a purge",
		chromedp.SetValue(chromedp.CSS("#purge-age"), "0s"),
		chromedp.Click(chromedp.CSS(`#purge-form button[type="submit"]`)),
	)
	p.waitFor("the purge preview", `document.querySelector('#purge-result tr[data-resource="posts"]')`)
	if got := p.text(`#purge-result tr[data-resource="posts"]`); got != "posts2" {
		t.Errorf("the purge preview of posts reads %q, want posts2", got)
	}
	p.screenshot("admin-purge.png")
	p.do("purge", chromedp.Click(chromedp.CSS("#purge-run")))
	p.waitFor("its confirmation", "document.getElementById('confirm').open")
	p.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	p.waitFor("the purge", "document.getElementById('purge-result').textContent.includes('Purged')")
	play(t, h, []step{
		{name: "the trash is empty", token: admin, method: "GET", url: "/api/posts?onlyDeleted=true", status: 200, expect: []string{`"total":0`}},
	})

	seen.mu.Lock()
	defer seen.mu.Unlock()
	// The browser logs the refusals the test asked for.
	expected := []string{
		"status of 409 (Conflict) " + srv.URL + "/api/users/4/restore/dry-run",
		"status of 409 (Conflict) " + srv.URL + "/api/users/2/deletion/dry-run",
		"status of 400 (Bad Request) " + srv.URL + "/api/posts?limit=20&count=false&filter=nope+%3E+1",
	}
	for _, p := range seen.problems {
		if !slices.ContainsFunc(expected, func(e string) bool { return strings.Contains(p, e) }) {
			t.Errorf("the page: %s", p)
		}
	}
	for _, r := range seen.requests {
		u, err := url.Parse(r.url)
		if err != nil || u.Host != server.Host {
			t.Errorf("the page made a request to another host: %s %s", r.method, r.url)
		}
		if r.authorization != "" && !strings.HasPrefix(r.authorization, "Bearer ") {
			t.Errorf("the page sent Authorization %q", r.authorization)
		}
	}
}
