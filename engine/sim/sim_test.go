package sim_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// run simulates sc into a fresh directory and returns it with the summary.
func run(t *testing.T, sc *scenarios.Scenario, noEvents bool) (string, *record.Summary) {
	t.Helper()
	dir := t.TempDir()
	s, err := sim.New(sc, sim.Options{OutDir: dir, NoEvents: noEvents})
	if err != nil {
		t.Fatalf("seed %d: %v", sc.Seed, err)
	}
	sum, err := s.Run()
	if err != nil {
		t.Fatalf("seed %d: %v", sc.Seed, err)
	}
	return dir, sum
}

func parse(t *testing.T, src string, overrides ...string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse(t.Name()+".toml", []byte(src), overrides...)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestDeterminism runs every shipped scenario twice with the same seed and requires
// byte-identical run records; then once with another seed, which must change the trace.
func TestDeterminism(t *testing.T) {
	for _, name := range scenarios.Shipped() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := scenarios.LoadShipped(name)
			if err != nil {
				t.Fatal(err)
			}
			big := strings.Contains(name, "250k")
			if big && testing.Short() {
				t.Skip("-short: skipping the 250,000-instance scenario")
			}
			a, sa := run(t, sc, big)
			b, sb := run(t, sc, big)
			files := []string{record.SummaryFile, record.CellsFile, record.PlacementsFile, record.TimeseriesFile}
			if !big {
				files = append(files, record.EventsFile)
			}
			for _, f := range files {
				fa, err := os.ReadFile(filepath.Join(a, f))
				if err != nil {
					t.Fatal(err)
				}
				fb, err := os.ReadFile(filepath.Join(b, f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(fa, fb) {
					t.Errorf("seed %d: %s differs between two runs of the same scenario", sc.Seed, f)
				}
			}
			if sa.TraceHash != sb.TraceHash {
				t.Errorf("seed %d: trace hash %s != %s", sc.Seed, sa.TraceHash, sb.TraceHash)
			}
			if big {
				return
			}
			sc2, err := scenarios.LoadShipped(name, "run.seed=99")
			if err != nil {
				t.Fatal(err)
			}
			_, sc2sum := run(t, sc2, true)
			if sc2sum.TraceHash == sa.TraceHash {
				t.Errorf("seed 99 gave the same trace hash %s as seed %d", sa.TraceHash, sc.Seed)
			}
		})
	}
}

