// Package benchtest holds the benchmark-matrix fixture that the tests of bench,
// bench/queue and cmd/diegolab share: a scenario that runs in milliseconds and whose
// outcome depends on the seed, and a helper that writes it next to a spec.
package benchtest

import (
	"os"
	"path/filepath"
	"testing"
)

// StableScenario: 4 cells of 4096 MB in 2 zones; 3 apps x 3 instances x 512 MB =
// 4608 MB of 16384 MB (28 %), for 3 minutes, nothing failing: every seed gives the
// same placements. Its run name is "tiny".
const StableScenario = `
[run]
name = "tiny"
duration = "3m"

[[cells]]
count = 4
zones = ["z1", "z2"]
memory_mb = 4096
disk_mb = 8192

[[apps]]
name = "web"
count = 3
instances = 3
memory_mb = 512
disk_mb = 512
`

// TinyScenario is StableScenario with every instance crashing 20-60 s after it
// starts: milliseconds per run, but seeds matter.
const TinyScenario = StableScenario + `crash = {after = {dist = "uniform", min = "20s", max = "60s"}}
`

// WriteSpec writes scenario (TinyScenario, StableScenario) as tiny.toml and spec (a
// bench spec, which names it as file = "tiny.toml") as spec.toml into a new temporary
// directory of tb, and returns the directory and the spec's path.
func WriteSpec(tb testing.TB, scenario, spec string) (dir, path string) {
	tb.Helper()
	dir = tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.toml"), []byte(scenario), 0o644); err != nil {
		tb.Fatal(err)
	}
	path = filepath.Join(dir, "spec.toml")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir, path
}
