package scenario_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/bench/fidelity"
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

// built holds diegolab and the workload program, built once per test binary.
var built struct {
	once               sync.Once
	dir, bin, workload string
	err                error
}

// buildBinaries builds diegolab and the workload program (static) once, into a
// directory TestMain removes.
func buildBinaries(t *testing.T) (bin, workload string) {
	t.Helper()
	built.once.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			built.err = err
			return
		}
		if built.dir, err = os.MkdirTemp("", "diegolab-scenario-test-"); err != nil {
			built.err = err
			return
		}
		built.bin, built.workload = filepath.Join(built.dir, "diegolab"), filepath.Join(built.dir, "workload")
		for _, b := range [][2]string{{built.bin, "./cmd/diegolab"}, {built.workload, "./cmd/workload"}} {
			cmd := exec.Command("go", "build", "-o", b[0], b[1])
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin, built.workload
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestFidelityInBothModes runs the CI scenario once live, calibrates the simulator with
// the start overhead that run measured, simulates seeds 1-10, and fails when a metric
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
	// this live run (fidelity --calibrate), over seeds 1-10.
	cal, rep := compareCalibrated(t, sc, realDir, out, r)
	t.Log(cal.TOML("testdata/ci-crash.toml"))
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

// TestFaultsLive plays crash-instances, partition-cell (and its end), stop-app,
// crash-cell of a drawn cell and restore-cell live, and checks each left its mark: the
// timeline and cell events, the cell the simulator draws for the same seed, the final
// instances, and no workload process left behind.
func TestFaultsLive(t *testing.T) {
	requireHost(t)
	b := simThenLive(t, "testdata/faults.toml")
	simSum, sum, out := b.simSum, b.liveSum, b.liveDir
	_, workload := buildBinaries(t)
	if len(sum.Faults) != len(simSum.Faults) {
		t.Fatalf("%d faults live, %d simulated", len(sum.Faults), len(simSum.Faults))
	}
	for i, f := range sum.Faults {
		s := simSum.Faults[i]
		if f.Action != s.Action || f.Target != s.Target {
			t.Errorf("fault %d: live %s %s, simulated %s %s", i, f.Action, f.Target, s.Action, s.Target)
		}
		if f.At < s.At || f.At > s.At+1 {
			t.Errorf("fault %d %s at %vs, scheduled at %vs", i, f.Action, f.At, s.At)
		}
	}
	states := map[string][]string{}
	if err := record.ReadEvents(out, func(e *record.Event) error {
		if e.Type == record.TypeCell {
			states[e.CellID] = append(states[e.CellID], e.State)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	has := func(cell, state string) bool {
		for _, s := range states[cell] {
			if s == state {
				return true
			}
		}
		return false
	}
	for _, w := range [][2]string{{"cell-2", "partitioned"}, {"cell-2", "up"}, {"cell-0", "crashed"}, {"cell-0", "up"}} {
		if !has(w[0], w[1]) {
			t.Errorf("no %s event for %s (events: %v)", w[1], w[0], states)
		}
	}
	if sum.DesiredInstances != 6 || sum.RunningInstances != 6 || sum.Health.Crashes < 2 {
		t.Errorf("end: %d desired, %d running, %d crashes; want 6, 6, >= 2", sum.DesiredInstances, sum.RunningInstances, sum.Health.Crashes)
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == workload {
			t.Errorf("workload process %s is still running", e.Name())
		}
	}
}
