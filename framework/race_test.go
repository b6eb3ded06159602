package framework_test

import (
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/autoapi-go/autoapi/framework"
)

// TestRacingDeletesAndRestores fires many deletes, then many restores, of
// one row at once, several rounds over: every transition has exactly one
// winner, the losers get 404 (delete) or 409 (restore), and nothing fails.
// Memos change in one statement; threads cascade to their replies in a
// transaction.
func TestRacingDeletesAndRestores(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{
		registered[Memo](), registered[Thread](), registered[Reply](), registered[Reaction](), registered[Watcher](),
	}})
	for _, r := range []request{
		{Token: userToken, Method: "POST", URL: "/api/memos", Body: `{"text":"m"}`},
		{Token: userToken, Method: "POST", URL: "/api/threads", Body: `{"title":"t"}`},
		{Token: userToken, Method: "POST", URL: "/api/replies", Body: `{"threadId":1,"body":"r"}`},
	} {
		if rec := h.Do(t, r); rec.Code != 201 {
			t.Fatalf("setup %s: %d %s", r.URL, rec.Code, rec.Body.String())
		}
	}
	const n, rounds = 12, 3
	for _, url := range []string{"/api/memos/1", "/api/threads/1"} {
		for round := 0; round < rounds; round++ {
			if got := race(n, "DELETE", url, userToken, h); got[200] != 1 || got[404] != n-1 {
				t.Fatalf("%s round %d: deletes %v, want one 200 and %d 404s", url, round, got, n-1)
			}
			if got := race(n, "POST", url+"/restore", adminToken, h); got[200] != 1 || got[409] != n-1 {
				t.Fatalf("%s round %d: restores %v, want one 200 and %d 409s", url, round, got, n-1)
			}
		}
	}
	// The reply followed its thread every time and is live again.
	if rec := h.Do(t, request{Token: userToken, Method: "GET", URL: "/api/replies/1"}); rec.Code != 200 {
		t.Fatalf("reply after the races: %d %s", rec.Code, rec.Body.String())
	}
}

// race sends n copies of one request at once, spread over the instances
// hs in turn, and counts the statuses.
func race(n int, method, url, token string, hs ...*harness) map[int]int {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
		got   = map[int]int{}
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(method, url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			<-start
			hs[i%len(hs)].E.ServeHTTP(rec, req)
			mu.Lock()
			got[rec.Code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return got
}