// The seed drives every random draw: on a scenario with random start times, crashes
// and Poisson arrivals, another seed gives another outcome, not just another hash.
func TestSeedChangesOutcome(t *testing.T) {
	a, err := scenarios.LoadShipped("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	b, err := scenarios.LoadShipped("quickstart", "run.seed=2")
	if err != nil {
		t.Fatal(err)
	}
	da, _ := run(t, a, false)
	db, _ := run(t, b, false)
	ea, _ := os.ReadFile(filepath.Join(da, record.EventsFile))
	eb, _ := os.ReadFile(filepath.Join(db, record.EventsFile))
	if bytes.Equal(ea, eb) {
		t.Errorf("seeds 1 and 2 gave identical events.jsonl")
	}
}

// TestQuickstartGolden pins quickstart's summary.json; regenerate with -update after a
// deliberate change of behaviour, and say why in the commit.
func TestQuickstartGolden(t *testing.T) {
	sc, err := scenarios.LoadShipped("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := run(t, sc, true)
	got, err := os.ReadFile(filepath.Join(dir, record.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "quickstart.summary.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./engine/sim -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("seed %d: quickstart summary.json differs from %s (run with -update if the change is intended)\n got:\n%s", sc.Seed, golden, got)
	}
}

const cluster = `
[run]
duration = "20m"
[[cells]]
count = 6
zones = ["z1", "z2", "z3"]
memory_mb = 8192
disk_mb = 16384
[[apps]]
name = "web"
count = 10
instances = 4
memory_mb = 256
disk_mb = 512
start_time = {dist = "const", value = "5s"}
`

// Crash a cell at T: every instance runs again by T + presence TTL + one convergence
// interval + start time (+ the auction's state fetch).
func TestCellCrashRecoveryBound(t *testing.T) {
	sc := parse(t, cluster+`
[[events]]
at = "5m"
action = "crash-cell"
cell = "cell-0"
`)
	_, sum := run(t, sc, false)
	if len(sum.Faults) != 1 || sum.Faults[0].RecoverySeconds == nil {
		t.Fatalf("seed %d: faults = %+v, want one recovered fault", sc.Seed, sum.Faults)
	}
	bound := (sc.Timers.PresenceTTL + sc.Timers.ConvergenceInterval + 5*time.Second + time.Second).Seconds()
	if got := *sum.Faults[0].RecoverySeconds; got <= 0 || got > bound {
		t.Errorf("seed %d: recovery %.1fs, want in (0, %.0fs]", sc.Seed, got, bound)
	}
	if sum.RunningInstances != sum.DesiredInstances || sum.DesiredInstances != 40 {
		t.Errorf("seed %d: running %d of %d desired, want 40 of 40", sc.Seed, sum.RunningInstances, sum.DesiredInstances)
	}
	if sum.Health.SuspectCells != 1 {
		t.Errorf("seed %d: suspect cells %d, want 1", sc.Seed, sum.Health.SuspectCells)
	}
}

// A partition shorter than the presence TTL reschedules nothing: no suspect, no
// replacement, no instance missing.
func TestShortPartitionReschedulesNothing(t *testing.T) {
	sc := parse(t, cluster+`
[[events]]
at = "5m"
action = "partition-cell"
cell = "cell-0"
duration = "8s"
`)
	dir, sum := run(t, sc, false)
	if sum.Health.SuspectCells != 0 {
		t.Errorf("seed %d: %d cells lost after an 8s partition, want 0", sc.Seed, sum.Health.SuspectCells)
	}
	created := 0
	err := record.ReadEvents(dir, func(e *record.Event) error {
		if e.Type == record.TypeActualLRP && e.T > 300 && (e.Presence == "SUSPECT" || e.Change == record.ChangeCreated) {
			created++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if created != 0 {
		t.Errorf("seed %d: %d suspect or new instance rows after the partition, want 0", sc.Seed, created)
	}
}

// A long partition makes the cell's instances SUSPECT and starts replacements; when the
// cell returns, the extra instances are cleaned up and running equals desired.
func TestLongPartitionRecovers(t *testing.T) {
	sc := parse(t, cluster+`
[[events]]
at = "5m"
action = "partition-cell"
cell = "cell-0"
duration = "3m"
`)
	dir, sum := run(t, sc, false)
	if sum.Health.SuspectCells != 1 {
		t.Errorf("seed %d: suspect cells %d, want 1", sc.Seed, sum.Health.SuspectCells)
	}
	suspects := 0
	if err := record.ReadEvents(dir, func(e *record.Event) error {
		if e.Type == record.TypeActualLRP && e.Presence == "SUSPECT" {
			suspects++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if suspects == 0 {
		t.Errorf("seed %d: no SUSPECT rows during a 3m partition", sc.Seed)
	}
	if sum.RunningInstances != sum.DesiredInstances {
		t.Errorf("seed %d: running %d != desired %d at the end", sc.Seed, sum.RunningInstances, sum.DesiredInstances)
	}
}

// Draining a cell never leaves an instance missing: the EVACUATING copy runs until its
// replacement does.
func TestDrainLosesNothing(t *testing.T) {
	sc := parse(t, cluster+`
[[events]]
at = "5m"
action = "drain-cell"
cell = "cell-0"
[[events]]
at = "6m"
action = "restore-cell"
cell = "cell-0"
`)
	dir, sum := run(t, sc, false)
	if sum.Health.EvacuationsCompleted != 1 || sum.Health.EvacuationsTimedOut != 0 {
		t.Errorf("seed %d: evacuations %d completed, %d timed out; want 1, 0", sc.Seed, sum.Health.EvacuationsCompleted, sum.Health.EvacuationsTimedOut)
	}
	rows, err := record.ReadCSV[record.Sample](dir, record.TimeseriesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.T >= 300 && r.Running < r.Desired {
			t.Errorf("seed %d: at t=%.0fs running %d < desired %d during the drain", sc.Seed, r.T, r.Running, r.Desired)
		}
	}
	if got := sum.Faults[0].RecoverySeconds; got == nil || *got != 0 {
		t.Errorf("seed %d: drain recovery %v, want 0 (nothing went missing)", sc.Seed, got)
	}
}

// Property: with enough capacity and no further faults, running converges to desired
// after crashes, scale events and a cell loss, for any seed.
func TestConvergesToDesired(t *testing.T) {
	for seed := 1; seed <= 8; seed++ {
		sc := parse(t, cluster+`
[[apps]]
name = "flaky"
count = 4
instances = 3
memory_mb = 128
disk_mb = 256
crash = {after = {dist = "exp", mean = "2m"}}
[[events]]
at = "3m"
action = "crash-cell"
count = 1
[[events]]
at = "4m"
action = "scale"
app = "web"
instances = 6
[[events]]
at = "6m"
action = "crash-instances"
app = "web-*"
fraction = 0.3
[[events]]
at = "7m"
action = "stop-app"
app = "flaky"
`, "run.seed="+itoa(seed))
		_, sum := run(t, sc, true)
		if sum.RunningInstances != sum.DesiredInstances || sum.DesiredInstances != 60 {
			t.Errorf("seed %d: running %d of %d desired at the end, want 60 of 60", seed, sum.RunningInstances, sum.DesiredInstances)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// A task that finishes while its cell is cut off cannot report; when the cell returns,
// the rep's bulk sync (model/cell.Harmonize) finds the BBS still running it there with
// no container, and fails it with Diego's reason, instead of it running forever.
func TestTaskFinishedDuringPartitionIsFailedBySync(t *testing.T) {
	sc := parse(t, `
[run]
duration = "5m"
[[cells]]
count = 1
memory_mb = 4096
disk_mb = 8192
[[tasks]]
name = "job"
count = 1
memory_mb = 256
disk_mb = 256
duration = {dist = "const", value = "5s"}
start_at = "57s"
[[events]]
at = "60s"
action = "partition-cell"
cell = "cell-0"
duration = "8s"
`)
	_, sum := run(t, sc, false)
	if sum.Tasks.RunningAtEnd != 0 || sum.Tasks.Failed != 1 || sum.Tasks.FailedByReason["task container does not exist"] != 1 {
		t.Errorf("seed %d: tasks %+v, want the one task failed with \"task container does not exist\"", sc.Seed, sum.Tasks)
	}
	if sum.Health.SuspectCells != 0 {
		t.Errorf("seed %d: %d cells lost after an 8s partition, want 0", sc.Seed, sum.Health.SuspectCells)
	}
}
