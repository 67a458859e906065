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
		{"tasks", `
[[tasks]]
name = "batch"
count = 3
memory_mb = 64
disk_mb = 64
duration = "5s"
`, nil, []string{"tasks", "not supported by real mode"}},
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
