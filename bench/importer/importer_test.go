package importer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/scenarios"
)

const dlrmHeader = "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,deletion_time\n"

func dlrmRow(sn, app, mem, disk, maxPer, created, deleted string) string {
	return sn + ",HN," + app + ",12,12,1,1,25,25," + mem + "," + mem + "," + disk + "," + disk + "," + maxPer + "," + created + ",," + deleted + "\n"
}

// loads encodes f, loads it with scenarios.Parse and returns the scenario.
func loads(t *testing.T, f File) *scenarios.Scenario {
	t.Helper()
	b, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse("imported.toml", b)
	if err != nil {
		t.Fatalf("imported scenario does not load: %v\n%s", err, b)
	}
	return sc
}

func TestImportDLRM(t *testing.T) {
	src := dlrmHeader +
		// app_a: two instances from before the window (t = 0), one deleted at 150 s; 1.5 GiB, 2 GiB disk, max 8 per node.
		dlrmRow("i0", "app_a", "1.5", "2", "8", "", "150") +
		dlrmRow("i1", "app_a", "1.0", "2", "4", "NaN", "") +
		// app_b: one instance created at 70 s, never deleted; no cap.
		dlrmRow("i2", "app_b", "0.5", "1", "-1", "70", "") +
		// malformed rows: too few fields, non-numeric memory, bad cap, deleted before created, empty app.
		"i3,HN,app_c,1\n" +
		dlrmRow("i4", "app_c", "lots", "1", "1", "0", "") +
		dlrmRow("i5", "app_c", "1", "1", "0", "0", "") +
		dlrmRow("i6", "app_c", "1", "1", "2", "100", "50") +
		dlrmRow("i7", "", "1", "1", "2", "0", "") +
		"i8,\"unterminated,HN\n"
	f, st, err := ImportDLRM(strings.NewReader(src), DLRMOptions{Cells: CellOptions{Count: 2, MemoryMB: 8192, DiskMB: 16384, Zones: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Used != 3 || st.SkippedTotal() != 6 {
		t.Errorf("used %d skipped %d (%v), want 3 and 6", st.Used, st.SkippedTotal(), st.Skipped)
	}
	for _, reason := range []string{"wrong number of fields (want 17)", "memory_request or disk_request missing, not a number, or not positive",
		"max_instance_per_node not -1 or a positive integer", "negative creation_time or deletion_time before creation_time", "empty app_name"} {
		if st.Skipped[reason] != 1 {
			t.Errorf("skipped[%q] = %d, want 1 (%v)", reason, st.Skipped[reason], st.Skipped)
		}
	}
	sc := loads(t, f)
	if len(sc.Apps) != 2 {
		t.Fatalf("%d app groups, want 2", len(sc.Apps))
	}
	a, b := sc.Apps[0], sc.Apps[1]
	// app_a: max memory 1.5 GiB = 1536 MB, disk 2048 MB, cap min(8, 4) = 4, 2 instances at t = 0.
	if a.Name != "app_a" || a.Instances != 2 || a.MemoryMB != 1536 || a.DiskMB != 2048 || a.MaxPerCell != 4 {
		t.Errorf("app_a = %+v", a)
	}
	// app_b: 0 instances at t = 0, 512 MB, no cap.
	if b.Name != "app_b" || b.Instances != 0 || b.MemoryMB != 512 || b.MaxPerCell != 0 {
		t.Errorf("app_b = %+v", b)
	}
	// Events in 60 s buckets, emitted at the bucket end: app_b 0 -> 1 at 70 s (bucket
	// [60,120) -> 120 s); app_a 2 -> 1 at 150 s (bucket [120,180) -> 180 s). Duration is
	// the last time (150 s) + 3600 s.
	if len(sc.Events) != 2 || sc.Events[0].At.Seconds() != 120 || sc.Events[0].App != "app_b-0" || sc.Events[0].Instances != 1 ||
		sc.Events[1].At.Seconds() != 180 || sc.Events[1].App != "app_a-0" || sc.Events[1].Instances != 1 {
		t.Errorf("events %+v", sc.Events)
	}
	if sc.Duration.Seconds() != 3750 || sc.Cells[0].Count != 2 {
		t.Errorf("duration %s, cells %d", sc.Duration, sc.Cells[0].Count)
	}
}

func TestImportDLRMErrors(t *testing.T) {
	if _, _, err := ImportDLRM(strings.NewReader("a,b\n1,2\n"), DLRMOptions{}); err == nil || !strings.Contains(err.Error(), `lacks column "app_name"`) {
		t.Errorf("bad header: %v", err)
	}
	if _, _, err := ImportDLRM(strings.NewReader(dlrmHeader+"x\n"), DLRMOptions{}); err == nil || !strings.Contains(err.Error(), "no usable rows") {
		t.Errorf("no rows: %v", err)
	}
}

func TestImportOpenB(t *testing.T) {
	nodes := "sn,cpu_milli,memory_mib,gpu,model\n" +
		"n0,32000,4096,0,\nn1,32000,4096,0,\nn2,96000,8192,8,V100\n" +
		"n3,1000,zero,0,\n" // malformed
	pods := "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n" +
		"p0,1000,1024,0,0,,LS,Running,0,10,0\n" +
		"p1,1000,2048,0,0,,LS,Running,0,10,0\n" +
		"p2,1000,0,1,1000,,LS,Running,0,10,0\n" + // no memory request: skipped
		"p3,1000\n" // wrong field count
	f, st, err := ImportOpenB(strings.NewReader(nodes), strings.NewReader(pods), OpenBOptions{Load: 1.3, Seed: 7, PerStep: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.SkippedTotal() != 3 || st.Used != 5 {
		t.Errorf("used %d skipped %v", st.Used, st.Skipped)
	}
	sc := loads(t, f)
	// Cells: two groups by memory size, 2 x 4096 and 1 x 8192 = 16384 MB.
	if len(sc.Cells) != 2 || sc.Cells[0].Count != 2 || sc.Cells[0].MemoryMB != 4096 || sc.Cells[1].MemoryMB != 8192 {
		t.Errorf("cells %+v", sc.Cells)
	}
	// Requests of 1024 or 2048 MB until >= 1.3 x 16384 = 21299.2 MB: the sum is in
	// [21299.2, 21299.2 + 2048).
	sum := 0
	for _, a := range sc.Apps {
		if a.Instances != 1 || (a.MemoryMB != 1024 && a.MemoryMB != 2048) {
			t.Errorf("app %+v", a)
		}
		sum += a.Count * a.MemoryMB
	}
	if float64(sum) < 21299.2 || float64(sum) >= 21299.2+2048 {
		t.Errorf("inflated requests %d MB", sum)
	}
	// Same seed, same bytes; another seed, another order.
	f2, _, _ := ImportOpenB(strings.NewReader(nodes), strings.NewReader(pods), OpenBOptions{Load: 1.3, Seed: 7, PerStep: 2})
	b1, _ := f.Bytes()
	b2, _ := f2.Bytes()
	if !bytes.Equal(b1, b2) {
		t.Error("same seed gave different scenarios")
	}
}

func TestImportAzure(t *testing.T) {
	arrivals := "1800000 b,b,|,a,|,z,|\n1800300 a,b,|\nbad line\n"
	lifetimes := "1800000 U1,C0,|,U0,|,U0,|\n1800300 C2,X1,|\nbad line\n"
	intervals := "0 0\n300 1\n600 2\n900 2\n1200 3\n"
	flavours := "1,0.75 a\n1,1.75 b\n"
	f, st, err := ImportAzure(AzureFiles{strings.NewReader(arrivals), strings.NewReader(lifetimes), strings.NewReader(intervals), strings.NewReader(flavours)},
		AzureOptions{Cells: CellOptions{Count: 3, MemoryMB: 4096, DiskMB: 65536}, DiskMB: 512})
	if err != nil {
		t.Fatal(err)
	}
	// Skipped: the unknown flavour z, the bad lifetime token X1, the unaligned line.
	if st.Used != 4 || st.SkippedTotal() != 3 {
		t.Errorf("used %d skipped %v", st.Used, st.Skipped)
	}
	sc := loads(t, f)
	// Apps: vm0 = 2 x b (1792 MB) at 0 s, vm1 = 1 x a (768 MB) at 0 s, vm2 = 1 x a at 300 s.
	if len(sc.Apps) != 3 || sc.Apps[0].Instances != 2 || sc.Apps[0].MemoryMB != 1792 || sc.Apps[2].StartAt.Seconds() != 300 {
		t.Fatalf("apps %+v", sc.Apps)
	}
	// Lifetimes: bin 1 lies in [300, 600): midpoint 450 s; bin 0: 150 s. vm0 loses one VM
	// at 450 s (bucket [300,600) -> event at 600 s); vm1 ends at 150 s (-> 300 s). The
	// censored ones run on. Duration: last line at 300 s + 300 s = 600 s, so the 600 s
	// event is dropped.
	if len(sc.Events) != 1 || sc.Events[0].App != "vm1-0" || sc.Events[0].Instances != 0 || sc.Events[0].At.Seconds() != 300 {
		t.Errorf("events %+v", sc.Events)
	}
	if sc.Duration.Seconds() != 600 {
		t.Errorf("duration %s", sc.Duration)
	}
}

func TestWriteFileLoads(t *testing.T) {
	f := File{Run: Run{Duration: "1m"}, Cells: []Cells{{Count: 1, MemoryMB: 1024, DiskMB: 1024}},
		Apps:  []Apps{{Name: "a", Instances: 1, MemoryMB: 64, DiskMB: 64}},
		Tasks: []Tasks{{Name: "t", Count: 2, MemoryMB: 32, DiskMB: 32, Duration: "10s"}}}
	path := filepath.Join(t.TempDir(), "s.toml")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
