package scenarios

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
)

// writeOpenB writes an openb-shaped node list and pod list of the given sizes into dir
// (the default trace has 1,523 nodes and 8,152 pods): the trace's node shapes in runs,
// and pods mixing CPU-only work, GPU shares with and without a model spec, and whole
// devices.
func writeOpenB(t testing.TB, dir string, nodes, pods int) {
	t.Helper()
	r := rand.New(rand.NewPCG(19, 2023))
	var b strings.Builder
	b.WriteString("sn,cpu_milli,memory_mib,gpu,model\n")
	shapes := []string{"32000,262144,0,", "96000,786432,8,V100M16", "96000,786432,8,V100M32", "64000,262144,2,T4", "128000,786432,8,A10", "96000,393216,1,P100"}
	for i := 0; i < nodes; i++ {
		fmt.Fprintf(&b, "openb-node-%04d,%s\n", i, shapes[(i/37)%len(shapes)])
	}
	if err := os.WriteFile(filepath.Join(dir, "nodes.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.WriteString("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n")
	for i := 0; i < pods; i++ {
		cpu, mem := 1000*(1+r.IntN(16)), 1024*(1+r.IntN(32))
		gpus, milli, spec := 0, 0, ""
		switch k := r.IntN(10); {
		case k < 2: // CPU only
		case k < 7:
			gpus, milli = 1, []int{250, 300, 460, 500}[r.IntN(4)]
		case k < 8:
			gpus, milli, spec = 1, 500, "V100M16|V100M32"
		default:
			gpus, milli = 1+r.IntN(4), 1000
		}
		fmt.Fprintf(&b, "openb-pod-%04d,%d,%d,%d,%d,%s,LS,Running,0,100,0\n", i, cpu, mem, gpus, milli, spec)
	}
	if err := os.WriteFile(filepath.Join(dir, "pods.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

const traceScenario = `[run]
duration = "20m"

[trace]
nodes = "traces/nodes.csv"
pods = "traces/pods.csv"
`

// traceDir makes dir/traces with a fixture and returns the scenario path in dir.
func traceDir(t testing.TB, nodes, pods int, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "traces"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeOpenB(t, filepath.Join(dir, "traces"), nodes, pods)
	path := filepath.Join(dir, "s.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTraceLoads(t *testing.T) {
	path := traceDir(t, 100, 50, traceScenario+"per_second = 20\nstart_at = \"30s\"\n")
	sc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Trace == nil || sc.Trace.NodeCount != 100 || sc.Trace.PodCount != 50 {
		t.Fatalf("trace %+v: want 100 nodes, 50 pods", sc.Trace)
	}
	cells := sc.InitialCells()
	if len(cells) != 100 {
		t.Fatalf("%d cells, want 100", len(cells))
	}
	// Nodes 0-36 are CPU-only, 37-73 V100M16 (8 devices), 74-99 V100M32.
	if got := cells[0].ID; got != "cpu-0gpu-32000cpu-262144mib-0" {
		t.Errorf("first cell %q", got)
	}
	if diff := cmp.Diff(model.NewCellCompute(96000, 8, "V100M16"), cells[37].Compute); diff != "" {
		t.Errorf("cell 37 compute (-want +got):\n%s", diff)
	}
	if len(sc.Cells) != 3 || sc.Cells[1].Count != 37 || cells[0].Total.DiskMB != 1048576 || cells[0].Total.Containers != model.DefaultContainers {
		t.Errorf("cell groups %+v", sc.Cells)
	}
	if len(sc.Apps) != 50 {
		t.Fatalf("%d apps, want 50", len(sc.Apps))
	}
	// Pod 45 arrives at 30s + 45/20 s = 32s.
	if g := sc.Apps[45]; g.Name != "openb-pod-0045" || g.StartAt != 32*time.Second || g.Instances != 1 || g.DiskMB != 1024 {
		t.Errorf("app 45: %+v", g)
	}
	shared, specs := 0, 0
	for i, g := range sc.Apps {
		if g.Compute != nil && len(g.Compute.GPUModels) > 0 {
			specs++
		}
		for _, h := range sc.Apps[:i] {
			if g.Compute != nil && h.Compute == g.Compute {
				shared++
				break
			}
		}
	}
	if specs == 0 || shared == 0 {
		t.Errorf("%d pods with a model spec, %d sharing a request: the fixture should have both", specs, shared)
	}
	// The groups resolve like the tables' (an event selecting a pod by name).
	if got := sc.MatchApps("openb-pod-0003"); len(got) != 1 {
		t.Errorf("MatchApps(openb-pod-0003) = %v", got)
	}
}

func TestTraceErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   string
		edit  func(dir string)
		wants []string
	}{
		{"missing file", strings.Replace(traceScenario, "traces/pods.csv", "traces/nope.csv", 1), nil,
			[]string{"s.toml:6: trace.pods: cannot read the trace file: open ", "nope.csv: no such file or directory"}},
		{"bad row", traceScenario, func(dir string) {
			appendLine(t, filepath.Join(dir, "traces", "pods.csv"), "openb-pod-x,1000,1024,2,300,,LS,Running,0,1,0")
			appendLine(t, filepath.Join(dir, "traces", "pods.csv"), "openb-pod-y,lots,1024,0,0,,LS,Running,0,1,0")
		}, []string{`pods.csv:12: column gpu_milli: a share of a device (300 < 1000) needs num_gpu 1, got 2`,
			`pods.csv:13: column cpu_milli: must be an integer in [0, 1073741824], got "lots"`}},
		{"bad node", traceScenario, func(dir string) {
			appendLine(t, filepath.Join(dir, "traces", "nodes.csv"), "n-x,1000,1024,65,A100")
		}, []string{`nodes.csv:12: column gpu: must be an integer in [0, 64], got 65`}},
		{"header", traceScenario, func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, "traces", "nodes.csv"), []byte("sn,cpu,memory_mib,gpu,model\nx,1,1,0,\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{`nodes.csv:1: the header lacks column "cpu_milli" (want sn, cpu_milli, memory_mib, gpu, model)`}},
		{"duplicate name", traceScenario + "\n[[apps]]\nname = \"openb-pod-0001\"\nmemory_mb = 1\ndisk_mb = 1\n", nil,
			[]string{`trace.pods: pod "openb-pod-0001" (traces/pods.csv line 3) has the name of apps[0]`}},
		{"too slow", traceScenario + "per_second = 1\n", func(dir string) {
			for i := 0; i < 1300; i++ {
				appendLine(t, filepath.Join(dir, "traces", "pods.csv"), fmt.Sprintf("q-%d,1000,1024,0,0,,LS,Running,0,1,0", i))
			}
		}, []string{"s.toml:7: trace.per_second: 1310 pods at 1 a second from 0s arrive until 21m49s, beyond run.duration (20m0s)"}},
		{"format", traceScenario + "format = \"borg\"\n", nil, []string{`trace.format: unknown format "borg" (want "openb")`}},
		{"no pods key", strings.Replace(traceScenario, "pods = \"traces/pods.csv\"\n", "", 1), nil,
			[]string{"s.toml:4: trace.pods: missing; expected the path of the pod list CSV"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := traceDir(t, 10, 10, tc.src)
			if tc.edit != nil {
				tc.edit(filepath.Dir(path))
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLoadTrace loads a scenario referencing a generated trace of the openb
// default trace's size (1,523 nodes, 8,152 pods). Goal: < 200 ms.
func BenchmarkLoadTrace(b *testing.B) {
	path := traceDir(b, 1523, 8152, traceScenario)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		sc, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(sc.Apps) != 8152 {
			b.Fatalf("%d apps", len(sc.Apps))
		}
	}
}

// BenchmarkLoadOpenBDefault loads the real openb default trace from ../../shared/traces
// (the workspace's copy; absent in a fresh clone, where it says so and stops).
func BenchmarkLoadOpenBDefault(b *testing.B) {
	dir, err := filepath.Abs("../../shared/traces/alibaba-openb-2023")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "openb_pod_list_default.csv")); err != nil {
		b.Skipf("the openb trace is not at %s: %v", dir, err)
	}
	path := filepath.Join(b.TempDir(), "openb.toml")
	src := fmt.Sprintf("[run]\nduration = \"20m\"\n[trace]\nnodes = %q\npods = %q\n",
		filepath.Join(dir, "openb_node_list_all_node.csv"), filepath.Join(dir, "openb_pod_list_default.csv"))
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		sc, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if sc.Trace.NodeCount != 1523 || sc.Trace.PodCount != 8152 {
			b.Fatalf("%+v", sc.Trace)
		}
	}
}

// reportCPU reports the process's CPU time (user + system) per iteration as cpu-ms/op:
// on a shared machine ns/op is wall time, inflated by the other processes' load.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
