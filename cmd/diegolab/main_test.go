package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/record"
)

// capture runs the CLI with args and returns its exit status, stdout and stderr.
func capture(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	outc, errc := make(chan string), make(chan string)
	go func() { b, _ := io.ReadAll(ro); outc <- string(b) }()
	go func() { b, _ := io.ReadAll(re); errc <- string(b) }()
	code := execute(args)
	wo.Close()
	we.Close()
	os.Stdout, os.Stderr = oldOut, oldErr
	return code, <-outc, <-errc
}

func TestRunWritesRecordAndReport(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := capture(t, "run", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"scenario quickstart", "instances", "placement failures", "memory used", "events"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{record.SummaryFile, record.PerfFile, record.EventsFile, record.CellsFile, record.PlacementsFile, record.TimeseriesFile, "report.html"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	sum, err := record.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Scenario != "quickstart" || sum.DesiredInstances == 0 || sum.RunningInstances != sum.DesiredInstances {
		t.Errorf("summary: scenario %q, %d of %d running", sum.Scenario, sum.RunningInstances, sum.DesiredInstances)
	}
}

func TestRunQuietAndFlags(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := capture(t, "run", "cell-crash", "--seed", "3", "--algorithm", "first-fit", "--set", "run.duration=\"15m\"", "-q", "--no-report", "--no-events", "--out", dir)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	sum, err := record.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seed != 3 || sum.Algorithm != "first-fit" || sum.SimSeconds != 900 {
		t.Errorf("overrides not applied: seed %d, algorithm %s, sim_seconds %v", sum.Seed, sum.Algorithm, sum.SimSeconds)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
		t.Errorf("--no-report wrote report.html")
	}
	if _, err := os.Stat(filepath.Join(dir, record.EventsFile)); err == nil {
		t.Errorf("--no-events wrote events.jsonl")
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[run]\nduration = \"1h\"\nbogus = 1\n[[cells]]\ncount = 1\nmemory_mb = 1024\ndisk_mb = 1024\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"run", bad, "--out", t.TempDir()}, "bogus"},
		{"missing scenario", []string{"run", "no-such-scenario", "--out", t.TempDir()}, "no-such-scenario"},
		{"bad flag", []string{"run", "--seed", "x"}, "seed"},
		{"unknown algorithm", []string{"run", "--algorithm", "nope", "--out", t.TempDir()}, "nope"},
		{"bad set", []string{"run", "--set", "nokey", "--out", t.TempDir()}, "nokey"},
		{"report of nothing", []string{"report", filepath.Join(t.TempDir(), "none")}, "none"},
		// Scaling without saying what used to scale the app to 1.
		{"scale without a flag", []string{"scale", "web"}, "-i INSTANCES, -m MEMORY or -k DISK"},
		{"scale with a bad size", []string{"scale", "web", "-m", "lots"}, "-m \"lots\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := capture(t, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not name %q", errOut, c.want)
			}
		})
	}
}

// compare works on two algorithms of one scenario (issue: reports, done-when).
func TestCompareTwoAlgorithms(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, r := range []struct{ dir, alg string }{{a, "diego"}, {b, "best-fit"}} {
		if code, _, errOut := capture(t, "run", "binpack", "--algorithm", r.alg, "-q", "--no-events", "--out", r.dir); code != 0 {
			t.Fatalf("run %s: exit %d: %s", r.alg, code, errOut)
		}
	}
	out := filepath.Join(t.TempDir(), "cmp.html")
	if code, _, errOut := capture(t, "compare", a, b, "-o", out); code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errOut)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("best-fit")) || !bytes.Contains(html, []byte("diego")) {
		t.Errorf("comparison report does not name both algorithms")
	}
	code, out2, _ := capture(t, "version")
	if code != 0 || !strings.HasPrefix(out2, "diegolab ") {
		t.Errorf("version: exit %d, %q", code, out2)
	}
}
