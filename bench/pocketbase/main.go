// Command pocketbase puts autoapi's example and PocketBase side by side on
// the same posts, half of them soft-deleted, and prints what each serves
// of every list shape as a markdown table:
//
//	cd bench/pocketbase && go run . [-posts 10000] [-rounds 5] [-duration 2s] [-concurrency 8] [-pblog]
//
// Both servers run as processes of their own, each on one core
// (GOMAXPROCS=1), on SQLite through modernc.org/sqlite. PocketBase's posts
// collection hides deleted rows by its list and view rules
// (deleted = ”), as a PocketBase user would; autoapi hides them by
// convention. Each shape is driven at the given concurrency for the given
// time against one server and then the other, the first side alternating
// from round to round, so that drift in the machine falls on both; the
// table gives the median over the rounds of throughput and p99, and the
// ratio of the medians.
//
// It is a module of its own so that the framework's module does not
// depend on PocketBase. The example is built and seeded with the load
// test's parts (example/loadtest/load).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/autoapi-go/autoapi/example/loadtest/load"
)

// Environment of the PocketBase server process: its data directory, its
// address, the posts to seed, and whether its request log is on.
const (
	envDir   = "AUTOAPI_BENCH_PB_DIR"
	envAddr  = "AUTOAPI_BENCH_PB_ADDR"
	envPosts = "AUTOAPI_BENCH_PB_POSTS"
	envLog   = "AUTOAPI_BENCH_PB_LOG"
)

