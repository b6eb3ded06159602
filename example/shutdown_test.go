package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/autoapi-go/autoapi/framework/database"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestGracefulShutdown runs the example's server as main does and stops
// it as SIGTERM would (its context ends): a request in flight, whose body
// is still arriving, finishes with its answer; new connections are
// refused; serve returns, and the SQLite file holds the write with its
// write-ahead log folded in. Before that, a client that sends no headers
// is cut off after the read-header timeout.
func TestGracefulShutdown(t *testing.T) {
	if dbtest.Current() != dbtest.SQLite {
		t.Skip("the example's own server, on a SQLite file")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "shutdown.db")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-db", dbPath, "-access-log=false", "-read-header-timeout", "300ms", "-shutdown-timeout", "5s"}, w)
		w.Close()
	}()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatalf("the server printed nothing: %v", <-done)
	}
	m := regexp.MustCompile(`http://([^/]+)/api`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("no address in %q", lines.Text())
	}
	addr := m[1]
	go func() { _, _ = io.Copy(io.Discard, out) }()

	// A client that sends nothing is cut off.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = idle.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	if _, err := idle.Read(make([]byte, 1)); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("a silent client was kept for %v (%v)", time.Since(start), err)
	}
	idle.Close()

	// A create whose body is half sent when the server is told to stop.
	body := `{"title":"Sent during shutdown","content":"x"}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /api/posts HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer alice-token\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	time.Sleep(200 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted after the stop")
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 201") {
		t.Errorf("the request in flight: %q %v", status, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("the WAL holds %d bytes after the stop", fi.Size())
	}
	db, err := database.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM posts WHERE title = 'Sent during shutdown'").Scan(&n); err != nil || n != 1 {
		t.Errorf("the post sent during shutdown: %d %v", n, err)
	}
}

// TestBackupCommand copies the example's database with "example backup".
func TestBackupCommand(t *testing.T) {
	if dbtest.Current() != dbtest.SQLite {
		t.Skip("the backup command copies a SQLite file")
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "copy.db")
	if err := migrateOnce([]string{"-db", src}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := backupCommand([]string{"-db", src, "-to", dst}, &out); err != nil || !strings.Contains(out.String(), "backed up") {
		t.Fatalf("backup: %v %q", err, out.String())
	}
	db, err := database.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	var users int
	if err := db.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q %v", check, err)
	}
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM users").Scan(&users); err != nil || users != 3 {
		t.Errorf("the copy's users: %d %v", users, err)
	}
	if err := backupCommand([]string{"-db", src, "-to", dst}, &out); err == nil {
		t.Error("a backup over an existing file")
	}
}
