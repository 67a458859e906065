package control

import (
	"testing"
	"time"

	"github.com/diegolab/diegolab/model/auction"
)

// The queue times kept as runs give each result the time its LRP was queued: items
// queued at one instant share a run, and a deduplicated batch goes through lrpTimes.
func TestQueuedRuns(t *testing.T) {
	var runs []queuedRun
	var want []time.Duration
	for _, q := range []struct {
		at time.Duration
		n  int
	}{{1 * s, 3}, {1 * s, 2}, {2 * s, 0}, {3 * s, 1}, {4 * s, 4}, {4 * s, 1}} {
		runs = appendRun(runs, q.at, q.n)
		for range q.n {
			want = append(want, q.at)
		}
	}
	if len(runs) != 3 {
		t.Fatalf("runs %v, want 3 (equal times merged, empty batches left out)", runs)
	}
	batch := make([]auction.LRP, len(want))
	res := make([]auction.LRPResult, len(want))
	for i := range batch {
		batch[i] = auction.LRP{ProcessGUID: "g", Index: i}
		res[i].LRP = &batch[i]
	}
	rt := newResultTimes(batch, res, runs)
	for i := range want {
		if got := rt.at(i); got != want[i] {
			t.Fatalf("result %d queued at %v, want %v", i, got, want[i])
		}
	}
	// Results 0, 4 and 9 only (a round reads the winners' times): the cursor skips runs.
	rt = newResultTimes(batch, res, runs)
	for _, i := range []int{0, 4, 9} {
		if got := rt.at(i); got != want[i] {
			t.Fatalf("skipping: result %d queued at %v, want %v", i, got, want[i])
		}
	}
	// A repeated item: the results are matched to their first occurrence.
	dup := append(batch[:3:3], batch[0])
	queued := []time.Duration{1 * s, 1 * s, 1 * s, 3 * s}
	dres := []auction.LRPResult{{LRP: &dup[0]}, {LRP: &dup[1]}, {LRP: &dup[2]}}
	rt = newResultTimes(dup, dres, appendRun(appendRun(nil, 1*s, 3), 3*s, 1))
	wantDup := lrpTimes(dup, dres, queued)
	for i := range dres {
		if got := rt.at(i); got != wantDup[i] {
			t.Fatalf("deduplicated: result %d queued at %v, want %v", i, got, wantDup[i])
		}
	}
}