func main() {
	if dir := os.Getenv(envDir); dir != "" {
		if err := servePocketBase(dir); err != nil {
			fmt.Fprintln(os.Stderr, "pocketbase:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// shape is one kind of request, as each server spells it.
type shape struct {
	name string
	// autoapi and pocketbase return the path and query of one request,
	// and the token to send ("" for none).
	autoapi, pocketbase func(rng *rand.Rand) (path, token string)
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	posts := flags.Int("posts", 10_000, "posts to seed in each server, every other one soft-deleted")
	rounds := flags.Int("rounds", 5, "rounds: each drives every shape once against each server")
	duration := flags.Duration("duration", 2*time.Second, "how long each shape is driven against a server in a round")
	concurrency := flags.Int("concurrency", 8, "requests in flight at once")
	pbLog := flags.Bool("pblog", false, "keep PocketBase's request log on (its default), and autoapi's access log")
	if err := flags.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "autoapi-vs-pocketbase")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// autoapi: the example, migrated and seeded by the load test's parts.
	fmt.Fprintln(os.Stderr, "building the example")
	bin, err := load.BuildExample(dir)
	if err != nil {
		return err
	}
	dsn := filepath.Join(dir, "autoapi.db")
	if err := load.Migrate(bin, dsn); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeding %d posts into each server\n", *posts)
	ids, err := load.Seed(context.Background(), dsn, *posts)
	if err != nil {
		return err
	}
	// autoapi's access log is on or off with PocketBase's request log.
	aBase, stopA, err := load.Serve(bin, dsn, *pbLog, "GOMAXPROCS=1")
	if err != nil {
		return err
	}
	defer stopA()
	middle, err := load.MiddleCursor(aBase, len(ids.Live)/2, http.Header{})
	if err != nil {
		return err
	}

	// PocketBase: this program again, as its server.
	pb, err := startPocketBase(filepath.Join(dir, "pb"), *posts, *pbLog)
	if err != nil {
		return err
	}
	defer pb.stop()

	filter := `views > 50 && title ~ "post 1"`
	pbFilter := `views > 50 && title ~ 'post 1'`
	q := url.QueryEscape
	live := func(rng *rand.Rand) int { return 2 * rng.IntN((*posts+1)/2) } // an even i: a live post
	shapes := []shape{
		{"first page of 20, with total",
			func(*rand.Rand) (string, string) { return "/posts?limit=20", "" },
			func(*rand.Rand) (string, string) { return "/collections/posts/records?perPage=20", "" }},
		{"first page of 20, no total",
			func(*rand.Rand) (string, string) { return "/posts?limit=20&count=false", "" },
			func(*rand.Rand) (string, string) { return "/collections/posts/records?perPage=20&skipTotal=1", "" }},
		{"get by id",
			func(rng *rand.Rand) (string, string) {
				return "/posts/" + strconv.FormatInt(ids.Live[rng.IntN(len(ids.Live))], 10), ""
			},
			func(rng *rand.Rand) (string, string) { return "/collections/posts/records/" + pbID(live(rng)), "" }},
		{"`" + filter + "`, with total",
			func(*rand.Rand) (string, string) { return "/posts?limit=20&filter=" + q(filter), "" },
			func(*rand.Rand) (string, string) {
				return "/collections/posts/records?perPage=20&filter=" + q(pbFilter), ""
			}},
		{"the same, no total",
			func(*rand.Rand) (string, string) { return "/posts?limit=20&count=false&filter=" + q(filter), "" },
			func(*rand.Rand) (string, string) {
				return "/collections/posts/records?perPage=20&skipTotal=1&filter=" + q(pbFilter), ""
			}},
		{"a page in the middle, by cursor (PocketBase: by id)",
			func(*rand.Rand) (string, string) { return "/posts?limit=20&count=false&cursor=" + middle, "" },
			func(*rand.Rand) (string, string) {
				return "/collections/posts/records?perPage=20&skipTotal=1&sort=id&filter=" + q("id > '"+pbID(*posts/2)+"'"), ""
			}},
		{"the trash view, no total (admin; PocketBase: superuser)",
			func(*rand.Rand) (string, string) {
				return "/posts?limit=20&count=false&onlyDeleted=true", "admin-token"
			},
			func(*rand.Rand) (string, string) {
				return "/collections/posts/records?perPage=20&skipTotal=1&filter=" + q("deleted != ''"), pb.token
			}},
	}
	// Every shape answers 200 on both sides before anything is measured.
	for _, s := range shapes {
		for side, base := range map[string]string{"autoapi": aBase, "PocketBase": pb.base} {
			f := s.autoapi
			if side == "PocketBase" {
				f = s.pocketbase
			}
			if err := check(base, f); err != nil {
				return fmt.Errorf("%s, %s: %w", s.name, side, err)
			}
		}
	}

	type sample struct{ rps, p99 float64 }
	results := map[string]map[string][]sample{}
	for round := range *rounds {
		sides := []string{"autoapi", "PocketBase"}
		if round%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, s := range shapes {
			for _, side := range sides {
				base, f := aBase, s.autoapi
				if side == "PocketBase" {
					base, f = pb.base, s.pocketbase
				}
				m, err := attack(base, f, *duration, *concurrency)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", s.name, side, err)
				}
				if results[s.name] == nil {
					results[s.name] = map[string][]sample{}
				}
				results[s.name][side] = append(results[s.name][side], sample{
					rps: float64(m.Requests) / m.Duration.Seconds(), p99: float64(m.Latencies.P99) / float64(time.Millisecond)})
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done\n", round+1, *rounds)
	}

	median := func(ss []sample, get func(sample) float64) float64 {
		vs := make([]float64, len(ss))
		for i, s := range ss {
			vs[i] = get(s)
		}
		slices.Sort(vs)
		return vs[len(vs)/2]
	}
	logState := "off"
	if *pbLog {
		logState = "on"
	}
	fmt.Fprintf(out, "%d posts (half soft-deleted) in each; %d clients; %d rounds of %v per shape and server; each server on one core (GOMAXPROCS=1) of %d, %s/%s; %s; PocketBase %s; PocketBase's request log and autoapi's access log %s\n\n",
		*posts, *concurrency, *rounds, *duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), pocketBaseVersion(), logState)
	fmt.Fprintln(out, "| Request | autoapi (req/s) | PocketBase (req/s) | Ratio | autoapi p99 | PocketBase p99 |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
	for _, s := range shapes {
		a, p := results[s.name]["autoapi"], results[s.name]["PocketBase"]
		rps := func(s sample) float64 { return s.rps }
		p99 := func(s sample) float64 { return s.p99 }
		fmt.Fprintf(out, "| %s | %.0f | %.0f | %.2f | %.2f ms | %.2f ms |\n", s.name,
			median(a, rps), median(p, rps), median(a, rps)/median(p, rps), median(a, p99), median(p, p99))
	}
	return nil
}

// pbID is the PocketBase id of the i-th post: 15 characters, in the
// order the posts were made.
func pbID(i int) string { return fmt.Sprintf("p%014d", i) }

// check sends one request of f to base and requires a 200 with data.
func check(base string, f func(*rand.Rand) (string, string)) error {
	path, token := f(rand.New(rand.NewPCG(1, 1)))
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(body) < 20 {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return nil
}

// attack drives requests of f at base, concurrency at a time, for d.
func attack(base string, f func(*rand.Rand) (string, string), d time.Duration, concurrency int) (*vegeta.Metrics, error) {
	var (
		mu  sync.Mutex
		rng = rand.New(rand.NewPCG(2, 3))
	)
	targeter := func(t *vegeta.Target) error {
		mu.Lock()
		path, token := f(rng)
		mu.Unlock()
		t.Method, t.URL, t.Header = http.MethodGet, base+path, http.Header{}
		if token != "" {
			t.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
	transport := &http.Transport{MaxIdleConnsPerHost: concurrency, IdleConnTimeout: time.Minute}
	attacker := vegeta.NewAttacker(vegeta.Client(&http.Client{Timeout: 30 * time.Second, Transport: transport}),
		vegeta.Workers(uint64(concurrency)), vegeta.MaxWorkers(uint64(concurrency)))
	m := &vegeta.Metrics{}
	var failed string
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: 0}, d, "bench") {
		m.Add(res)
		if (res.Code != http.StatusOK) && failed == "" {
			failed = fmt.Sprintf("%s: %d %s %s", res.URL, res.Code, res.Error, strings.TrimSpace(string(res.Body)))
		}
	}
	m.Close()
	if failed != "" {
		return nil, fmt.Errorf("a request failed: %s", failed)
	}
	return m, nil
}

// pocketBaseVersion is the version of PocketBase this program is built with.
func pocketBaseVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/pocketbase/pocketbase" {
				return d.Version
			}
		}
	}
	return "(unknown)"
}

// pocketBase is the PocketBase server process.
type pocketBase struct {
	base, token string
	stop        func()
}

// ready is what the server process writes once it has seeded its posts.
type ready struct {
	Token string `json:"token"`
}

// startPocketBase runs this program as the PocketBase server in dir,
// seeded with posts posts, and waits until it answers.
func startPocketBase(dir string, posts int, requestLog bool) (*pocketBase, error) {
	addr, err := load.FreeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", envDir+"="+dir, envAddr+"="+addr,
		envPosts+"="+strconv.Itoa(posts), envLog+"="+strconv.FormatBool(requestLog))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() { _ = cmd.Process.Kill(); <-exited }
	// Seeding comes first and can take a while: wait for its file, then
	// for the server.
	var raw []byte
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if raw, err = os.ReadFile(filepath.Join(dir, "ready.json")); err == nil {
			break
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the PocketBase server stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("PocketBase did not seed its posts within 10 minutes: %w", err)
		}
	}
	base := "http://" + addr + "/api"
	if err := load.WaitUp(base + "/health"); err != nil {
		stop()
		return nil, err
	}
	var r ready
	if err := json.Unmarshal(raw, &r); err != nil {
		stop()
		return nil, err
	}
	return &pocketBase{base: base, token: r.Token, stop: stop}, nil
}
