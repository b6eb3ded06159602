// Command loadtest measures the example API over real HTTP. It builds the
// example, migrates a fresh database and seeds it (by default 100,000
// posts, half of them soft-deleted, and a comment on every tenth post, all live), starts
// the example server on it, and drives a mix of requests at a given
// concurrency for a given time with vegeta's attacker. It prints, per
// endpoint, throughput, p50/p90/p99 latency and errors as a markdown table,
// and exits non-zero when any request failed.
//
//	go run ./example/loadtest [-posts 100000] [-duration 10s] [-concurrency 8] [-db postgres://...]
//	    [-mix list=25,filtered=15,deep=10,get=30,create=10,deleterestore=10]  (kinds: list, listnocount, filtered, filteredtotal, deep, get, create, deleterestore)
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/autoapi-go/autoapi/example/loadtest/load"
	"github.com/autoapi-go/autoapi/framework/database"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// endpoints are the request kinds of the mix, in report order.
var endpoints = []string{"list", "listnocount", "filtered", "filteredtotal", "deep", "get", "create", "deleterestore"}

// run runs the load test that args describe and writes its report to out.
func run(args []string, out io.Writer) error {
	flag := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	posts := flag.Int("posts", 100_000, "posts to seed, every other one soft-deleted")
	duration := flag.Duration("duration", 10*time.Second, "how long to drive the load")
	concurrency := flag.Int("concurrency", 8, "requests in flight at once")
	dsn := flag.String("db", "", "database: a SQLite file or an empty PostgreSQL database (default: a new SQLite file in a temporary directory)")
	mixFlag := flag.String("mix", "list=25,filtered=15,deep=10,get=30,create=10,deleterestore=10", "weights of the request kinds")
	accessLog := flag.Bool("access-log", false, "keep the server's access log on (to stderr), as the example has it by default")
	if err := flag.Parse(args); err != nil {
		return err
	}

	mix, err := parseMix(*mixFlag)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "autoapi-loadtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *dsn == "" {
		*dsn = filepath.Join(dir, "loadtest.db")
	}

	fmt.Fprintln(os.Stderr, "building the example")
	bin, err := load.BuildExample(dir)
	if err != nil {
		return err
	}
	if err := load.Migrate(bin, *dsn); err != nil {
		return err
	}
	ctx := context.Background()
	fmt.Fprintf(os.Stderr, "seeding %d posts\n", *posts)
	ids, err := load.Seed(ctx, *dsn, *posts)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	base, stop, err := load.Serve(bin, *dsn, *accessLog)
	if err != nil {
		return err
	}
	defer stop()
	deep, err := load.MiddleCursor(base, *posts/4, alice)
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "driving %v at concurrency %d\n", *duration, *concurrency)
	t := &targets{base: base, mix: mix, live: ids.Live, deep: deep, pairs: make(chan int64, len(ids.Alices))}
	for _, id := range ids.Alices {
		t.pairs <- id
	}
	transport := &http.Transport{MaxIdleConnsPerHost: *concurrency, IdleConnTimeout: time.Minute}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &pairTransport{next: transport, pairs: t.pairs}}
	attacker := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(*concurrency)),
		vegeta.MaxWorkers(uint64(*concurrency)))
	metrics := map[string]*vegeta.Metrics{}
	for _, name := range endpoints {
		metrics[name] = &vegeta.Metrics{}
	}
	var failures []string
	for res := range attacker.Attack(t.next, vegeta.Rate{Freq: 0}, *duration, "mix") {
		kind := kindOf(res.Method, res.URL)
		metrics[kind].Add(res)
		if (res.Code < 200 || res.Code >= 300) && len(failures) < 10 {
			failures = append(failures, fmt.Sprintf("%s %s: %d %s %s", res.Method, res.URL, res.Code, res.Error, bytes.TrimSpace(res.Body)))
		}
	}
	fmt.Fprintf(out, "%d posts (half soft-deleted), concurrency %d, %v, database %s\n\n", *posts, *concurrency, *duration, engine(*dsn))
	fmt.Fprintln(out, "| Endpoint | Requests | Throughput (req/s) | p50 | p90 | p99 | Errors |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|")
	errorsTotal := 0
	for _, name := range endpoints {
		m := metrics[name]
		m.Close()
		if m.Requests == 0 {
			continue
		}
		errs := int(m.Requests) - int(float64(m.Requests)*m.Success+0.5)
		errorsTotal += errs
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %s | %d |\n", label(name), m.Requests, float64(m.Requests)/duration.Seconds(),
			load.Ms(m.Latencies.P50), load.Ms(m.Latencies.P90), load.Ms(m.Latencies.P99), errs)
	}
	for _, f := range failures {
		fmt.Fprintln(os.Stderr, "failed:", f)
	}
	if errorsTotal > 0 {
		return fmt.Errorf("%d requests failed", errorsTotal)
	}
	return nil
}

