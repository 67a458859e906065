package scenario_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/diegolab/diegolab/bench/fidelity"
	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/real/scenario"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// requireHost skips with the name of what is missing.
func requireHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: real mode needs root (runc containers with cgroup limits)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("skipping: no runc on PATH (apt-get install -y runc)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("skipping: no /bin/busybox (apt-get install -y busybox-static)")
	}
}

// buildBinaries builds diegolab and the workload program (static) into a directory.
func buildBinaries(t *testing.T) (bin, workload string) {
	t.Helper()
	tmp := t.TempDir()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin, workload = filepath.Join(tmp, "diegolab"), filepath.Join(tmp, "workload")
	for _, b := range [][2]string{{bin, "./cmd/diegolab"}, {workload, "./cmd/workload"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	return bin, workload
}

// TestFidelityInBothModes runs the CI scenario once live, calibrates the simulator with
// the start overhead that run measured, simulates seeds 1-5, and fails when a metric
// with a goal leaves its tolerance (docs/fidelity.md).
func TestFidelityInBothModes(t *testing.T) {
	requireHost(t)
	bin, workload := buildBinaries(t)
	sc, err := scenarios.Load("testdata/ci-crash.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	dur := sc.Duration.Seconds()
	cdir := filepath.Join(t.TempDir(), "cluster")
	realDir := filepath.Join(out, "real")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log testWriter
	log.t = t
	begin := time.Now()
	sum, err := scenario.Run(ctx, sc, scenario.Options{Out: realDir, Dir: cdir, Keep: true, Binary: bin, Workload: workload, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("live run: %v wall", time.Since(begin).Round(time.Second))
	// Nothing is left: Run took the cluster down (its error says what remained).
	if _, err := os.Stat(filepath.Join(cdir, "live.json")); err == nil {
		t.Error("live.json still there: the cluster was not taken down")
	}
	if sum.Mode != "real" || sum.Scenario != "ci-crash" || sum.Seed != 1 || len(sum.Faults) != 1 {
		t.Errorf("summary: mode %q scenario %q seed %d faults %d", sum.Mode, sum.Scenario, sum.Seed, len(sum.Faults))
	}
	got, err := record.ReadSummary(realDir)
	if err != nil || got.Mode != "real" {
		t.Fatalf("written summary: %v %+v", err, got)
	}
	r, err := fidelity.Measure(realDir, dur)
	if err != nil {
		t.Fatal(err)
	}
	// The simulator, calibrated with this machine's start overhead as measured in
	// this live run (fidelity --calibrate), over seeds 1-5.
	cal, err := fidelity.Calibrate(sc, []string{realDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(cal.TOML("testdata/ci-crash.toml"))
	var simRuns []*fidelity.Run
	for seed := uint64(1); seed <= 5; seed++ {
		s := *sc
		s.Seed = seed
		cal.Apply(&s)
		dir := filepath.Join(out, "sim", strconv.FormatUint(seed, 10))
		sm, err := sim.New(&s, sim.Options{OutDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.Run(); err != nil {
			t.Fatal(err)
		}
		r, err := fidelity.Measure(dir, dur)
		if err != nil {
			t.Fatal(err)
		}
		simRuns = append(simRuns, r)
	}
	rep := fidelity.Compare(sc.Name, dur, simRuns, []*fidelity.Run{r})
	if err := fidelity.Write(out, rep); err != nil {
		t.Fatal(err)
	}
	goals := 0
	for _, row := range rep.Rows {
		if row.Verdict == "info" {
			continue
		}
		goals++
		t.Logf("%-4s %-45s sim %v real %v allowed %v", row.Verdict, row.Metric, float64(row.SimMean), float64(row.RealMean), float64(row.Allowed))
		if row.Verdict == "off" {
			t.Errorf("%s: simulated %v, real %v: off by more than %v (%s)", row.Metric, float64(row.SimMean), float64(row.RealMean), float64(row.Allowed), row.Why)
		}
	}
	if goals < 8 {
		t.Errorf("only %d metrics with a goal compared", goals)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
