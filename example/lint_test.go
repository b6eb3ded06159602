package main

// TestOpenAPILint has an outside linter, Redocly CLI, check the example's
// OpenAPI documents: the anonymous caller's, alice's and admin's (which is
// the whole API, as admin holds every action). It runs
//
//	npx -y @redocly/cli@<redoclyVersion> lint --config redocly.yaml <documents>
//
// and fails on any problem, warnings included: redocly.yaml turns off,
// each with its reason, the rules the document does not meet, so anything
// it reports is new. It needs npx (Node.js) and the package, which npx
// fetches from the npm registry once; without either the test is
// skipped, except under CI=true, where it fails. The document does not
// depend on the database, so the test runs on SQLite only.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// redoclyVersion is the Redocly CLI the documents are checked with,
// pinned so that a new release's rules do not fail a build unannounced.
const redoclyVersion = "2.77.0"

func TestOpenAPILint(t *testing.T) {
	t.Parallel() // it waits on an outside program: the other tests run meanwhile
	if dbtest.Current() != dbtest.SQLite {
		t.Skip("the document does not depend on the database: linted on SQLite only")
	}
	ci := os.Getenv("CI") == "true"
	unavailable := func(format string, args ...any) {
		t.Helper()
		if ci {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	npx, err := exec.LookPath("npx")
	if err != nil {
		unavailable("npx (Node.js) is needed to lint the OpenAPI document: %v", err)
	}
	config, err := filepath.Abs("redocly.yaml")
	if err != nil {
		t.Fatal(err)
	}

	e := newTestServer(t).E
	dir := t.TempDir()
	var files []string
	for _, caller := range []struct{ name, token string }{{"anonymous", ""}, {"alice", alice}, {"admin", admin}} {
		req := httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil)
		if caller.token != "" {
			req.Header.Set("Authorization", "Bearer "+caller.token)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s's document: %d %s", caller.name, rec.Code, rec.Body)
		}
		file := filepath.Join(dir, caller.name+".json")
		if err := os.WriteFile(file, rec.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}

	// The first run downloads the package: minutes on a slow network.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	redocly := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, npx, append([]string{"-y", "@redocly/cli@" + redoclyVersion}, args...)...)
		// Not the repository: npx would look for a package.json there.
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"REDOCLY_TELEMETRY=off",               // no usage reports from a test
			"REDOCLY_SUPPRESS_UPDATE_NOTICE=true", // the version is pinned
		)
		return cmd
	}
	if out, err := redocly("--version").CombinedOutput(); err != nil {
		unavailable("npx cannot run @redocly/cli@%s: %v\n%s", redoclyVersion, err, out)
	}

	cmd := redocly(append([]string{"lint", "--config", config, "--format", "json", "--max-problems", "1000"}, files...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run() // exits 1 on errors; the report says which
	// One report per document, one after the other.
	type report struct {
		Totals struct {
			Errors, Warnings int
		} `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Source struct {
					Ref string `json:"ref"`
				} `json:"source"`
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	var errs, warnings, reports int
	dec := json.NewDecoder(&stdout)
	for {
		var r report
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("redocly lint: %v (%v)\nstdout: %s\nstderr: %s", err, runErr, stdout.String(), stderr.String())
		}
		reports++
		errs += r.Totals.Errors
		warnings += r.Totals.Warnings
		for _, p := range r.Problems {
			where := ""
			if len(p.Location) > 0 {
				where = filepath.Base(p.Location[0].Source.Ref) + p.Location[0].Pointer
			}
			t.Errorf("%s %s: %s at %s", p.Severity, p.RuleID, p.Message, where)
		}
	}
	if reports != len(files) || errs+warnings > 0 || runErr != nil {
		t.Errorf("redocly lint: %d reports for %d documents, %d errors, %d warnings (%v); fix them, or turn the rule off in redocly.yaml with the reason\n%s",
			reports, len(files), errs, warnings, runErr, strings.TrimSpace(stderr.String()))
	}
}
