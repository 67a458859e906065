package record

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/control"
)

// The one mapping from BBS events to events.jsonl rows, line by line.
func TestWriteStateChange(t *testing.T) {
	a := &model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: "web", Index: 1},
		InstanceKey: model.InstanceKey{InstanceGUID: "i-1", CellID: "c1"}, State: model.Crashed,
		CrashCount: 2, CrashReason: "exit 1"}
	d := &model.DesiredLRP{ProcessGUID: "web", Instances: 3}
	k := &model.Task{GUID: "job", State: model.TaskCompleted, CellID: "c1", Failed: true, FailureReason: "oom", RejectionCount: 1}
	var buf bytes.Buffer
	w := NewEventWriter(&buf)
	for _, ev := range []bbs.Event{
		{Type: bbs.ActualLRPChanged, Actual: a},
		{Type: bbs.ActualLRPRemoved, Actual: a},
		{Type: bbs.DesiredLRPCreated, Desired: d},
		{Type: bbs.DesiredLRPRemoved, Desired: d},
		{Type: bbs.TaskCreated, Task: k},
	} {
		w.WriteStateChange(1500*time.Millisecond, &ev)
	}
	w.WriteRound(2*time.Second, &control.AuctionRound{LRPs: 3, LRPsPlaced: 2, LRPsFailed: 1, Waits: []float64{0.1, 0.2, 0.4}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`{"t":1.5,"type":"actual_lrp","change":"changed","process_guid":"web","index":1,"instance_guid":"i-1","state":"CRASHED","presence":"ORDINARY","cell_id":"c1","crash_count":2,"crash_reason":"exit 1","placement_error":""}`,
		`{"t":1.5,"type":"actual_lrp","change":"removed","process_guid":"web","index":1,"instance_guid":"i-1","state":"CRASHED","presence":"ORDINARY","cell_id":"c1","crash_count":2,"crash_reason":"exit 1","placement_error":""}`,
		`{"t":1.5,"type":"desired_lrp","change":"created","process_guid":"web","instances":3}`,
		`{"t":1.5,"type":"desired_lrp","change":"removed","process_guid":"web","instances":0}`,
		`{"t":1.5,"type":"task","change":"created","task_guid":"job","state":"COMPLETED","cell_id":"c1","failed":true,"failure_reason":"oom","rejection_count":1}`,
		`{"t":2,"type":"auction","lrps":3,"tasks":0,"lrps_placed":2,"lrps_failed":1,"tasks_placed":0,"tasks_failed":0,"mean_wait":0.233333}`,
	}, "\n") + "\n"
	if got := buf.String(); got != want {
		t.Fatalf("rows:\n%s\nwant:\n%s", got, want)
	}
	var nilW *EventWriter
	nilW.WriteStateChange(0, &bbs.Event{Type: bbs.TaskCreated, Task: k}) // a disabled writer accepts it
}

// AuctionTally: counts summed, waits and batch sizes summarised, failures by reason.
func TestAuctionTally(t *testing.T) {
	var tl AuctionTally
	if f := tl.Failures(); f == nil || len(f) != 0 {
		t.Fatalf("failures of an empty tally: %v, want an empty map", f)
	}
	tl.Add(&control.AuctionRound{LRPs: 2, LRPsPlaced: 2, Waits: []float64{1, 3}})
	tl.Add(&control.AuctionRound{LRPs: 1, Tasks: 2, LRPsFailed: 1, TasksPlaced: 2, Waits: []float64{2, 2},
		Failures: map[string]int{"insufficient resources": 1}})
	s := tl.Summary()
	if s.Batches != 2 || s.LRPsAuctioned != 3 || s.LRPsPlaced != 2 || s.LRPsFailed != 1 || s.TasksAuctioned != 2 || s.TasksPlaced != 2 {
		t.Errorf("counts: %+v", s)
	}
	if s.WaitSeconds.Count != 4 || s.WaitSeconds.Mean != 2 || s.WaitSeconds.Max != 3 {
		t.Errorf("waits: %+v", s.WaitSeconds)
	}
	if s.BatchSize.Count != 2 || s.BatchSize.Max != 3 || s.BatchSize.Mean != 2.5 {
		t.Errorf("batch sizes: %+v", s.BatchSize)
	}
	if f := tl.Failures(); len(f) != 1 || f["insufficient resources"] != 1 {
		t.Errorf("failures: %v", f)
	}
}
