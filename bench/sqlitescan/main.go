// Command sqlitescan reproduces, with nothing but database/sql and
// modernc.org/sqlite, how concurrent scans of a large table slow down on
// that driver when connections read the file without a memory map, and
// how mmap_size takes it away (see docs/benchmarks.md, "SQLite tuned for a
// server"):
//
//	go run ./bench/sqlitescan                 # 1,000,000 rows, 8 connections
//	go run ./bench/sqlitescan -rows 200000 -clients 4
//	go run ./bench/sqlitescan -rows 100000 -candidates
//
// It writes a table of posts (every other one soft-deleted) to a new
// file, then, with mmap_size 0 and 256 MiB, times one count of a filter
// over the live rows on one connection alone, and then on each of
// -clients connections at once, and prints the mean time of a count and
// the ratio of the two. With -candidates it times instead, on one
// connection, the ways of answering a filtered page with its total that
// docs/benchmarks.md compares ("The total count"). With C SQLite (the sqlite3 shell in separate
// processes, or Python's sqlite3 with a connection per thread), 8 counts
// at once on 2 cores take about 4 times one alone, with or without the
// map, which is what sharing the CPU explains.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite"
)

const query = `SELECT count(*) FROM posts WHERE views > 50 AND title LIKE '%post 1%' AND deleted_at IS NULL`

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the table")
	clients := flag.Int("clients", 8, "connections counting at once")
	keep := flag.String("keep", "", "write the database to this file and keep it, to run the same count with other clients")
	candidates := flag.Bool("candidates", false, "time the ways of answering a filtered page with its total instead")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlitescan")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scan.db")
	if *keep != "" {
		path = *keep
	}
	if err := seed(ctx, path, *rows); err != nil {
		log.Fatal(err)
	}
	if *candidates {
		if err := compare(ctx, path, *rows); err != nil {
			log.Fatal(err)
		}
		return
	}
	fmt.Printf("%d rows, %d connections at once, %d CPUs, %s\n\n", *rows, *clients, runtime.NumCPU(), runtime.Version())
	fmt.Println("| mmap_size | one count alone | each of the counts at once | ratio |")
	fmt.Println("|---:|---:|---:|---:|")
	for _, mmap := range []int{0, 256 << 20} {
		alone, together, version, err := measure(ctx, path, mmap, *clients)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("| %d | %v | %v | %.1f |\n", mmap, alone.Round(time.Millisecond), together.Round(time.Millisecond), float64(together)/float64(alone))
		if mmap == 0 {
			defer fmt.Printf("\nSQLite %s through modernc.org/sqlite\n", version)
		}
	}
}

// seed writes the table in one statement.
func seed(ctx context.Context, path string, rows int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,
		title VARCHAR NOT NULL, content VARCHAR NOT NULL, views INTEGER NOT NULL,
		created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, deleted_at TIMESTAMP)`)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO posts SELECT i, 2 + i % 2, 'post ' || i, 'content of post ' || i, i % 100,
		'2026-01-01 00:00:00', '2026-01-01 00:00:00', CASE WHEN i % 2 = 0 THEN '2026-01-02 00:00:00' END FROM n`, rows)
	if err != nil {
		return err
	}
	// The indexes autoapi's Migrate gives a soft-deletable table: the
	// count walks the first and looks each row up in the table.
	for _, stmt := range []string{
		`CREATE INDEX idx_posts_deleted_at ON posts (deleted_at, id)`,
		`CREATE INDEX idx_posts_live ON posts (id) WHERE deleted_at IS NULL`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// measure returns the mean time of a count on one connection alone, and
// of each of clients counts at once, each on its own connection opened
// with mmap_size mmap.
func measure(ctx context.Context, path string, mmap, clients int) (alone, together time.Duration, version string, err error) {
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=journal_mode(WAL)&_pragma=mmap_size(%d)", path, mmap))
	if err != nil {
		return 0, 0, "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(clients)
	db.SetMaxIdleConns(clients)
	conns := make([]*sql.Conn, clients)
	for i := range conns {
		if conns[i], err = db.Conn(ctx); err != nil {
			return 0, 0, "", err
		}
		defer conns[i].Close()
	}
	if err := conns[0].QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
		return 0, 0, "", err
	}
	count := func(c *sql.Conn) (time.Duration, error) {
		start := time.Now()
		var n int
		err := c.QueryRowContext(ctx, query).Scan(&n)
		return time.Since(start), err
	}
	// Every connection counts once on its own first, as a server's pool
	// would have by then.
	for _, c := range conns {
		if _, err := count(c); err != nil {
			return 0, 0, "", err
		}
	}
	const rounds = 3
	for range rounds {
		d, err := count(conns[0])
		if err != nil {
			return 0, 0, "", err
		}
		alone += d / rounds
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := count(c)
			mu.Lock()
			defer mu.Unlock()
			together += d / time.Duration(clients)
			if err != nil && first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return alone, together, version, first
}

// compare prints the mean time, over 30 runs on one connection, of each
// way of answering the first page of 20 live posts matching the filter
// with its total.
func compare(ctx context.Context, path string, rows int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=mmap_size(268435456)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	const where = `WHERE views > 50 AND title LIKE '%post 1%' AND deleted_at IS NULL`
	const page = `SELECT * FROM posts ` + where + ` ORDER BY id LIMIT 21`
	ways := []struct {
		name  string
		stmts []string
	}{
		{"the page alone", []string{page}},
		{"the page, then count(*)", []string{page, `SELECT count(*) FROM posts ` + where}},
		{"one statement: count(*) OVER ()", []string{`SELECT *, count(*) OVER () FROM posts ` + where + ` ORDER BY id LIMIT 21`}},
		{"the page, then a count capped at 1,001", []string{page, `SELECT count(*) FROM (SELECT 1 FROM posts ` + where + ` LIMIT 1001)`}},
	}
	fmt.Printf("%d rows, one connection, means of 30\n\n| Way | Time |\n|---|---:|\n", rows)
	for _, w := range ways {
		const runs = 30
		var total time.Duration
		for i := range runs + 1 {
			start := time.Now()
			for _, q := range w.stmts {
				r, err := db.QueryContext(ctx, q)
				if err != nil {
					return err
				}
				for r.Next() {
				}
				if err := r.Close(); err != nil {
					return err
				}
			}
			if i > 0 { // the first run warms the cache
				total += time.Since(start)
			}
		}
		fmt.Printf("| %s | %.2f ms |\n", w.name, float64(total)/runs/1e6)
	}
	return nil
}
