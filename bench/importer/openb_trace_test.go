package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const openbPodHeader = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"

func TestReadOpenBMapsEveryColumn(t *testing.T) {
	nodes := "sn,cpu_milli,memory_mib,gpu,model\n" +
		"n0,32000,262144,0,\n" +
		"n1,96000,786432,8,G2\n" +
		"n2,96000,786432,8,\n" + // GPUs without a model
		"n3,lots,1,0,\n"
	pods := openbPodHeader +
		"p0,12000,16384,1,1000,,LS,Running,0,12537496,0\n" +
		"p1,6000,12288,1,460,V100M16|V100M32,LS,Running,427061,,\n" +
		"p2,8000,30517,0,0,,BE,Running,1,2,3\n" +
		"p3,8000,30517,2,500,,BE,Running,1,2,3\n" + // a share of two devices
		"p4,8000,30517,1,1200,,BE,Running,1,2,3\n" // over 1000
	tr, st, err := ReadOpenB(strings.NewReader(nodes), strings.NewReader(pods))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Nodes) != 2 || tr.Nodes[1] != (OpenBNode{Name: "n1", MilliCPU: 96000, MemoryMiB: 786432, GPUs: 8, GPUModel: "G2"}) {
		t.Errorf("nodes %+v", tr.Nodes)
	}
	if len(tr.Pods) != 3 {
		t.Fatalf("pods %+v", tr.Pods)
	}
	p1 := tr.Pods[1]
	if p1.MemoryMiB != 12288 || p1.Compute.MilliCPU != 6000 || p1.Compute.GPUs != 1 || p1.Compute.GPUMilli != 460 ||
		strings.Join(p1.Compute.GPUModels, ",") != "V100M16,V100M32" || !p1.Compute.Shared() {
		t.Errorf("p1 %+v", p1)
	}
	if c := tr.Pods[2].Compute; c.GPUs != 0 || c.MilliCPU != 8000 {
		t.Errorf("p2 %+v", c)
	}
	for reason, n := range map[string]int{
		"openb node list: node with GPUs but no model":                                             1,
		"openb node list: node cpu_milli missing, not an integer, or outside [1, 1073741824]":      1,
		"openb pod list: pod.gpu_milli: a share of a device (500 < 1000) needs num_gpu = 1, got 2": 1,
		"openb pod list: pod gpu_milli missing, not an integer, or outside [0, 1000]":              1,
	} {
		if st.Skipped[reason] != n {
			t.Errorf("skipped[%q] = %d, want %d (%v)", reason, st.Skipped[reason], n, st.Skipped)
		}
	}
	// The unused pod columns are counted per column over the used rows: qos and
	// pod_phase on all 3, creation_time on 3, deletion_time on 2 (p1 has none),
	// scheduled_time on 2 (p1 has none).
	for col, n := range map[string]int{"qos": 3, "pod_phase": 3, "creation_time": 3, "deletion_time": 2, "scheduled_time": 2} {
		key := "pod column " + col + " (the inflation ignores it: no arrival times, no departures)"
		if st.Dropped[key] != n {
			t.Errorf("dropped[%s] = %d, want %d", col, st.Dropped[key], n)
		}
	}
	if !strings.Contains(st.Report(), "warning: dropped 3 values: pod column qos") {
		t.Errorf("report:\n%s", st.Report())
	}
	if _, _, err := ReadOpenB(strings.NewReader("sn,cpu_milli,memory_mib,gpu\n"), strings.NewReader(pods)); err == nil || !strings.Contains(err.Error(), `header lacks column "model"`) {
		t.Errorf("missing column: %v", err)
	}
}

// TestImportOpenBCountsDroppedColumns: the TOML import carries memory only and says
// what it leaves out.
func TestImportOpenBCountsDroppedColumns(t *testing.T) {
	nodes := "sn,cpu_milli,memory_mib,gpu,model\nn1,96000,786432,8,G2\n"
	pods := openbPodHeader + "p0,12000,16384,1,1000,,LS,Running,0,12537496,0\n"
	_, st, err := ImportOpenB(strings.NewReader(nodes), strings.NewReader(pods), OpenBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"node column cpu_milli", "node column gpu", "node column model", "pod column cpu_milli", "pod column num_gpu", "pod column gpu_milli", "pod column qos"} {
		if st.Dropped[col+" (the scenario carries memory only; see ReadOpenB)"] != 1 {
			t.Errorf("%s not counted as dropped: %v", col, st.Dropped)
		}
	}
}

func openbFiles(b *testing.B) (nodes, pods []byte) {
	d := filepath.Join("..", "..", "..", "shared", "traces", "alibaba-openb-2023")
	var err error
	if nodes, err = os.ReadFile(filepath.Join(d, "openb_node_list_all_node.csv")); err != nil {
		b.Fatalf("the openb trace (../shared/traces from the repository root): %v", err)
	}
	if pods, err = os.ReadFile(filepath.Join(d, "openb_pod_list_default.csv")); err != nil {
		b.Fatal(err)
	}
	return nodes, pods
}

// BenchmarkReadOpenB loads the default trace (1,523 nodes, 8,152 pods): the goal is
// under 200 ms.
func BenchmarkReadOpenB(b *testing.B) {
	nodes, pods := openbFiles(b)
	b.ReportAllocs()
	for b.Loop() {
		tr, _, err := ReadOpenB(strings.NewReader(string(nodes)), strings.NewReader(string(pods)))
		if err != nil || len(tr.Nodes) != 1523 || len(tr.Pods) != 8152 {
			b.Fatalf("%v: %d nodes, %d pods", err, len(tr.Nodes), len(tr.Pods))
		}
	}
}

// TestReadOpenBWithoutOptionalColumns: openb_pod_list_multigpu20.csv has only the five
// request columns; gpu_spec reads as empty (any model), not as another column.
func TestReadOpenBWithoutOptionalColumns(t *testing.T) {
	nodes := "sn,cpu_milli,memory_mib,gpu,model\nn1,96000,786432,8,G2\n"
	pods := "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,12000,16384,2,1000\n"
	tr, st, err := ReadOpenB(strings.NewReader(nodes), strings.NewReader(pods))
	if err != nil {
		t.Fatal(err)
	}
	if c := tr.Pods[0].Compute; len(c.GPUModels) != 0 || c.GPUs != 2 || !c.Accepts("G2") {
		t.Errorf("pod %+v: want two whole devices of any model", c)
	}
	if len(st.Dropped) != 0 {
		t.Errorf("dropped %v: the file has no unused columns", st.Dropped)
	}
}
