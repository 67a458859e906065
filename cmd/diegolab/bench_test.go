package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/internal/benchtest"
	"github.com/diegolab/diegolab/record"
)

// writeBenchSpec writes a spec of 8 runs (2 algorithms x 2 settings x 2 seeds) of
// benchtest.TinyScenario and returns its directory, the scenario's path and its path.
func writeBenchSpec(t *testing.T) (dir, scenario, spec string) {
	t.Helper()
	dir, spec = benchtest.WriteSpec(t, benchtest.TinyScenario, `name = "det"
seeds = "1-2"
algorithms = ["diego", "best-fit"]
[settings]
"auction.bin_pack_first_fit_weight" = [0, 0.5]
[[scenarios]]
file = "tiny.toml"
`)
	return dir, filepath.Join(dir, "tiny.toml"), spec
}

// TestBenchRunEqualsRunAlone checks determinism: every run of a matrix has the trace
// hash, event count and instance counts of the same run done alone with `diegolab
// run`, and a representative run record has the same summary.json byte for byte.
func TestBenchRunEqualsRunAlone(t *testing.T) {
	dir, scenario, spec := writeBenchSpec(t)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := capture(t, "bench", spec, "--out", out, "-j", "2")
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "bench det: 8 runs (8 new, 0 already done)") || !strings.Contains(stdout, "| best-fit | auction.bin_pack_first_fit_weight=0.5 | 2 |") {
		t.Errorf("stdout:\n%s", stdout)
	}
	f, err := os.Open(filepath.Join(out, bench.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 9 {
		t.Fatalf("results.csv: %d lines, %v", len(rows), err)
	}
	hashes := map[string][]string{} // algorithm, settings -> trace hashes of its seeds
	for _, row := range rows[1:] {
		alg, settings, seed := row[1], row[2], row[3]
		runDir := filepath.Join(dir, "alone-"+alg+"-"+seed+"-"+strings.ReplaceAll(settings, "=", "_"))
		code, _, stderr := capture(t, "run", scenario, "--seed", seed, "--algorithm", alg, "--set", settings, "-q", "--no-report", "--out", runDir)
		if code != 0 {
			t.Fatalf("run exit %d: %s", code, stderr)
		}
		sum, err := record.ReadSummary(runDir)
		if err != nil {
			t.Fatal(err)
		}
		if sum.TraceHash != row[4] || strconv.FormatUint(sum.Events, 10) != row[5] || strconv.Itoa(sum.DesiredInstances) != row[6] || strconv.Itoa(sum.RunningInstances) != row[7] {
			t.Errorf("%s %s seed %s: matrix row %v, run alone hash %s events %d", alg, settings, seed, row[:8], sum.TraceHash, sum.Events)
		}
		hashes[alg+" "+settings] = append(hashes[alg+" "+settings], row[4])
		if seed == "1" {
			rep := filepath.Join(out, bench.RunsDir, "tiny__"+alg+"__"+settings)
			a, errA := os.ReadFile(filepath.Join(rep, record.SummaryFile))
			b, errB := os.ReadFile(filepath.Join(runDir, record.SummaryFile))
			if errA != nil || errB != nil || string(a) != string(b) {
				t.Errorf("%s: representative summary.json differs from run alone (%v, %v)", rep, errA, errB)
			}
		}
	}
	for cell, h := range hashes {
		if len(h) != 2 || h[0] == h[1] {
			t.Errorf("%s: trace hashes of seeds 1 and 2: %v, want two different", cell, h)
		}
	}
	for _, f := range []string{bench.SummaryCSV, bench.SummaryMD, bench.PerfFile, bench.CompareHTML} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	// A rerun resumes: nothing new.
	code, stdout, _ = capture(t, "bench", spec, "--out", out)
	if code != 0 || !strings.Contains(stdout, "8 runs (0 new, 8 already done)") {
		t.Errorf("rerun exit %d:\n%s", code, stdout)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	dir, _, spec := writeBenchSpec(t)
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("seeds = \"1\"\nalgoritms = [\"diego\"]\n[[scenarios]]\nfile = \"tiny.toml\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown spec", []string{"bench", "no-such-spec"}, "no shipped spec of that name"},
		{"unknown key with line", []string{"bench", bad}, "bad.toml:2: algoritms: unknown key"},
		{"bad seeds flag", []string{"bench", spec, "--seeds", "3-1"}, "--seeds"},
		{"scale bad cells", []string{"bench", "scale", "--cells", "0"}, "cells >= 1"},
		{"scale bad profile-from", []string{"bench", "scale", "--cpuprofile", dir, "--profile-from", "soon"}, "--profile-from \"soon\": want a simulated time"},
		{"scale profile-from alone", []string{"bench", "scale", "--profile-from", "1h"}, "--profile-from needs --cpuprofile or --memprofile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := capture(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

func TestBenchScaleSmall(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "scale.csv")
	// 4 cells x 25 instances = 100 instances of the 250k mix for 1 minute.
	code, stdout, stderr := capture(t, "bench", "scale", "--cells", "4", "--per-cell", "25", "--duration", "1m", "--out", csvPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "diego-mix-4") || !strings.Contains(stdout, "B/instance") {
		t.Errorf("stdout:\n%s", stdout)
	}
	b, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(b), "scenario,cells,instances,running,") || strings.Count(string(b), "\n") != 2 {
		t.Errorf("scale.csv: %v\n%s", err, b)
	}
}

// TestBenchScaleProfileFrom: --profile-from starts the CPU profile once the simulated
// clock reaches it (seen every 4,096 events: 5,000 instances for 30 minutes make 12,103), so a
// time past the run's end writes no profile at all.
func TestBenchScaleProfileFrom(t *testing.T) {
	for _, tc := range []struct {
		from string
		want bool
	}{{"1m", true}, {"1h", false}} {
		t.Run(tc.from, func(t *testing.T) {
			dir := t.TempDir()
			code, _, stderr := capture(t, "bench", "scale", "--cells", "200", "--per-cell", "25", "--duration", "30m", "--cpuprofile", dir, "--profile-from", tc.from)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			_, err := os.Stat(filepath.Join(dir, "cpu.pprof"))
			if got := err == nil; got != tc.want {
				t.Errorf("cpu.pprof written: %v, want %v (%v)", got, tc.want, err)
			}
		})
	}
}