func label(kind string) string {
	return map[string]string{
		"list":          "list, first page (counted)",
		"listnocount":   "list, first page (count=false)",
		"filtered":      "list, two-condition filter",
		"filteredtotal": "list, filter expression (counted)",
		"deep":          "list, cursor page mid-table",
		"get":           "get by id",
		"create":        "create",
		"deleterestore": "delete + restore",
	}[kind]
}

func engine(dsn string) string {
	if database.IsPostgres(dsn) {
		return "PostgreSQL"
	}
	return "SQLite"
}

func parseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(weight)
		if !ok || err != nil || n < 0 || !slices.Contains(endpoints, name) {
			return nil, fmt.Errorf("-mix: %q is not kind=weight with a kind among %v", part, endpoints)
		}
		mix[name] = n
	}
	return mix, nil
}

// targets picks each request of the mix.
type targets struct {
	base  string
	mix   map[string]int
	live  []int64
	deep  string
	pairs chan int64
	mu    sync.Mutex
	rng   *rand.Rand
}

var alice = http.Header{"Authorization": {"Bearer alice-token"}}

func (t *targets) next(tgt *vegeta.Target) error {
	t.mu.Lock()
	if t.rng == nil {
		t.rng = rand.New(rand.NewPCG(1, 2))
	}
	total := 0
	for _, w := range t.mix {
		total += w
	}
	r := t.rng.IntN(max(total, 1))
	kind := ""
	for _, name := range endpoints {
		if r < t.mix[name] {
			kind = name
			break
		}
		r -= t.mix[name]
	}
	id := t.live[t.rng.IntN(len(t.live))]
	t.mu.Unlock()

	tgt.Header = alice.Clone()
	tgt.Method, tgt.Body = http.MethodGet, nil
	switch kind {
	case "list":
		tgt.URL = t.base + "/posts"
	case "listnocount":
		tgt.URL = t.base + "/posts?count=false"
	case "filtered":
		tgt.URL = t.base + "/posts?views%5Bgte%5D=50&userId=2&count=false"
	case "filteredtotal":
		tgt.URL = t.base + "/posts?filter=" + url.QueryEscape(`views > 50 && title ~ "post 1"`)
	case "deep":
		tgt.URL = t.base + "/posts?count=false&cursor=" + t.deep
	case "get":
		tgt.URL = t.base + "/posts/" + strconv.FormatInt(id, 10)
	case "create":
		tgt.Method, tgt.URL = http.MethodPost, t.base+"/posts"
		tgt.Body = []byte(`{"title":"load","content":"created under load"}`)
		tgt.Header.Set("Content-Type", "application/json")
	case "deleterestore":
		// One of alice's posts no other pair is using; pairTransport
		// deletes it, restores it and gives it back.
		tgt.Method = http.MethodDelete
		tgt.URL = t.base + "/posts/" + strconv.FormatInt(<-t.pairs, 10)
		tgt.Header.Set(pairHeader, "1")
	}
	return nil
}

// pairHeader marks a DELETE that pairTransport follows with its restore.
const pairHeader = "X-Loadtest-Pair"

// pairTransport runs a delete + restore pair as one measured request, so
// that the restore always follows its own delete: vegeta's attacker sends
// independent requests, in no order.
type pairTransport struct {
	next  http.RoundTripper
	pairs chan int64
}

func (p *pairTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get(pairHeader) == "" {
		return p.next.RoundTrip(req)
	}
	id, _ := strconv.ParseInt(filepath.Base(req.URL.Path), 10, 64)
	defer func() { p.pairs <- id }()
	req.Header.Del(pairHeader)
	resp, err := p.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	restore, err := http.NewRequestWithContext(req.Context(), http.MethodPost, req.URL.String()+"/restore", nil)
	if err != nil {
		return nil, err
	}
	restore.Header = req.Header.Clone()
	return p.next.RoundTrip(restore)
}

// kindOf tells which endpoint of the mix a result belongs to.
func kindOf(method, url string) string {
	switch {
	case method == http.MethodDelete:
		return "deleterestore"
	case method == http.MethodPost:
		return "create"
	case strings.Contains(url, "cursor="):
		return "deep"
	case strings.Contains(url, "filter="):
		return "filteredtotal"
	case strings.Contains(url, "views%5Bgte%5D"):
		return "filtered"
	case strings.Contains(url, "/posts/"):
		return "get"
	case strings.HasSuffix(url, "count=false"):
		return "listnocount"
	}
	return "list"
}
