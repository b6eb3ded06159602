package main

// TestDocs runs the shell examples of README.md and docs/*.md as a reader
// would paste them, and compares what they print with what the page shows.
//
// How a page states its examples:
//
//   - A ```sh block (or ```bash, ```shell, ```console) that mentions
//     http://127.0.0.1:8080 runs. Others (go run, psql, go test, Go code,
//     SQL) do not. A block that mentions the address but cannot run here
//     has the line <!-- not run: why --> right before its fence.
//   - The runnable blocks of a page run in order, in one bash session, so a
//     shell variable set by one block (TOKEN=..., cursor=...) is there in
//     the next, against a server of the page's own: the example on a new
//     database (demo users seeded, embedded policy), at a random address
//     that replaces http://127.0.0.1:8080. A server start line on the page,
//     `go run ./example -jwt-secret S`, starts it with that JWT secret.
//     Inside a block, `go run ./example token ...` runs the example's
//     token command.
//   - A ```sh block's output is the ```json or plain ``` block right
//     after it (blank lines between are fine): what the block prints, for
//     all its commands together. In a ```console block, lines starting
//     with "$ " (and the lines a trailing "\", "|" or "&&" continues) are
//     the commands, the other lines their output. A block without output
//     is not compared, but each of its commands must succeed, so set-up
//     blocks use curl -fsS -o /dev/null, which fails on an error status.
//     A response in a shell comment (# {"data":...}) is an error: it
//     would never be compared.
//   - Output is a sequence of JSON values and HTTP heads (what curl -i
//     prints: a status line, headers, a blank line, then the body).
//     Status lines must be equal, each header shown must be sent with
//     that value (X-Request-Id and Date: any value), and JSON values must
//     have the same keys in the same order and the same values, except
//     that an RFC 3339 timestamp stands for any timestamp, "..." for any
//     string, and a "nextCursor" value for any cursor.
//
// The pages run on SQLite, and again on PostgreSQL with the rest of the
// suite when AUTOAPI_TEST_POSTGRES is set. They need bash, curl and sed,
// which Debian and most CI images have; without them the test is skipped,
// except under CI=true, where it fails.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// envRunExample makes the test binary act as the example's command, for
// the `go run ./example token` lines of the docs.
const envRunExample = "AUTOAPI_DOCS_RUN_EXAMPLE"

func init() {
	// Before testing parses its flags: os.Args are the example's.
	if os.Getenv(envRunExample) == "1" {
		main()
		os.Exit(0)
	}
}

// docsAddr is the address the docs' examples use.
const docsAddr = "http://127.0.0.1:8080"

func TestDocs(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to run the docs' examples: %v", tool, err)
			}
			t.Skipf("%s is needed to run the docs' examples: %v", tool, err)
		}
	}
	pages, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"../README.md"}, pages...)
	for _, page := range pages {
		t.Run(filepath.Base(page), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			runPage(t, page, parseBlocks(string(src)))
		})
	}
}

// A fence is one fenced block of a page.
type fence struct {
	line   int // 1-based line of the opening fence
	lang   string
	text   string
	skip   bool // preceded by <!-- not run: ... -->
	follow bool // nothing but blank lines between the previous block and this one
}

var fenceRe = regexp.MustCompile("^```([A-Za-z0-9_+-]*)\\s*$")

func parseBlocks(src string) []fence {
	lines := strings.Split(src, "\n")
	var out []fence
	lastEnd := -10 // line index of the previous closing fence
	prev := ""     // the last non-blank line outside blocks
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			if strings.TrimSpace(lines[i]) != "" {
				prev = strings.TrimSpace(lines[i])
			}
			continue
		}
		f := fence{line: i + 1, lang: m[1], skip: strings.HasPrefix(prev, "<!-- not run")}
		f.follow = lastEnd >= 0 && blank(lines[lastEnd+1:i])
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		f.text = strings.Join(body, "\n")
		out = append(out, f)
		lastEnd, prev = i, "```"
	}
	return out
}

func blank(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}

func isShell(lang string) bool {
	return lang == "sh" || lang == "bash" || lang == "shell" || lang == "console"
}

// A docStep is one runnable block and what it must print.
type docStep struct {
	line   int
	script string
	want   string
	check  bool // want holds the expected output
}

