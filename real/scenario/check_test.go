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
		{"docker app", `
[[apps]]
name = "dock"
count = 1
instances = 1
memory_mb = 128
disk_mb = 64
buildpack = "go_buildpack"
`, nil, []string{"apps[1] (dock)", "lifecycle", "not supported by real mode"}},
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
		{"add-cells", `
[[events]]
at = "10s"
action = "add-cells"
count = 1
memory_mb = 4096
disk_mb = 8192
`, nil, []string{"add-cells is not supported"}},
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
