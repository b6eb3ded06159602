// Command benchtable reads the output of the framework's BenchmarkAPI
// (best run with -rounds 6 or more) and prints a markdown table of the
// median ns/op, B/op and allocs/op of the generated and the hand-written
// side of each operation over all rounds, with their ratios:
//
//	go test -run '^$' -bench BenchmarkAPI -benchmem ./framework/ -args -rounds 6 | go run ./example/benchtable
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// sample is one benchmark line's measurements.
type sample struct{ ns, bytes, allocs float64 }

func main() {
	runs := map[string]map[string][]sample{} // operation -> side -> samples
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || !strings.HasPrefix(fields[0], "BenchmarkAPI/") {
			continue
		}
		name := strings.TrimPrefix(fields[0], "BenchmarkAPI/")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		// "<operation>/round=<r>/side=<side>": the rounds are pooled.
		parts := strings.Split(name, "/")
		op, side := parts[0], ""
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(p, "side="); ok {
				side = v
			}
		}
		if side == "" {
			continue
		}
		var s sample
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "ns/op":
				s.ns = v
			case "B/op":
				s.bytes = v
			case "allocs/op":
				s.allocs = v
			}
		}
		if runs[op] == nil {
			runs[op] = map[string][]sample{}
			order = append(order, op)
		}
		runs[op][side] = append(runs[op][side], s)
	}
	fmt.Println("| Operation | Generated | Hand-written | Time ratio | Generated B/op | Hand-written B/op | Generated allocs | Hand-written allocs | Allocs ratio |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, op := range order {
		g, h := median(runs[op]["Generated"]), median(runs[op]["HandWritten"])
		if g.ns == 0 || h.ns == 0 {
			continue
		}
		fmt.Printf("| %s | %s | %s | %.2f | %.0f | %.0f | %.0f | %.0f | %.2f |\n", op, micro(g.ns), micro(h.ns), g.ns/h.ns,
			g.bytes, h.bytes, g.allocs, h.allocs, g.allocs/h.allocs)
	}
}

func micro(ns float64) string { return fmt.Sprintf("%.1f µs", ns/1000) }

// median takes the median of each measurement on its own.
func median(samples []sample) sample {
	if len(samples) == 0 {
		return sample{}
	}
	pick := func(get func(sample) float64) float64 {
		vs := make([]float64, len(samples))
		for i, s := range samples {
			vs[i] = get(s)
		}
		slices.Sort(vs)
		if n := len(vs); n%2 == 0 {
			return (vs[n/2-1] + vs[n/2]) / 2
		}
		return vs[len(vs)/2]
	}
	return sample{
		ns:     pick(func(s sample) float64 { return s.ns }),
		bytes:  pick(func(s sample) float64 { return s.bytes }),
		allocs: pick(func(s sample) float64 { return s.allocs }),
	}
}
