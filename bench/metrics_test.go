package bench

import (
	"math"
	"testing"

	"github.com/diegolab/diegolab/internal/benchtest"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

func TestComputeKnownValues(t *testing.T) {
	sc, err := scenarios.Parse("m.toml", []byte(`
[run]
duration = "1m"
[[cells]]
count = 3
zones = ["z1", "z2"]
memory_mb = 1000
disk_mb = 1000
[[apps]]
name = "a"
count = 1
instances = 3
memory_mb = 300
disk_mb = 10
[[apps]]
name = "b"
count = 1
instances = 2
memory_mb = 100
disk_mb = 10
`))
	if err != nil {
		t.Fatal(err)
	}
	// cell-0 (z1): a x 2 + b x 1 = 700 MB; cell-1 (z2): a x 1 = 300 MB; cell-2 (z1): b x 1 = 100 MB.
	cells := []record.CellRow{
		{CellID: "cell-0", Zone: "z1", MemoryMB: 1000, MemoryUsedMB: 700, DiskMB: 1000, DiskUsedMB: 30, Containers: 10, ContainersUsed: 3, State: record.CellUp},
		{CellID: "cell-1", Zone: "z2", MemoryMB: 1000, MemoryUsedMB: 300, DiskMB: 1000, DiskUsedMB: 10, Containers: 10, ContainersUsed: 1, State: record.CellUp},
		{CellID: "cell-2", Zone: "z1", MemoryMB: 1000, MemoryUsedMB: 100, DiskMB: 1000, DiskUsedMB: 10, Containers: 10, ContainersUsed: 1, State: record.CellUp},
	}
	pl := []record.PlacementRow{
		{CellID: "cell-0", ProcessGUID: "a-0", Instances: 2}, {CellID: "cell-0", ProcessGUID: "b-0", Instances: 1},
		{CellID: "cell-1", ProcessGUID: "a-0", Instances: 1}, {CellID: "cell-2", ProcessGUID: "b-0", Instances: 1},
	}
	sum := &record.Summary{DesiredInstances: 5, RunningInstances: 5,
		Auction: record.AuctionSummary{LRPsAuctioned: 8, LRPsFailed: 1, TasksAuctioned: 2, TasksFailed: 1},
		Health:  record.Health{InstanceSecondsMissing: 12.5},
		Faults:  []record.Fault{{Action: "crash-cell"}}}
	m := Compute(Outcome{Scenario: sc, Summary: sum, Cells: cells, Placements: pl})
	want := map[string]float64{
		MFailureRate: 0.2, // (1 + 1) / (8 + 2)
		// Bottleneck (from the scenario's requests): memory 1100/3000 = 0.367 > disk 50/3000
		// and containers 5/(3 x 249); used/capacity over the live cells: 1100/3000.
		MAllocRatio: 1100.0 / 3000,
		MMemoryUsed: 1100.0 / 3000,
		// Median request: instances 300,300,300,100,100 -> 300 MB (10 MB disk). Free
		// memory 300, 700, 900 MB: every cell can take 300 MB, so none is stranded.
		MStrandedMemory: 0,
		// used 700, 300, 100: mean 366.67, population sd sqrt(((333.3)^2+(66.7)^2+(266.7)^2)/3) = 249.44; CoV 0.68030.
		MBalanceCoV: 0.680301,
		// a: z1 2, z2 1 -> skew 1; b: z1 2, z2 0 -> skew 2. Mean 1.5, max 2.
		MZoneSkewMean: 1.5, MZoneSkewMax: 2,
		// largest share on one cell: a 2/3, b 1/2 -> mean 7/12; in one zone: a 2/3, b 2/2 -> mean 5/6.
		MBlastCell: 7.0 / 12, MBlastZone: 5.0 / 6,
		MMissingEnd: 0, MMissingSeconds: 12.5, MUnrecovered: 1,
	}
	for k, v := range want {
		if math.Abs(m[k]-v) > 1e-5 {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	// A cell with 250 MB free cannot take the 300 MB median: its 250 MB is stranded.
	cells[0].MemoryUsedMB = 750
	m = Compute(Outcome{Scenario: sc, Summary: sum, Cells: cells, Placements: pl})
	if math.Abs(m[MStrandedMemory]-250.0/3000) > 1e-9 {
		t.Errorf("stranded = %v, want %v", m[MStrandedMemory], 250.0/3000)
	}
}

func TestInflateReachesLoad(t *testing.T) {
	base, err := scenarios.Parse("base.toml", []byte(benchtest.StableScenario))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Inflate(base, InflateParams{Load: 1.3, Seed: 3, PerStep: 4})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := f.Parse("inflated.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Bottleneck of tiny: memory (4608/16384 = 0.28 vs containers 9/(4 x 249)). Requests
	// of 512 MB until >= 1.3 x 16384 = 21299.2 MB: ceil(21299.2/512) = 42 arrivals.
	n := 0
	for _, g := range sc.Apps {
		n += g.Count * g.Instances
	}
	if n != 42 {
		t.Errorf("%d arrivals, want 42", n)
	}
	// 42 arrivals, 4 per round: 11 rounds, the last at 10 s; + 2 min settle.
	if sc.Duration.Seconds() != 130 || len(sc.Events) != 0 || sc.Seed != 3 {
		t.Errorf("duration %s, %d events, seed %d", sc.Duration, len(sc.Events), sc.Seed)
	}
}

func TestCompactionTiny(t *testing.T) {
	_, path := benchtest.WriteSpec(t, benchtest.StableScenario, "metrics = [\"compaction_cells\", \"compaction_ratio\"]\n[[scenarios]]\nfile = \"tiny.toml\"\n")
	spec, err := LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := spec.Expand()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compaction(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	// 9 instances x 512 MB; a 4096 MB cell holds 8: 1 cell does not fit, 2 do.
	// Trials: 4 (fits), 2 (fits), 1 (does not) = 3 runs.
	if c.Cells != 2 || c.Ratio != 0.5 || c.Runs != 3 {
		t.Errorf("compaction %+v, want 2 cells, ratio 0.5, 3 runs", c)
	}
	if got := share([]int{3, 1}, 3); got[0]+got[1] != 3 || got[0] != 2 {
		t.Errorf("share([3 1], 3) = %v, want [2 1]", got)
	}
}
