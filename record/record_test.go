package record

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCSVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rows := []CellRow{{CellID: "cell-0", Zone: "z1", MemoryMB: 1024, MemoryUsedMB: 512, DiskMB: 2048, Containers: 249, ContainersUsed: 3, Instances: 3, State: CellUp}}
	if err := WriteCSV(dir, CellsFile, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV[CellRow](dir, CellsFile)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	samples := []Sample{{T: 10.5, Desired: 3, Running: 2}}
	var buf bytes.Buffer
	if err := EncodeCSV(&buf, samples); err != nil {
		t.Fatal(err)
	}
	if want := "t,desired,running,claimed,unclaimed,crashed,suspect,evacuating,tasks_pending,tasks_running,cells_up,memory_used_mb\n10.5,3,2,0,0,0,0,0,0,0,0,0\n"; buf.String() != want {
		t.Errorf("timeseries CSV = %q, want %q", buf.String(), want)
	}
}

func TestCSVErrorsNameLineAndColumn(t *testing.T) {
	_, err := DecodeCSV[PlacementRow](strings.NewReader("cell_id,process_guid,instances\ncell-0,web-0,three\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "instances") {
		t.Errorf("err = %v, want one naming line 2 and column instances", err)
	}
	_, err = DecodeCSV[PlacementRow](strings.NewReader("cell,app\n"))
	if err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("err = %v, want a header error", err)
	}
}

func TestEventsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewEventWriter(&buf)
	w.WriteActualLRP(1500*time.Millisecond, ChangeChanged, ActualLRP{ProcessGUID: "web \"0\"", Index: 2, InstanceGUID: "i-1", CellID: "cell-3", State: "RUNNING", Presence: "ORDINARY", CrashCount: 1})
	w.WriteTask(2*time.Second, ChangeCreated, Task{TaskGUID: "t-1", State: "PENDING"})
	w.WriteCell(3*time.Second, "cell-3", "z1", CellLost)
	w.WriteAuction(4*time.Second, Auction{LRPs: 5, LRPsPlaced: 4, LRPsFailed: 1, MeanWait: 0.25})
	w.WriteTimeline(5*time.Second, "crash-cell", "cell-3")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != 5 {
		t.Errorf("count = %d, want 5", w.Count())
	}
	var got []Event
	if err := DecodeEvents(&buf, func(e *Event) error { got = append(got, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{T: 1.5, Type: TypeActualLRP, Change: ChangeChanged, ProcessGUID: "web \"0\"", Index: 2, InstanceGUID: "i-1", CellID: "cell-3", State: "RUNNING", Presence: "ORDINARY", CrashCount: 1},
		{T: 2, Type: TypeTask, Change: ChangeCreated, TaskGUID: "t-1", State: "PENDING"},
		{T: 3, Type: TypeCell, CellID: "cell-3", Zone: "z1", State: CellLost},
		{T: 4, Type: TypeAuction, LRPs: 5, LRPsPlaced: 4, LRPsFailed: 1, MeanWait: 0.25},
		{T: 5, Type: TypeTimeline, Action: "crash-cell", Target: "cell-3"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	var nilWriter *EventWriter
	nilWriter.WriteCell(0, "x", "z", CellUp) // a disabled writer accepts calls
	if err := DecodeEvents(strings.NewReader("{\"t\":1}\nnot json\n"), func(*Event) error { return nil }); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want one naming line 2", err)
	}
}

// TestCellComputeRowCSV: a compute row is CellRow's columns (embedded) then seven
// compute columns, in that order, and reads back whole and as its CellRow.
func TestCellComputeRowCSV(t *testing.T) {
	want := "cell_id,zone,memory_mb,memory_used_mb,disk_mb,disk_used_mb,containers,containers_used,instances,state," +
		"cpu_milli,cpu_milli_used,gpus,gpu_model,gpu_milli_used,idle_gpus,gpu_fragmented_milli"
	if got := strings.Join(CellsComputeHeader, ","); got != want {
		t.Errorf("header %s, want %s", got, want)
	}
	rows := []CellComputeRow{{CellRow: CellRow{CellID: "v100-0", Zone: "z1", MemoryMB: 4096, MemoryUsedMB: 1024, DiskMB: 8192,
		DiskUsedMB: 10, Containers: 249, ContainersUsed: 2, Instances: 2, State: CellUp},
		MilliCPU: 96000, MilliCPUUsed: 8000, GPUs: 8, GPUModel: "V100M32", MilliGPUUsed: 1500, IdleGPUs: 6, FragmentedMilliGPU: 500}}
	var buf bytes.Buffer
	if err := EncodeCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if line := want + "\nv100-0,z1,4096,1024,8192,10,249,2,2,up,96000,8000,8,V100M32,1500,6,500\n"; buf.String() != line {
		t.Errorf("CSV %q, want %q", buf.String(), line)
	}
	dir := t.TempDir()
	if err := WriteCSV(dir, CellsFile, rows); err != nil {
		t.Fatal(err)
	}
	cells, comp, err := readCells(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows, comp); d != "" {
		t.Errorf("compute rows (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]CellRow{rows[0].CellRow}, cells); d != "" {
		t.Errorf("cell rows (-want +got):\n%s", d)
	}
}
