package sim

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// TestProgressDoesNotChangeTheRun: Options.Progress sees the simulated time advance and
// the run's outcome is the same with or without it.
func TestProgressDoesNotChangeTheRun(t *testing.T) {
	run := func(progress func(time.Duration)) *record.Summary {
		// 24 simulated hours of the quickstart: ~14,000 events, three progress calls.
		sc, err := scenarios.LoadShipped("quickstart", "run.duration=24h")
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(sc, Options{Progress: progress})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := s.Run()
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	var seen []time.Duration
	with := run(func(now time.Duration) { seen = append(seen, now) })
	without := run(nil)
	if len(seen) == 0 {
		t.Fatal("Progress never called")
	}
	if !slices.IsSorted(seen) || seen[len(seen)-1] <= 0 {
		t.Errorf("progress times not advancing: %v", seen)
	}
	a, _ := json.Marshal(with)
	b, _ := json.Marshal(without)
	if !bytes.Equal(a, b) {
		t.Error("the summary differs with Progress set")
	}
}