func docSteps(blocks []fence) (out []docStep, serverArgs []string) {
	for i, b := range blocks {
		if !isShell(b.lang) {
			continue
		}
		if !strings.Contains(b.text, docsAddr) {
			if a := serverStartArgs(b.text); a != nil && serverArgs == nil {
				serverArgs = a
			}
			continue
		}
		if b.skip {
			continue
		}
		s := docStep{line: b.line}
		if b.lang == "console" {
			s.script, s.want = splitConsole(b.text)
			s.check = strings.TrimSpace(s.want) != ""
		} else {
			s.script = b.text
			if i+1 < len(blocks) && blocks[i+1].follow && (blocks[i+1].lang == "" || blocks[i+1].lang == "json") {
				s.want, s.check = blocks[i+1].text, true
			}
		}
		out = append(out, s)
	}
	return out, serverArgs
}

// serverStartArgs are the flags of a `go run ./example -...` server start
// line in text, unquoted, or nil when there is none.
func serverStartArgs(text string) []string {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
		if len(f) < 4 || f[0] != "go" || f[1] != "run" || f[2] != "./example" || !strings.HasPrefix(f[3], "-") {
			continue
		}
		var args []string
		for _, a := range f[3:] {
			if strings.HasPrefix(a, "#") {
				break
			}
			args = append(args, strings.Trim(a, `'"`))
		}
		return args
	}
	return nil
}

func splitConsole(text string) (script, output string) {
	var cmds, outs []string
	cont := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case cont:
			cmds = append(cmds, line)
		case strings.HasPrefix(line, "$ "):
			cmds = append(cmds, strings.TrimPrefix(line, "$ "))
		default:
			outs = append(outs, line)
			continue
		}
		l := strings.TrimRight(line, " ")
		cont = strings.HasSuffix(l, "\\") || strings.HasSuffix(l, "|") || strings.HasSuffix(l, "&&")
	}
	return strings.Join(cmds, "\n"), strings.Join(outs, "\n")
}

