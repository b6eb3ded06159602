// Package load holds the parts of a load test of the example that other
// programs reuse: building and serving the example, seeding its posts,
// and walking to a cursor. The load-test command (example/loadtest) and
// the comparison with PocketBase (bench/pocketbase) both drive the example
// through it.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework/database"
)

// BuildExample builds the example's binary into dir and returns its path.
// It is built in the framework's own module, with the versions its go.mod
// names, even when the program calling this is a module of its own.
func BuildExample(dir string) (string, error) {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/autoapi-go/autoapi").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	bin := filepath.Join(dir, "example")
	build := exec.Command("go", "build", "-o", bin, "./example")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Migrate creates the example's tables in dsn with the example's binary.
func Migrate(bin, dsn string) error {
	if out, err := exec.Command(bin, "migrate", "-db", dsn).CombinedOutput(); err != nil {
		return fmt.Errorf("example migrate: %v\n%s", err, out)
	}
	return nil
}

// Serve starts the example's binary on dsn at a free local address, with
// its access log on or off and env added to its environment (GOMAXPROCS=1,
// say), and returns the base URL of its API once it answers, and a
// function that stops it.
func Serve(bin, dsn string, accessLog bool, env ...string) (base string, stop func(), err error) {
	addr, err := FreeAddr()
	if err != nil {
		return "", nil, err
	}
	server := exec.Command(bin, "-db", dsn, "-addr", addr, "-migrate=false", "-access-log="+strconv.FormatBool(accessLog))
	server.Stdout, server.Stderr = io.Discard, os.Stderr
	server.Env = append(os.Environ(), env...)
	if err := server.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { _ = server.Process.Kill(); _ = server.Wait() }
	base = "http://" + addr + "/api"
	if err := WaitUp(base + "/posts?limit=1"); err != nil {
		stop()
		return "", nil, err
	}
	return base, stop, nil
}

// Seeded are the keys of the seeded posts: the live ones, and alice's live
// ones (up to 1,000).
type Seeded struct{ Live, Alices []int64 }

// Post is the i-th seeded post's values, the same for every server a
// comparison seeds: alternately alice's (user 2) and bob's (user 3), its
// title "post i", its views i % 100, and every other one deleted.
func Post(i int) (userID int64, title string, views int64, deleted bool) {
	return int64(2 + (i/2)%2), fmt.Sprintf("post %d", i), int64(i % 100), i%2 == 1
}

// Seed inserts n posts (see Post) and a comment on every tenth, all live,
// in one transaction, into the example's migrated database dsn.
func Seed(ctx context.Context, dsn string, n int) (Seeded, error) {
	db, err := database.Open(dsn)
	if err != nil {
		return Seeded{}, err
	}
	defer db.Close()
	now := time.Now().UTC()
	var ids Seeded
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		const batch = 500
		for start := 0; start < n; start += batch {
			var (
				values []string
				args   []any
			)
			for i := start; i < min(n, start+batch); i++ {
				user, title, views, del := Post(i)
				var deleted any
				if del {
					deleted = now
				}
				values = append(values, "(?, ?, ?, ?, ?, ?, ?)")
				args = append(args, user, title, "load", views, now, now, deleted)
			}
			q := "INSERT INTO posts (user_id, title, content, views, created_at, updated_at, deleted_at) VALUES " + strings.Join(values, ", ")
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO comments (post_id, user_id, body, created_at)
			SELECT id, user_id, 'a comment', created_at FROM posts WHERE id % 10 = 1`)
		return err
	})
	if err != nil {
		return ids, err
	}
	if database.IsPostgres(dsn) {
		// Statistics, as autovacuum would have gathered them by the time a
		// real table had this many rows: without them PostgreSQL plans for
		// an empty table.
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			return ids, err
		}
	}
	var rows []struct {
		ID     int64
		UserID int64
	}
	if err := db.NewSelect().TableExpr("posts").Column("id", "user_id").Where("deleted_at IS NULL").OrderExpr("id").Scan(ctx, &rows); err != nil {
		return ids, err
	}
	for _, r := range rows {
		ids.Live = append(ids.Live, r.ID)
		if r.UserID == 2 && len(ids.Alices) < 1000 {
			ids.Alices = append(ids.Alices, r.ID)
		}
	}
	return ids, nil
}

// FreeAddr returns a local TCP address nothing listens on.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// WaitUp waits up to 30 seconds for url to answer 200.
func WaitUp(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 30 s", url)
}

// MiddleCursor walks the live posts at base 100 a page, as the caller
// header names (a cursor works only for the caller it was given to),
// until skip are behind, and returns the cursor of the next page.
func MiddleCursor(base string, skip int, header http.Header) (string, error) {
	cursor := ""
	for seen := 0; seen < skip; seen += 100 {
		url := base + "/posts?count=false&limit=100"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		req.Header = header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return "", err
		}
		const key = `"nextCursor":"`
		i := bytes.Index(body, []byte(key))
		if i < 0 {
			if cursor == "" {
				return "", errors.New("no nextCursor in the first page")
			}
			break
		}
		rest := body[i+len(key):]
		cursor = string(rest[:bytes.IndexByte(rest, '"')])
	}
	return cursor, nil
}

// Ms writes d in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
