package bbs_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

var (
	key0  = model.ActualLRPKey{ProcessGUID: "app", Index: 0}
	mine  = model.InstanceKey{InstanceGUID: "i1", CellID: "c1"}
	other = model.InstanceKey{InstanceGUID: "i2", CellID: "c2"}
)

// withState returns a BBS whose app/0 ORDINARY row is in state s (instance key mine when
// it has one).
func withState(t *testing.T, s model.ActualLRPState) *bbs.BBS {
	t.Helper()
	b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
	d := model.DesiredLRP{ProcessGUID: "app", Domain: "cf-apps", Instances: 1, MemoryMB: 1, RootFS: "preloaded:x"}
	if err := b.DesireLRP(0, d); err != nil {
		t.Fatal(err)
	}
	steps := map[model.ActualLRPState][]func() error{
		model.Unclaimed: nil,
		model.Claimed:   {func() error { return b.ClaimActualLRP(1, key0, mine) }},
		model.Running:   {func() error { return b.StartActualLRP(1, key0, mine, "a") }},
		model.Crashed: {func() error { // three crashes: the third stays CRASHED (30s backoff)
			for i := range 3 {
				ik := model.InstanceKey{InstanceGUID: fmt.Sprint("x", i), CellID: "c1"}
				if err := b.ClaimActualLRP(1, key0, ik); err != nil {
					return err
				}
				if err := b.CrashActualLRP(1, key0, ik, "x"); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, f := range steps[s] {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := b.ActualLRP(key0, model.Ordinary); a.State != s {
		t.Fatalf("setup: state %v, want %v", a.State, s)
	}
	b.Ready()
	return b
}

// TestActualTransitions is DIEGO.md §3.2's table driven through the BBS operations.
func TestActualTransitions(t *testing.T) {
	claim := func(ik model.InstanceKey) func(*bbs.BBS) error {
		return func(b *bbs.BBS) error { return b.ClaimActualLRP(2, key0, ik) }
	}
	start := func(ik model.InstanceKey) func(*bbs.BBS) error {
		return func(b *bbs.BBS) error { return b.StartActualLRP(2, key0, ik, "addr") }
	}
	crash := func(ik model.InstanceKey) func(*bbs.BBS) error {
		return func(b *bbs.BBS) error { return b.CrashActualLRP(2, key0, ik, "r") }
	}
	unclaim := func(b *bbs.BBS) error { return b.UnclaimActualLRP(2, key0) }
	fail := func(b *bbs.BBS) error { return b.FailActualLRP(2, key0, "no room") }
	tests := []struct {
		from model.ActualLRPState
		op   string
		do   func(*bbs.BBS) error
		want model.ActualLRPState // state after, when allowed
		ok   bool
	}{
		{model.Unclaimed, "claim", claim(mine), model.Claimed, true},
		{model.Unclaimed, "start", start(mine), model.Running, true},
		{model.Unclaimed, "crash", crash(mine), 0, false},
		{model.Unclaimed, "unclaim", unclaim, 0, false},
		{model.Unclaimed, "fail", fail, model.Unclaimed, true},
		{model.Claimed, "claim same", claim(mine), model.Claimed, true},
		{model.Claimed, "claim other", claim(other), 0, false},
		{model.Claimed, "start same", start(mine), model.Running, true},
		{model.Claimed, "start other (any key)", start(other), model.Running, true},
		{model.Claimed, "crash same (count 1: immediate restart)", crash(mine), model.Unclaimed, true},
		{model.Claimed, "crash other", crash(other), 0, false},
		{model.Claimed, "unclaim", unclaim, model.Unclaimed, true},
		{model.Claimed, "fail", fail, 0, false},
		{model.Running, "claim same", claim(mine), model.Claimed, true},
		{model.Running, "claim other", claim(other), 0, false},
		{model.Running, "start same", start(mine), model.Running, true},
		{model.Running, "start other", start(other), 0, false},
		{model.Running, "crash same", crash(mine), model.Unclaimed, true},
		{model.Running, "crash other", crash(other), 0, false},
		{model.Running, "unclaim", unclaim, model.Unclaimed, true},
		// CRASHED -> CLAIMED/RUNNING need the "same" key, and a CRASHED row has none:
		// it must be unclaimed (by convergence) before a new container may take it.
		{model.Crashed, "claim", claim(mine), 0, false},
		{model.Crashed, "start", start(mine), 0, false},
		{model.Crashed, "crash", crash(mine), 0, false},
		{model.Crashed, "unclaim", unclaim, model.Unclaimed, true},
		{model.Crashed, "fail", fail, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.from.String()+" "+tc.op, func(t *testing.T) {
			b := withState(t, tc.from)
			before, _ := b.Snapshot(nil)
			err := tc.do(b)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want allowed=%v", err, tc.ok)
			}
			a, _ := b.ActualLRP(key0, model.Ordinary)
			if !tc.ok {
				if !errors.Is(err, model.ErrInvalidTransition) {
					t.Fatalf("err = %v, want ErrInvalidTransition", err)
				}
				after, _ := b.Snapshot(nil)
				if fmt.Sprint(before) != fmt.Sprint(after) {
					t.Fatal("refused operation changed the store")
				}
				return
			}
			if a.State != tc.want {
				t.Fatalf("state after = %v, want %v", a.State, tc.want)
			}
		})
	}
}

// TestTaskTransitions is DIEGO.md §3.3's table driven through the BBS operations.
func TestTaskTransitions(t *testing.T) {
	setup := func(t *testing.T, s model.TaskState) *bbs.BBS {
		b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(b.DesireTask(0, model.Task{GUID: "t", Domain: "d", RootFS: "preloaded:x"}))
		if s >= model.TaskRunning {
			_, err := b.StartTask(1, "t", "c1")
			must(err)
		}
		if s >= model.TaskCompleted {
			must(b.CompleteTask(2, "t", "c1", false, "", "out"))
		}
		if s == model.TaskResolving {
			must(b.ResolvingTask(3, "t"))
		}
		return b
	}
	ops := map[string]func(*bbs.BBS) error{
		"start":     func(b *bbs.BBS) error { _, err := b.StartTask(5, "t", "c1"); return err },
		"start-c2":  func(b *bbs.BBS) error { _, err := b.StartTask(5, "t", "c2"); return err },
		"reject":    func(b *bbs.BBS) error { return b.RejectTask(5, "t", "r") },
		"complete":  func(b *bbs.BBS) error { return b.CompleteTask(5, "t", "c1", true, "x", "") },
		"cancel":    func(b *bbs.BBS) error { return b.CancelTask(5, "t") },
		"fail":      func(b *bbs.BBS) error { return b.FailTask(5, "t", "x") },
		"resolving": func(b *bbs.BBS) error { return b.ResolvingTask(5, "t") },
		"delete":    func(b *bbs.BBS) error { return b.DeleteTask(5, "t") },
	}
	// allowed[from][op] = state after ("gone" for deleted); absent = refused.
	allowed := map[model.TaskState]map[string]string{
		model.TaskPending:   {"start": "RUNNING", "start-c2": "RUNNING", "reject": "PENDING", "cancel": "COMPLETED", "fail": "COMPLETED"},
		model.TaskRunning:   {"start": "RUNNING", "reject": "PENDING", "complete": "COMPLETED", "cancel": "COMPLETED", "fail": "COMPLETED"},
		model.TaskCompleted: {"resolving": "RESOLVING"},
		model.TaskResolving: {"delete": "gone"},
	}
	for _, from := range []model.TaskState{model.TaskPending, model.TaskRunning, model.TaskCompleted, model.TaskResolving} {
		for _, op := range []string{"start", "start-c2", "reject", "complete", "cancel", "fail", "resolving", "delete"} {
			t.Run(from.String()+" "+op, func(t *testing.T) {
				b := setup(t, from)
				before, _ := b.Snapshot(nil)
				err := ops[op](b)
				want, ok := allowed[from][op]
				if ok != (err == nil) {
					t.Fatalf("err = %v, want allowed=%v", err, ok)
				}
				if !ok {
					if !errors.Is(err, model.ErrInvalidTransition) {
						t.Fatalf("err = %v, want ErrInvalidTransition", err)
					}
					if after, _ := b.Snapshot(nil); fmt.Sprint(before) != fmt.Sprint(after) {
						t.Fatal("refused operation changed the store")
					}
					return
				}
				got := "gone"
				if tk, found := b.Task("t"); found {
					got = tk.State.String()
				}
				if got != want {
					t.Fatalf("state after = %s, want %s", got, want)
				}
			})
		}
	}
}

func TestRejectFailsOnFourthRejection(t *testing.T) {
	b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
	if err := b.DesireTask(0, model.Task{GUID: "t", Domain: "d", RootFS: "preloaded:x"}); err != nil {
		t.Fatal(err)
	}
	// rejections 1..3 see a count before of 0, 1, 2 < 3: back to PENDING; the 4th sees 3.
	for i := 1; i <= 4; i++ {
		if err := b.RejectTask(time.Duration(i), "t", "insufficient resources"); err != nil {
			t.Fatal(err)
		}
		tk, _ := b.Task("t")
		wantState := model.TaskPending
		if i == 4 {
			wantState = model.TaskCompleted
		}
		if tk.State != wantState || (i == 4 && (!tk.Failed || tk.FailureReason != "insufficient resources")) {
			t.Fatalf("after rejection %d: %+v", i, tk)
		}
	}
}

func TestCrashCountResetAndBackoff(t *testing.T) {
	b := withState(t, model.Crashed) // crash count 3 at t=1ns, due at 30s + 1ns
	if p := b.ConvergePlan(30*time.Second, nil); len(p.RestartCrashed) != 0 {
		t.Fatalf("restart before the backoff: %+v", p.RestartCrashed)
	}
	b.Converge(30*time.Second+1, nil)
	if a, _ := b.ActualLRP(key0, model.Ordinary); a.State != model.Unclaimed || a.CrashCount != 3 {
		t.Fatalf("after convergence: %+v, want UNCLAIMED with crash count 3", a)
	}
	if r := b.Ready(); len(r.LRPStarts) != 1 {
		t.Fatalf("starts = %+v, want one", r.LRPStarts)
	}
	// runs for more than 5 minutes, then crashes: count back to 1, immediate restart.
	ik := model.InstanceKey{InstanceGUID: "long", CellID: "c1"}
	_ = b.StartActualLRP(time.Minute, key0, ik, "a")
	if err := b.CrashActualLRP(time.Minute+model.CrashResetTimeout+1, key0, ik, "late"); err != nil {
		t.Fatal(err)
	}
	if a, _ := b.ActualLRP(key0, model.Ordinary); a.CrashCount != 1 || a.State != model.Unclaimed {
		t.Fatalf("after a crash past 5m running: %+v, want count 1, UNCLAIMED", a)
	}
}

func TestSuspectWorkflow(t *testing.T) {
	b := withState(t, model.Running) // app/0 RUNNING on c1
	b.Converge(10*time.Second, []string{"c2"})
	susp, ok := b.ActualLRP(key0, model.Suspect)
	repl, _ := b.ActualLRP(key0, model.Ordinary)
	if !ok || susp.InstanceKey != mine || repl.State != model.Unclaimed {
		t.Fatalf("after losing c1: suspect %+v (%v), ordinary %+v", susp, ok, repl)
	}
	// a claim from the suspect instance is ignored
	if err := b.ClaimActualLRP(11*time.Second, key0, mine); err != nil {
		t.Fatal(err)
	}
	// the replacement starts on c2: the suspect is deleted
	if err := b.StartActualLRP(12*time.Second, key0, other, "b"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.ActualLRP(key0, model.Suspect); ok {
		t.Fatal("suspect survived the replacement's start")
	}
	// second scenario: the cell comes back first, the suspect is promoted
	b = withState(t, model.Running)
	b.Converge(10*time.Second, nil)
	b.Converge(40*time.Second, []string{"c1"})
	if a, _ := b.ActualLRP(key0, model.Ordinary); a.InstanceKey != mine || a.State != model.Running {
		t.Fatalf("after c1 returned: ordinary %+v, want the promoted suspect", a)
	}
	if _, ok := b.ActualLRP(key0, model.Suspect); ok {
		t.Fatal("suspect row remains after promotion")
	}
}

func TestEvacuationKeepsInstanceUntilReplacementRuns(t *testing.T) {
	b := withState(t, model.Running)
	keep, err := b.EvacuateRunningActualLRP(5, key0, mine, "a")
	if err != nil || !keep {
		t.Fatalf("first evacuation: keep=%v err=%v", keep, err)
	}
	e, ok := b.ActualLRP(key0, model.Evacuating)
	o, _ := b.ActualLRP(key0, model.Ordinary)
	if !ok || e.State != model.Running || o.State != model.Unclaimed {
		t.Fatalf("evacuating %+v (%v), ordinary %+v", e, ok, o)
	}
	if r := b.Ready(); len(r.LRPStarts) != 1 {
		t.Fatalf("want one replacement auction, got %+v", r.LRPStarts)
	}
	if keep, _ := b.EvacuateRunningActualLRP(6, key0, mine, "a"); !keep {
		t.Fatal("evacuating instance dropped before the replacement runs")
	}
	_ = b.ClaimActualLRP(7, key0, other)
	if keep, _ := b.EvacuateRunningActualLRP(8, key0, mine, "a"); !keep {
		t.Fatal("evacuating instance dropped while the replacement is only CLAIMED")
	}
	if err := b.StartActualLRP(9, key0, other, "b"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.ActualLRP(key0, model.Evacuating); ok {
		t.Fatal("EVACUATING row survived the replacement's start")
	}
	if keep, _ := b.EvacuateRunningActualLRP(10, key0, mine, "a"); keep {
		t.Fatal("rep told to keep the container after the replacement runs")
	}
}

func TestRefusalsAreCounted(t *testing.T) {
	b := withState(t, model.Unclaimed)
	err := b.CrashActualLRP(1, key0, mine, "x")
	var te *model.TransitionError
	if !errors.As(err, &te) || te.From != "UNCLAIMED" || te.To != "CRASHED" {
		t.Fatalf("err = %v, want a TransitionError UNCLAIMED -> CRASHED", err)
	}
	if err := b.DesireLRP(1, model.DesiredLRP{ProcessGUID: "app", Domain: "d", RootFS: "a:b"}); !errors.Is(err, model.ErrExists) {
		t.Fatalf("duplicate desire: %v", err)
	}
	if err := b.RemoveDesiredLRP(1, "nope"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("remove missing: %v", err)
	}
	if err := b.DesireLRP(1, model.DesiredLRP{ProcessGUID: "x", Domain: "d", RootFS: "nocolon"}); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("invalid desire: %v", err)
	}
	s := b.Stats()
	for _, k := range []string{"CrashActualLRP: invalid_transition", "DesireLRP: exists", "RemoveDesiredLRP: not_found", "DesireLRP: invalid"} {
		if s.Refused[k] != 1 {
			t.Errorf("Refused[%q] = %d, want 1 (all: %v)", k, s.Refused[k], s.Refused)
		}
	}
}
