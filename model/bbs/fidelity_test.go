package bbs_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/converge"
)

// The behaviours issue 24 found different from Diego's code, one test each (the ported
// suite in bbstest covers most of them through Diego's own cases as well).

func newFidelityBBS(t *testing.T, cfg bbs.Config, instances int) *bbs.BBS {
	t.Helper()
	b := bbs.New(bbs.NewMemStore(), cfg)
	must(t, b.DesireLRP(0, model.DesiredLRP{ProcessGUID: "app", Domain: "d", Instances: instances, MemoryMB: 1, RootFS: "x:y"}))
	b.Ready()
	return b
}

func appKey(i int) model.ActualLRPKey { return model.ActualLRPKey{ProcessGUID: "app", Index: i} }

// 1. truncateString(s, 1024): 1,024 bytes or more keep 1,013 and "(truncated)".
func TestFidelityTruncation(t *testing.T) {
	for _, n := range []int{1023, 1024, 1025, 4096} {
		b := newFidelityBBS(t, bbs.DefaultConfig(), 1)
		must(t, b.FailActualLRP(1, appKey(0), strings.Repeat("p", n)))
		a, _ := b.ActualLRP(appKey(0), model.Ordinary)
		want := strings.Repeat("p", n)
		if n >= bbs.MaxReasonLength {
			want = strings.Repeat("p", 1013) + "(truncated)"
		}
		if a.PlacementError != want {
			t.Fatalf("%d bytes: placement error of %d bytes, want %d", n, len(a.PlacementError), len(want))
		}
		if len(a.PlacementError) > bbs.MaxReasonLength {
			t.Fatalf("%d bytes: kept %d bytes", n, len(a.PlacementError))
		}
	}
}

// 2, 3. RejectTask records the rejection first (count+1, reason, cell kept), then fails
// the task when the count before was >= max retries.
func TestFidelityRejectTask(t *testing.T) {
	for _, tc := range []struct{ retries, failedAt int }{{0, 1}, {1, 2}, {3, 4}} {
		cfg := bbs.DefaultConfig()
		cfg.MaxTaskRetries = tc.retries
		b := bbs.New(bbs.NewMemStore(), cfg)
		must(t, b.DesireTask(0, model.Task{GUID: "t", Domain: "d", MemoryMB: 1, RootFS: "x:y"}))
		for i := 1; i <= tc.failedAt; i++ {
			_, err := b.StartTask(time.Duration(i), "t", "cell-1")
			must(t, err)
			must(t, b.RejectTask(time.Duration(i), "t", "reason-"+strconvI(i)))
			tk, _ := b.Task("t")
			if i < tc.failedAt {
				if tk.State != model.TaskPending || tk.CellID != "cell-1" || tk.RejectionCount != i {
					t.Fatalf("retries %d, rejection %d: %+v, want PENDING on cell-1 with count %d", tc.retries, i, tk, i)
				}
				continue
			}
			want := "reason-" + strconvI(i)
			if tk.State != model.TaskCompleted || !tk.Failed || tk.RejectionCount != tc.failedAt || tk.RejectionReason != want || tk.FailureReason != want {
				t.Fatalf("retries %d: %+v, want COMPLETED failed, count %d, reasons %q", tc.retries, tk, tc.failedAt, want)
			}
		}
	}
	// a rejected task keeps its cell: cancelling it reaches that cell
	b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
	must(t, b.DesireTask(0, model.Task{GUID: "t", Domain: "d", MemoryMB: 1, RootFS: "x:y"}))
	_, err := b.StartTask(1, "t", "cell-1")
	must(t, err)
	must(t, b.RejectTask(2, "t", "container failed"))
	b.Ready()
	must(t, b.CancelTask(3, "t"))
	if got := b.Ready().CancelTasks; len(got) != 1 || got[0].CellID != "cell-1" {
		t.Fatalf("cancels = %+v, want one to cell-1", got)
	}
}

// 4. A lost cell stays "missing" while suspects remain on it; orphans do not count.
func TestFidelityMissingCellIDs(t *testing.T) {
	b := newFidelityBBS(t, bbs.DefaultConfig(), 1)
	must(t, b.StartActualLRP(1, appKey(0), model.InstanceKey{InstanceGUID: "i", CellID: "lost"}, ""))
	must(t, b.StartActualLRP(1, model.ActualLRPKey{ProcessGUID: "orphan", Index: 0}, model.InstanceKey{InstanceGUID: "o", CellID: "orphan-cell"}, ""))
	rep := b.Converge(10*time.Second, []string{"other"})
	if rep.MissingCells != 1 || rep.SuspectsCreated != 1 {
		t.Fatalf("first pass: %+v, want 1 missing cell (lost; orphan-cell holds only an orphan), 1 suspect", rep)
	}
	if p := b.ConvergePlan(20*time.Second, []string{"other"}); !cmp.Equal(p.MissingCellIDs, []string{"lost"}) {
		t.Fatalf("with the suspect on lost: MissingCellIDs = %v, want [lost]", p.MissingCellIDs)
	}
}

