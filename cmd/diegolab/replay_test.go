package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplayCommand runs a tiny replay end to end: two nodes, three pods, two
// policies, and checks the files it writes.
func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nodes := write("nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,65536,2,T4\nn1,32000,65536,0,\n")
	pods := write("pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np0,4000,1024,1,500,\np1,8000,2048,1,1000,T4\np2,2000,512,0,0,\n")
	spec := write("spec.toml", "name = \"tiny\"\nnodes = \""+nodes+"\"\npolicies = [\"fgd\", \"gpu-packing\"]\nseeds = \"1-2\"\ntune = 1.3\n"+
		"[[traces]]\nname = \"t\"\npods = \""+pods+"\"\n")
	out := filepath.Join(dir, "out")
	code, stdout, stderr := capture(t, "replay", spec, "-o", out, "-j", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "| fgd | ") || !strings.Contains(stdout, "4 runs in") {
		t.Errorf("stdout:\n%s", stdout)
	}
	for _, f := range []string{"results.csv", "curve.csv", "perf.csv", "summary.md", "curves.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	res, _ := os.ReadFile(filepath.Join(out, "results.csv"))
	if n := strings.Count(string(res), "\n"); n != 5 {
		t.Errorf("results.csv has %d lines, want a header and 4 runs:\n%s", n, res)
	}
	code, _, stderr = capture(t, "replay", spec, "--traces", "nope")
	if code != 2 || !strings.Contains(stderr, `--traces: "nope" is not in the spec (t)`) {
		t.Errorf("unknown trace: exit %d, %s", code, stderr)
	}
}
