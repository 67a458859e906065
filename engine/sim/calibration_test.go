package sim_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
	"github.com/diegolab/diegolab/scenarios/behave"
)

// queued is calibrated with the per-cell start queue in place of the overheads.
var queued = []string{`calibration.draws="instance"`, `calibration.heartbeat_phase="spread"`,
	`calibration.start_concurrency=2`, `calibration.start_service={dist="normal", mean="1s", stddev="300ms"}`,
	`calibration.auction_latency="20ms"`}

var calibrated = []string{`calibration.draws="instance"`, `calibration.heartbeat_phase="spread"`,
	`calibration.start_overhead={dist="uniform", min="100ms", max="300ms"}`, `calibration.auction_latency="20ms"`,
	`calibration.first_start_overhead={dist="normal", mean="2s", stddev="500ms"}`}

// With every calibration on, the simulator stays deterministic: two runs of the same
// scenario and seed write byte-identical records; and the calibration changes the run.
func TestCalibrationDeterminism(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
	}{{"crashing-apps", calibrated}, {"cell-crash", calibrated}, {"crashing-apps", queued}, {"cell-crash", queued}} {
		name := tc.name
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.LoadShipped(name, tc.sets...)
			if err != nil {
				t.Fatal(err)
			}
			a, sa := run(t, sc, false)
			b, sb := run(t, sc, false)
			for _, f := range []string{record.SummaryFile, record.EventsFile, record.CellsFile, record.PlacementsFile, record.TimeseriesFile} {
				fa, _ := os.ReadFile(filepath.Join(a, f))
				fb, _ := os.ReadFile(filepath.Join(b, f))
				if len(fa) == 0 || !bytes.Equal(fa, fb) {
					t.Errorf("seed %d: %s differs between two calibrated runs (or is empty)", sc.Seed, f)
				}
			}
			plain, err := scenarios.LoadShipped(name)
			if err != nil {
				t.Fatal(err)
			}
			_, sp := run(t, plain, true)
			if sp.TraceHash == sa.TraceHash || sa.TraceHash != sb.TraceHash {
				t.Errorf("hashes: plain %s, calibrated %s and %s", sp.TraceHash, sa.TraceHash, sb.TraceHash)
			}
		})
	}
}

// With draws = "instance", every instance's start is its workload plan: the time from
// CLAIMED to RUNNING of a first start is the plan's start time (const 0 overhead; the
// simulated start is the container start: claim and create happen at one instant).
func TestInstanceDrawsMatchTheWorkload(t *testing.T) {
	src := `
[run]
duration = "2m"
seed = 5
[calibration]
draws = "instance"
[[cells]]
count = 3
memory_mb = 8192
disk_mb = 8192
[[apps]]
name = "w"
count = 2
instances = 3
memory_mb = 256
disk_mb = 256
start_time = {dist = "uniform", min = "1s", max = "20s"}
`
	sc := parse(t, src)
	dir, _ := run(t, sc, false)
	claimed := map[string]float64{}
	checked := 0
	err := record.ReadEvents(dir, func(e *record.Event) error {
		if e.Type != "actual_lrp" {
			return nil
		}
		switch e.State {
		case "CLAIMED":
			claimed[e.InstanceGUID] = e.T
		case "RUNNING":
			c, ok := claimed[e.InstanceGUID]
			if !ok {
				return nil
			}
			g := &sc.Apps[0]
			w := behave.NewWorkload(sc, g, e.ProcessGUID)
			plan := w.Plan(e.Index, e.InstanceGUID)
			got := time.Duration((e.T - c) * float64(time.Second))
			if d := got - plan.StartAfter; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("%s/%d %s: ran %v after its claim, the workload's plan says %v", e.ProcessGUID, e.Index, e.InstanceGUID, got, plan.StartAfter)
			}
			checked++
			delete(claimed, e.InstanceGUID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked != 6 {
		t.Fatalf("checked %d starts, want 6", checked)
	}
}

// With a calibrated start queue (start_concurrency = 2, a constant 1s service), a
// burst of starts claimed at one instant shares the machine: 5 on one cell all finish
// together after 5/2 services, then the app's constant 0.5s start time; 10 over two
// cells take as long per cell, and twice as long when the scope is the cluster. The
// queued run stays deterministic.
func TestStartQueueSharing(t *testing.T) {
	src := `
[run]
duration = "1m"
seed = 3
[calibration]
start_concurrency = 2
start_service = "1s"
[[cells]]
count = CELLS
memory_mb = 8192
disk_mb = 8192
[[apps]]
name = "w"
count = 1
instances = INSTANCES
memory_mb = 256
disk_mb = 256
start_time = "500ms"
`
	for _, tc := range []struct {
		name             string
		cells, instances string
		scope            string
		want             float64
	}{
		{"one cell", "1", "5", "", 3},
		{"two cells", "2", "10", "", 3},
		{"two cells, cluster scope", "2", "10", "start_scope = \"cluster\"\n", 5.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReplacer("CELLS", tc.cells, "INSTANCES", tc.instances, "start_service", tc.scope+"start_service")
			sc := parse(t, r.Replace(src))
			dir, sa := run(t, sc, false)
			claimed := map[string]float64{}
			var took []float64
			err := record.ReadEvents(dir, func(e *record.Event) error {
				if e.Type != "actual_lrp" {
					return nil
				}
				switch e.State {
				case "CLAIMED":
					claimed[e.InstanceGUID] = e.T
				case "RUNNING":
					if c, ok := claimed[e.InstanceGUID]; ok {
						took = append(took, e.T-c)
						delete(claimed, e.InstanceGUID)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(took) != sc.Apps[0].Instances {
				t.Fatalf("%d starts, want %d", len(took), sc.Apps[0].Instances)
			}
			for _, d := range took {
				if math.Abs(d-tc.want) > 0.001 {
					t.Fatalf("claim to running: %v, want %v each", took, tc.want)
				}
			}
			_, sb := run(t, sc, false)
			if sa.TraceHash != sb.TraceHash {
				t.Errorf("two queued runs differ: %s, %s", sa.TraceHash, sb.TraceHash)
			}
		})
	}
}
