package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestLoadTestRunsClean runs the whole load test briefly on a small
// dataset: it builds and serves the example, drives every kind of request,
// and must report each with no errors.
func TestLoadTestRunsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and serves the example")
	}
	var out bytes.Buffer
	err := run([]string{"-posts", "400", "-duration", "1s", "-concurrency", "4",
		"-mix", "list=1,listnocount=1,filtered=1,filteredtotal=1,deep=1,get=1,create=1,deleterestore=1"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, kind := range endpoints {
		row := "| " + label(kind) + " |"
		i := strings.Index(out.String(), row)
		if i < 0 {
			t.Fatalf("no row for %s in\n%s", kind, out.String())
		}
		line, _, _ := strings.Cut(out.String()[i:], "\n")
		if !strings.HasSuffix(line, "| 0 |") {
			t.Errorf("%s: %s", kind, line)
		}
	}
}