// 8. A missing cell whose key already has a suspect: the replacement is unclaimed, no
// start; it goes out as stale UNCLAIMED 30 s later.
func TestFidelityMissingCellWithSuspect(t *testing.T) {
	b := newFidelityBBS(t, bbs.DefaultConfig(), 1)
	must(t, b.StartActualLRP(1, appKey(0), model.InstanceKey{InstanceGUID: "first", CellID: "c1"}, ""))
	b.Converge(10*time.Second, []string{"c2"}) // c1 lost: suspect + replacement
	must(t, b.ClaimActualLRP(11*time.Second, appKey(0), model.InstanceKey{InstanceGUID: "second", CellID: "c2"}))
	b.Ready()
	rep := b.Converge(20*time.Second, []string{"c3"}) // c2 lost too
	if rep.ReplacementsReset != 1 || rep.LRPStarts != 0 {
		t.Fatalf("report %+v, want 1 replacement unclaimed and no start", rep)
	}
	if a, _ := b.ActualLRP(appKey(0), model.Ordinary); a.State != model.Unclaimed || a.Since != 20*time.Second {
		t.Fatalf("replacement %+v, want UNCLAIMED since 20s", a)
	}
	b.Ready()
	if rep := b.Converge(51*time.Second, []string{"c3"}); rep.StaleUnclaimed != 1 || rep.LRPStarts != 1 {
		t.Fatalf("31 s later: %+v, want it started as stale", rep)
	}
}

// 9. Orphaned suspects are removed only in fresh domains.
func TestFidelityOrphanedSuspects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ttl    time.Duration // 0: no domain row
		upsert bool
		remove bool
	}{{"fresh", time.Hour, true, true}, {"expired", time.Second, true, false}, {"unknown", 0, false, false}} {
		s := bbs.NewMemStore()
		must(t, s.PutActualLRP(model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: "gone", Index: 0}, Domain: "dom",
			InstanceKey: model.InstanceKey{InstanceGUID: "i", CellID: "c1"}, State: model.Running, Presence: model.Suspect}))
		b, err := bbs.Open(s, bbs.DefaultConfig())
		must(t, err)
		if tc.upsert {
			must(t, b.UpsertDomain(0, "dom", tc.ttl))
		}
		p := b.ConvergePlan(time.Minute, []string{"c9"})
		if got := len(p.OrphanedSuspects) == 1; got != tc.remove {
			t.Fatalf("%s domain: OrphanedSuspects = %v, want removed %v", tc.name, p.OrphanedSuspects, tc.remove)
		}
	}
}

// 10. CompleteTask keeps a failure reason given with failed=false; a PENDING task created
// exactly expire_pending ago is neither failed nor kicked.
func TestFidelityTaskDetails(t *testing.T) {
	b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
	must(t, b.DesireTask(0, model.Task{GUID: "t", Domain: "d", MemoryMB: 1, RootFS: "x:y"}))
	_, err := b.StartTask(1, "t", "c")
	must(t, err)
	must(t, b.CompleteTask(2, "t", "c", false, "note", "ok"))
	if tk, _ := b.Task("t"); tk.Failed || tk.FailureReason != "note" {
		t.Fatalf("completed %+v, want not failed with reason note", tk)
	}

	must(t, b.DesireTask(5*time.Second, model.Task{GUID: "edge", Domain: "d", MemoryMB: 1, RootFS: "x:y"}))
	at := 5*time.Second + model.DefaultTaskExpirePending
	if p := b.ConvergePlan(at, nil); len(p.KickPendingTasks)+len(p.ExpirePendingTasks) != 0 {
		t.Fatalf("at the boundary: kick %v expire %v, want neither", p.KickPendingTasks, p.ExpirePendingTasks)
	}
	if p := b.ConvergePlan(at+1, nil); !cmp.Equal(p.ExpirePendingTasks, []string{"edge"}) {
		t.Fatalf("1 ns later: expire %v, want [edge]", p.ExpirePendingTasks)
	}
}

// The configurable restart calculator: one immediate restart, a 1-minute cap; the
// tracker's plan and the reference Compute agree with it.
func TestFidelityConfiguredRestartCalculator(t *testing.T) {
	cfg := bbs.DefaultConfig()
	cfg.Restart = model.NewRestartCalculator(1, time.Minute, 4)
	if err := cfg.Restart.Validate(); err != nil {
		t.Fatal(err)
	}
	b := newFidelityBBS(t, cfg, 1)
	now := time.Second
	crash := func(i int) {
		ik := model.InstanceKey{InstanceGUID: "i" + strconvI(i), CellID: "c"}
		must(t, b.StartActualLRP(now, appKey(0), ik, ""))
		must(t, b.CrashActualLRP(now, appKey(0), ik, "boom"))
	}
	crash(0) // count 1: not below 1 immediate restart, so CRASHED (30 s backoff)
	if a, _ := b.ActualLRP(appKey(0), model.Ordinary); a.State != model.Crashed || a.CrashCount != 1 {
		t.Fatalf("after the first crash: %+v, want CRASHED count 1", a)
	}
	check := func(at time.Duration, want int) {
		t.Helper()
		p := b.ConvergePlan(at, []string{"c"})
		in, err := b.Snapshot([]string{"c"})
		must(t, err)
		in.Config.Restart = cfg.Restart
		if diff := cmp.Diff(converge.Compute(at, in), p); diff != "" {
			t.Fatalf("tracker differs from Compute at %v:\n%s", at, diff)
		}
		if len(p.RestartCrashed) != want {
			t.Fatalf("at %v: restart %v, want %d", at, p.RestartCrashed, want)
		}
	}
	check(now+29*time.Second, 0)
	check(now+30*time.Second, 1)
	b.Converge(now+30*time.Second, []string{"c"})
	now += 30 * time.Second
	crash(1) // count 2: 60 s, capped at the 1-minute maximum
	check(now+59*time.Second, 0)
	check(now+60*time.Second, 1)
}

func strconvI(i int) string { return strconv.Itoa(i) }
