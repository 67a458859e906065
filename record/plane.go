package record

import (
	"maps"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/control"
)

// The one mapping from the control plane's outputs to events.jsonl rows, which both
// drivers use: a simulated and a live run of the same scenario write the same rows for
// the same state changes.

// ChangeOf is the change a BBS event makes to its record.
func ChangeOf(t bbs.EventType) string {
	switch t {
	case bbs.ActualLRPCreated, bbs.DesiredLRPCreated, bbs.TaskCreated:
		return ChangeCreated
	case bbs.ActualLRPRemoved, bbs.DesiredLRPRemoved, bbs.TaskRemoved:
		return ChangeRemoved
	}
	return ChangeChanged
}

// WriteStateChange writes the row of one BBS event: an actual_lrp, desired_lrp or task
// event (a removed desired LRP is written with 0 instances).
func (e *EventWriter) WriteStateChange(t time.Duration, ev *bbs.Event) {
	if e == nil {
		return
	}
	change := ChangeOf(ev.Type)
	switch {
	case ev.Actual != nil:
		a := ev.Actual
		e.WriteActualLRP(t, change, ActualLRP{
			ProcessGUID: a.ProcessGUID, Index: a.Index, InstanceGUID: a.InstanceGUID, CellID: a.CellID,
			State: a.State.String(), Presence: a.Presence.String(), CrashCount: a.CrashCount,
			CrashReason: a.CrashReason, PlacementError: a.PlacementError,
		})
	case ev.Desired != nil:
		n := ev.Desired.Instances
		if ev.Type == bbs.DesiredLRPRemoved {
			n = 0
		}
		e.WriteDesiredLRP(t, change, ev.Desired.ProcessGUID, n)
	case ev.Task != nil:
		k := ev.Task
		e.WriteTask(t, change, Task{
			TaskGUID: k.GUID, State: k.State.String(), CellID: k.CellID, Failed: k.Failed,
			FailureReason: k.FailureReason, RejectionCount: k.RejectionCount,
		})
	}
}

// WriteRound writes the auction event of one batch; mean_wait is the mean of its
// placed items' waits (six decimals).
func (e *EventWriter) WriteRound(t time.Duration, a *control.AuctionRound) {
	if e == nil {
		return
	}
	e.WriteAuction(t, Auction{
		LRPs: a.LRPs, Tasks: a.Tasks, LRPsPlaced: a.LRPsPlaced, LRPsFailed: a.LRPsFailed,
		TasksPlaced: a.TasksPlaced, TasksFailed: a.TasksFailed, MeanWait: Mean(a.Waits),
	})
}

// Mean is the mean of xs rounded to six decimals (0 for none), as the record writes
// means.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return Round6(stat.Mean(xs, nil))
}

// Round6 keeps a figure readable and stable: six decimals.
func Round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// AuctionTally accumulates the auction part of summary.json from the batches a driver
// observes: the counts, the waits of placed items, the batch sizes and the placement
// failures by reason. The zero value is ready.
type AuctionTally struct {
	counts   AuctionSummary
	waits    Dist
	batches  Dist
	failures map[string]int
}

// Add counts one batch.
func (t *AuctionTally) Add(a *control.AuctionRound) {
	c := &t.counts
	c.Batches++
	c.LRPsAuctioned += a.LRPs
	c.LRPsPlaced += a.LRPsPlaced
	c.LRPsFailed += a.LRPsFailed
	c.TasksAuctioned += a.Tasks
	c.TasksPlaced += a.TasksPlaced
	c.TasksFailed += a.TasksFailed
	t.waits.AddAll(a.Waits)
	t.batches.Add(float64(a.LRPs + a.Tasks))
	if t.failures == nil {
		t.failures = map[string]int{}
	}
	if len(a.Failures) == 0 {
		return // most rounds: no list of keys to make
	}
	for _, k := range slices.Sorted(maps.Keys(a.Failures)) {
		t.failures[k] += a.Failures[k]
	}
}

// Summary is the auction section of summary.json.
func (t *AuctionTally) Summary() AuctionSummary {
	s := t.counts
	s.WaitSeconds = t.waits.Summary()
	s.BatchSize = t.batches.Summary()
	return s
}

// Failures counts the failed placements by reason (summary.json's
// placement_failures); the map is the tally's own, never nil.
func (t *AuctionTally) Failures() map[string]int {
	if t.failures == nil {
		t.failures = map[string]int{}
	}
	return t.failures
}

// SpreadOf is the mean, population standard deviation and coefficient of variation of
// x (six decimals), as summary.json's utilisation reports them.
func SpreadOf(x []float64) Spread {
	if len(x) == 0 {
		return Spread{}
	}
	m, sd := stat.PopMeanStdDev(x, nil)
	cov := 0.0
	if m != 0 {
		cov = sd / m
	}
	return Spread{Mean: Round6(m), Stddev: Round6(sd), CoV: Round6(cov)}
}
