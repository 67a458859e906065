package scenario

import (
	"strings"
	"testing"

	"github.com/diegolab/diegolab/scenarios"
)

const base = `
[run]
duration = "1m"
[[cells]]
count = 2
zones = ["z1", "z2"]
memory_mb = 4096
disk_mb = 8192
[[apps]]
name = "web"
count = 2
instances = 2
memory_mb = 128
disk_mb = 64
`

func TestCheckAcceptsASmallScenario(t *testing.T) {
	sc, err := scenarios.Parse("small.toml", []byte(base+`
[[events]]
at = "5s"
action = "add-cells"
count = 1
memory_mb = 4096
disk_mb = 8192
[[events]]
at = "10s"
action = "crash-cell"
cell = "cell-1"
[[events]]
at = "20s"
action = "restore-cell"
cell = "cell-1"
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(sc, DefaultLimits()); err != nil {
		t.Fatalf("refused: %v", err)
	}
}

// Each refusal names the file, the key and what real mode cannot do or the limit.
func TestCheckRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		overrides   []string
		want        []string
	}{
		{"docker task", `
[[tasks]]
name = "batch"
count = 3
memory_mb = 64
disk_mb = 64
duration = "5s"
rootfs = "docker:///busybox"
`, nil, []string{"tasks[0] (batch)", "real mode runs tasks in the default stack"}},
		{"tasks beyond", `
[[tasks]]
name = "batch"
count = 57
memory_mb = 64
disk_mb = 64
duration = "5s"
`, nil, []string{"61 instances at once"}},
		{"the task runner's name", "", []string{`apps.web.name="scenario-tasks"`, "apps.scenario-tasks.count=1"}, []string{"runs the scenario's tasks in an app named scenario-tasks"}},
		{"add-cells of another size", `
[[events]]
at = "10s"
action = "add-cells"
count = 1
memory_mb = 2048
disk_mb = 8192
`, nil, []string{"events[0] (add-cells)", "the added cells differ from cells[0]"}},
		{"add-cells beyond", `
[[events]]
at = "10s"
action = "add-cells"
count = 7
memory_mb = 4096
disk_mb = 8192
`, nil, []string{"9 cells is beyond this machine's limit of 8 reps"}},
		{"too many cells", "", []string{"cells.cell.count=9"}, []string{"9 cells is beyond this machine's limit of 8 reps (--max-cells)"}},
		{"too many instances", "", []string{"apps.web.instances=31"}, []string{"62 instances at once is beyond this machine's limit of 60 containers (--max-instances)"}},
		{"scale beyond", `
[[events]]
at = "10s"
action = "scale"
app = "web"
instances = 40
`, nil, []string{"80 instances at once"}},
		{"app name", "", []string{`apps.web.name="Web_App"`}, []string{"lowercase letters, digits and '-'"}},
		{"too long", "", []string{`run.duration="2h"`}, []string{"2h0m0s of wall time is beyond the limit of 30m0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := scenarios.Parse("bad.toml", []byte(base+tc.extra), tc.overrides...)
			if err != nil {
				t.Fatal(err)
			}
			err = Check(sc, DefaultLimits())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range append(tc.want, "bad.toml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// Tasks run live: a scenario with [[tasks]] is accepted, and the tasks are desired at
// the simulator's times (the start, or Poisson gaps from the run's "tasks" stream).
func TestTaskTimes(t *testing.T) {
	sc, err := scenarios.Load("testdata/tasks.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(sc, DefaultLimits()); err != nil {
		t.Fatalf("refused: %v", err)
	}
	steps := taskTimes(sc)
	if len(steps) != 7 {
		t.Fatalf("%d tasks, want 7", len(steps))
	}
	cron := 0
	for i, s := range steps {
		g := sc.Tasks[s.group]
		if g.Name == "batch" && s.at != g.StartAt {
			t.Errorf("batch-%d at %v, want %v", s.n, s.at, g.StartAt)
		}
		if g.Name == "cron" {
			if s.at <= g.StartAt || (cron > 0 && s.at <= steps[i-1].at) {
				t.Errorf("cron-%d at %v: want Poisson gaps after %v, increasing", s.n, s.at, g.StartAt)
			}
			cron++
		}
	}
}

// The cells of add-cells events join the driver's cells after the initial ones, in
// the simulator's order and ids, parked (cellNotAdded): a fault drawn by count or by
// zone never picks one before its event.
func TestAddedCells(t *testing.T) {
	sc, err := scenarios.Load("testdata/addcells.toml")
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{sc: sc}
	for _, c := range sc.InitialCells() {
		d.ids, d.zones, d.state = append(d.ids, c.ID), append(d.zones, c.Zone), append(d.state, cellUp)
	}
	added := d.addedCells()
	if strings.Join(d.ids, " ") != "cell-0 cell-1 cell-2 cell-3" || strings.Join(d.zones, " ") != "z1 z2 z1 z2" {
		t.Fatalf("cells %v in zones %v", d.ids, d.zones)
	}
	if len(added) != 1 || len(added[0]) != 2 || added[0][0] != 2 || added[0][1] != 3 {
		t.Errorf("added %v, want event 0 -> [2 3]", added)
	}
	for _, ev := range []scenarios.Event{{Action: scenarios.ActionCrashCell, Zone: "z1"}, {Action: scenarios.ActionRestoreCell, Zone: "z2"}} {
		for _, ci := range d.selectCells(&ev) {
			if ci >= 2 {
				t.Errorf("%s in %s picked %s, not added yet", ev.Action, ev.Zone, d.ids[ci])
			}
		}
	}
}