func runPage(t *testing.T, page string, blocks []fence) {
	todo, serverArgs := docSteps(blocks)
	if len(todo) == 0 {
		return
	}
	// The page's server starts as its start line says, with the flags
	// that change what the API answers; the address and the database are
	// the test's.
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	f := addServeFlags(fs)
	if err := fs.Parse(serverArgs); err != nil {
		t.Fatalf("%s: the server start line: %v", page, err)
	}
	o := options{
		logger:       quietLogger(),
		cursorSecret: []byte(rand.Text()),
		jwtSecret:    []byte(*f.jwt.secret),
		skipMigrate:  true,
	}
	if _, err := f.ops.apply(&o, io.Discard); err != nil {
		t.Fatalf("%s: the server start line: %v", page, err)
	}
	_, e, err := newServer(t.Context(), demo.DB(t), o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	sh := startShell(t)
	for _, s := range todo {
		if l := outputInComment(s.script); l != "" {
			// Output in a comment would never be compared.
			t.Errorf("%s:%d: output shown in a comment (%s): show it in a json block after the block", page, s.line, l)
		}
		script := strings.ReplaceAll(s.script, docsAddr, srv.URL)
		got, stderr, failed := sh.run(t, script)
		where := fmt.Sprintf("%s:%d", page, s.line)
		if failed != "" {
			t.Errorf("%s: a command failed: %s\nstderr:\n%s\nstdout:\n%s", where, failed, stderr, got)
			continue
		}
		if !s.check {
			continue
		}
		if diffs := compareOutput(s.want, strings.ReplaceAll(got, srv.URL, docsAddr)); len(diffs) > 0 {
			t.Errorf("%s: the output differs from the page:\n  %s\ngot:\n%s\nwant:\n%s\nstderr:\n%s", where, strings.Join(diffs, "\n  "), got, s.want, stderr)
		}
	}
}

// outputInComment is a line of script that is a shell comment holding a
// response, if any.
func outputInComment(script string) string {
	for _, line := range strings.Split(script, "\n") {
		_, c, ok := strings.Cut(line, "# ")
		c = strings.TrimSpace(c)
		if ok && (strings.HasPrefix(c, "{") || strings.HasPrefix(c, "HTTP/")) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// shell is one bash session; the blocks of a page run in it in turn.
type shell struct {
	dir   string
	stdin io.WriteCloser
	lines *bufio.Scanner
	n     int
}

// preamble records each failing command of a block (the ERR trap, which
// fires where set -e would exit, without ending the session) and makes
// `go run ./example token` the example's token command.
const preamble = `set -o pipefail -E
trap '__rc=$?; [ ${#BASH_SOURCE[@]} -gt 0 ] && __docs_fail+="line $LINENO: $BASH_COMMAND (exit $__rc); "' ERR
go() {
	if [ "$1" = run ] && [ "$2" = ./example ] && [ "$3" = token ]; then
		shift 2
		AUTOAPI_DOCS_RUN_EXAMPLE=1 "$DOCS_EXAMPLE" "$@"
	else
		echo "only 'go run ./example token ...' runs in the docs test" >&2
		return 127
	fi
}
`

func startShell(t *testing.T) *shell {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "preamble.sh"), []byte(preamble), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		// The page says which secret the server and its tokens use.
		if !strings.HasPrefix(kv, "AUTOAPI_JWT_SECRET=") && !strings.HasPrefix(kv, envRunExample+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DOCS_EXAMPLE="+self)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	sh := &shell{dir: dir, stdin: stdin, lines: bufio.NewScanner(stdout)}
	fmt.Fprintf(stdin, "source %q\n", filepath.Join(dir, "preamble.sh"))
	return sh
}

// run runs script in the session and returns its stdout, its stderr and,
// when a command failed, which.
func (sh *shell) run(t *testing.T, script string) (stdout, stderr, failed string) {
	t.Helper()
	sh.n++
	base := filepath.Join(sh.dir, fmt.Sprintf("block%d", sh.n))
	if err := os.WriteFile(base+".sh", []byte(script+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := fmt.Sprintf("__docs_done_%d", sh.n)
	fmt.Fprintf(sh.stdin, "__docs_fail=\nsource %q </dev/null >%q 2>%q\nprintf '%%s' \"$__docs_fail\" >%q\necho %s\n",
		base+".sh", base+".out", base+".err", base+".fail", done)
	finished := make(chan bool, 1)
	go func() {
		for sh.lines.Scan() {
			if sh.lines.Text() == done {
				finished <- true
				return
			}
		}
		finished <- false
	}()
	select {
	case ok := <-finished:
		if !ok {
			t.Fatalf("the shell ended while running:\n%s", script)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the block did not finish within 30s:\n%s", script)
	}
	read := func(ext string) string {
		b, err := os.ReadFile(base + ext)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return read(".out"), read(".err"), read(".fail")
}

// An item is one thing an example prints: an HTTP head with or without a
// body, or a JSON value.
type item struct {
	status  string // "" for a bare JSON value
	headers [][2]string
	body    *node
}

// node is a JSON value with its object keys in order.
type node struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys  []string
	vals  []*node
	text  string // string, number or bool
	elems []*node
}

func parseOutput(s string) ([]item, error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var items []item
	for {
		s = strings.TrimLeft(s, " \t\n")
		if s == "" {
			return items, nil
		}
		var it item
		if strings.HasPrefix(s, "HTTP/") {
			head, rest, _ := strings.Cut(s, "\n\n")
			lines := strings.Split(head, "\n")
			it.status = strings.TrimSpace(lines[0])
			for _, l := range lines[1:] {
				if strings.TrimSpace(l) == "" {
					continue
				}
				name, value, ok := strings.Cut(l, ":")
				if !ok {
					return nil, fmt.Errorf("not a header line: %q", l)
				}
				it.headers = append(it.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
			}
			s = strings.TrimLeft(rest, " \t\n")
			if s == "" || strings.HasPrefix(s, "HTTP/") {
				items = append(items, it)
				continue
			}
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		n, err := decodeNode(dec)
		if err != nil {
			return nil, fmt.Errorf("not JSON or an HTTP head: %v, at %.60q", err, s)
		}
		it.body = n
		items = append(items, it)
		s = s[dec.InputOffset():]
	}
}

func decodeNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &node{kind: 'o'}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				val, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys, n.vals = append(n.keys, k.(string)), append(n.vals, val)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &node{kind: 'a'}
			for dec.More() {
				val, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, val)
			}
			_, err := dec.Token()
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", v)
	case string:
		return &node{kind: 's', text: v}, nil
	case json.Number:
		return &node{kind: 'n', text: v.String()}, nil
	case bool:
		return &node{kind: 'b', text: fmt.Sprint(v)}, nil
	case nil:
		return &node{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// compareOutput lists how got differs from want, by the rules at the top
// of this file.
func compareOutput(want, got string) []string {
	w, err := parseOutput(want)
	if err != nil {
		return []string{"the page's output: " + err.Error()}
	}
	g, err := parseOutput(got)
	if err != nil {
		return []string{"the output: " + err.Error()}
	}
	if len(w) != len(g) {
		return []string{fmt.Sprintf("%d responses, the page shows %d", len(g), len(w))}
	}
	var diffs []string
	for i := range w {
		at := fmt.Sprintf("response %d", i+1)
		if w[i].status != g[i].status {
			diffs = append(diffs, fmt.Sprintf("%s: status line %q, want %q", at, g[i].status, w[i].status))
		}
		for _, h := range w[i].headers {
			j := slices.IndexFunc(g[i].headers, func(x [2]string) bool { return strings.EqualFold(x[0], h[0]) })
			switch {
			case j < 0:
				diffs = append(diffs, fmt.Sprintf("%s: no %s header", at, h[0]))
			case strings.EqualFold(h[0], "X-Request-Id") || strings.EqualFold(h[0], "Date"):
			case g[i].headers[j][1] != h[1]:
				diffs = append(diffs, fmt.Sprintf("%s: %s: %s, want %s", at, h[0], g[i].headers[j][1], h[1]))
			}
		}
		switch {
		case (w[i].body == nil) != (g[i].body == nil):
			diffs = append(diffs, fmt.Sprintf("%s: body present %v, want %v", at, g[i].body != nil, w[i].body != nil))
		case w[i].body != nil:
			diffs = compareNode(diffs, at+": body", "", w[i].body, g[i].body)
		}
	}
	return diffs
}

func compareNode(diffs []string, path, key string, w, g *node) []string {
	if w.kind != g.kind {
		return append(diffs, fmt.Sprintf("%s is %s, want %s", path, kindName(g.kind), kindName(w.kind)))
	}
	switch w.kind {
	case 'o':
		if !slices.Equal(w.keys, g.keys) {
			return append(diffs, fmt.Sprintf("%s has keys %v, want %v", path, g.keys, w.keys))
		}
		for i, k := range w.keys {
			diffs = compareNode(diffs, path+"."+k, k, w.vals[i], g.vals[i])
		}
	case 'a':
		if len(w.elems) != len(g.elems) {
			return append(diffs, fmt.Sprintf("%s has %d elements, want %d", path, len(g.elems), len(w.elems)))
		}
		for i := range w.elems {
			diffs = compareNode(diffs, fmt.Sprintf("%s[%d]", path, i), key, w.elems[i], g.elems[i])
		}
	case 's':
		switch {
		case w.text == "...":
		case key == "nextCursor":
			if g.text == "" {
				diffs = append(diffs, fmt.Sprintf("%s is empty", path))
			}
		case isTimestamp(w.text):
			if !isTimestamp(g.text) {
				diffs = append(diffs, fmt.Sprintf("%s is %q, want a timestamp", path, g.text))
			}
		case w.text != g.text:
			diffs = append(diffs, fmt.Sprintf("%s is %q, want %q", path, g.text, w.text))
		}
	default:
		if w.text != g.text {
			diffs = append(diffs, fmt.Sprintf("%s is %s, want %s", path, g.text, w.text))
		}
	}
	return diffs
}

func kindName(k byte) string {
	return map[byte]string{'o': "an object", 'a': "an array", 's': "a string", 'n': "a number", 'b': "a boolean", 'z': "null"}[k]
}

func isTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// TestDocsComparison pins the comparison rules the docs rely on.
func TestDocsComparison(t *testing.T) {
	for _, c := range []struct {
		name, want, got string
		ok              bool
	}{
		{"same", `{"a":1}`, `{"a":1}`, true},
		{"value", `{"a":1}`, `{"a":2}`, false},
		{"key order", `{"a":1,"b":2}`, `{"b":2,"a":1}`, false},
		{"missing key", `{"a":1,"b":2}`, `{"a":1}`, false},
		{"type", `{"a":"1"}`, `{"a":1}`, false},
		{"timestamp", `{"t":"2026-11-25T12:01:25.740227Z"}`, `{"t":"2027-01-01T00:00:00Z"}`, true},
		{"not a timestamp", `{"t":"2026-11-25T12:01:25.740227Z"}`, `{"t":"soon"}`, false},
		{"placeholder", `{"s":"..."}`, `{"s":"anything"}`, true},
		{"cursor", `{"meta":{"nextCursor":"abc"}}`, `{"meta":{"nextCursor":"xyz"}}`, true},
		{"array length", `[1,2]`, `[1]`, false},
		{"count", `{} {}`, `{}`, false},
		{"stream", "{\"a\":1}\n{\"b\":2}", `{"a":1}{"b":2}`, true},
		{"head", "HTTP/1.1 201 Created\nLocation: /api/posts/1\nX-Request-Id: abc\n\n{}", "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nLocation: /api/posts/1\r\nX-Request-Id: xyz\r\n\r\n{}", true},
		{"status", "HTTP/1.1 201 Created\n\n{}", "HTTP/1.1 200 OK\n\n{}", false},
		{"header value", "HTTP/1.1 405 Method Not Allowed\nAllow: GET\n\n{}", "HTTP/1.1 405 Method Not Allowed\nAllow: GET, POST\n\n{}", false},
		{"missing header", "HTTP/1.1 200 OK\nAllow: GET\n\n{}", "HTTP/1.1 200 OK\n\n{}", false},
		{"no body", "HTTP/1.1 204 No Content\n", "HTTP/1.1 204 No Content\r\n\r\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			diffs := compareOutput(c.want, c.got)
			if (len(diffs) == 0) != c.ok {
				t.Fatalf("compare(%q, %q) = %v, want ok=%v", c.want, c.got, diffs, c.ok)
			}
		})
	}
}

// TestDocsBlocks pins which blocks of a page run and what output each is
// compared with.
func TestDocsBlocks(t *testing.T) {
	page := strings.Join([]string{
		"Set-up:",
		"```sh",
		"curl -fsS -o /dev/null http://127.0.0.1:8080/api/posts",
		"```",
		"",
		"```sh",
		"curl http://127.0.0.1:8080/api/tags",
		"```",
		"",
		"```json",
		`{"data":[]}`,
		"```",
		"Not an output: prose comes between.",
		"```sh",
		"go run ./example -jwt-secret 's3cret'",
		"```",
		"<!-- not run: needs a dropped table -->",
		"```sh",
		"curl http://127.0.0.1:8080/api/tags",
		"```",
		"```console",
		"$ curl -s http://127.0.0.1:8080/api/posts |",
		"    sed -n p",
		`{"data":[]}`,
		"$ curl -s \\",
		"    http://127.0.0.1:8080/api/tags",
		`{"data":[1]}`,
		"```",
		"```go",
		`http.Get("http://127.0.0.1:8080/api/posts")`,
		"```",
	}, "\n")
	got, args := docSteps(parseBlocks(page))
	if !slices.Equal(args, []string{"-jwt-secret", "s3cret"}) {
		t.Errorf("server flags %q, want -jwt-secret s3cret", args)
	}
	want := []docStep{
		{line: 2, script: "curl -fsS -o /dev/null http://127.0.0.1:8080/api/posts"},
		{line: 6, script: "curl http://127.0.0.1:8080/api/tags", want: `{"data":[]}`, check: true},
		{line: 21, script: "curl -s http://127.0.0.1:8080/api/posts |\n    sed -n p\ncurl -s \\\n    http://127.0.0.1:8080/api/tags", want: "{\"data\":[]}\n{\"data\":[1]}", check: true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("steps\n%#v\nwant\n%#v", got, want)
	}
}

// TestDocsShell pins the session the blocks of a page share: variables
// carry over, and a failing command is reported even when a later one
// succeeds.
func TestDocsShell(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	sh := startShell(t)
	if out, _, failed := sh.run(t, "cursor=abc"); out != "" || failed != "" {
		t.Fatalf("assignment: output %q, failed %q", out, failed)
	}
	if out, _, failed := sh.run(t, `echo "$cursor"`); out != "abc\n" || failed != "" {
		t.Fatalf("the variable: output %q, failed %q", out, failed)
	}
	if _, _, failed := sh.run(t, "false\necho after"); !strings.Contains(failed, "line 1: false") {
		t.Fatalf("a failing command: failed %q", failed)
	}
	if _, _, failed := sh.run(t, "go run ./example -addr :0"); failed == "" {
		t.Fatal("a server start inside a block ran")
	}
	if out, _, failed := sh.run(t, "go run ./example token -jwt-secret s -sub 2 | cut -d. -f1"); out != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\n" || failed != "" {
		t.Fatalf("the token command: output %q, failed %q", out, failed)
	}
}
