package control

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/bbs"
)

const s = time.Second

func newPlane(t *testing.T) *Plane {
	t.Helper()
	p, err := New(Defaults(), bbs.NewMemStore(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func cells(t *testing.T, n int, memMB int) *auction.State {
	t.Helper()
	st := auction.NewState(auction.DefaultSettings())
	for i := 0; i < n; i++ {
		c := model.Cell{
			ID: "cell-" + string(rune('a'+i)), Zone: "z1", Index: i,
			Total:           model.Resources{MemoryMB: memMB, DiskMB: 4096, Containers: 10},
			Available:       model.Resources{MemoryMB: memMB, DiskMB: 4096, Containers: 10},
			RootFSProviders: []string{"preloaded:cflinuxfs4", "docker"},
		}
		if err := st.AddCell(c); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func lrp(guid string, n, mem int) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: guid, Domain: "cf-apps", Instances: n, MemoryMB: mem, DiskMB: 64, RootFS: "preloaded:cflinuxfs4"}
}

// Presence: a cell is present from its first heartbeat until PresenceTTL (15 s) after
// its last one; Tick reports the loss once.
func TestPresenceExpiry(t *testing.T) {
	p := newPlane(t)
	p.Heartbeat(0, "cell-a")
	p.Heartbeat(0, "cell-b")
	if r := p.Ready(); strings.Join(r.PresenceGained, ",") != "cell-a,cell-b" {
		t.Fatalf("gained %v, want [cell-a cell-b]", r.PresenceGained)
	}
	p.Heartbeat(5*s, "cell-a")
	p.Tick(14 * s) // cell-b expires at 15 s
	if r := p.Ready(); len(r.PresenceLost) != 0 {
		t.Fatalf("lost %v at 14s, want none", r.PresenceLost)
	}
	p.Tick(15 * s)
	if r := p.Ready(); strings.Join(r.PresenceLost, ",") != "cell-b" {
		t.Fatalf("lost %v at 15s, want [cell-b]", r.PresenceLost)
	}
	if got := p.PresentCells(); strings.Join(got, ",") != "cell-a" {
		t.Errorf("present %v, want [cell-a]", got)
	}
	p.Heartbeat(16*s, "cell-b") // back: gained again
	if r := p.Ready(); strings.Join(r.PresenceGained, ",") != "cell-b" {
		t.Errorf("gained %v, want [cell-b]", r.PresenceGained)
	}
	p.Leave(17*s, "cell-a")
	if r := p.Ready(); strings.Join(r.PresenceLost, ",") != "cell-a" {
		t.Errorf("after Leave lost %v, want [cell-a]", r.PresenceLost)
	}
}

// Only one auction runs at a time; work that arrives meanwhile joins the next batch.
func TestOneAuctionAtATime(t *testing.T) {
	p := newPlane(t)
	st := cells(t, 2, 1024)
	if err := p.DesireLRP(0, lrp("web", 2, 128)); err != nil {
		t.Fatal(err)
	}
	r := p.Ready()
	if !r.StartAuction {
		t.Fatal("no StartAuction after a desire")
	}
	if err := p.DesireLRP(s/10, lrp("api", 1, 128)); err != nil {
		t.Fatal(err)
	}
	if r := p.Ready(); r.StartAuction {
		t.Fatal("a second StartAuction while the first is in flight")
	}
	p.RunAuction(s/2, st)
	r = p.Ready()
	placed := 0
	for _, w := range r.Work {
		placed += len(w.LRPs)
		for _, l := range w.LRPs {
			if l.InstanceGUID == "" {
				t.Errorf("work for %s/%d has no instance guid", l.ProcessGUID, l.Index)
			}
		}
	}
	if placed != 3 || len(r.Auctions) != 1 || r.Auctions[0].LRPsPlaced != 3 {
		t.Fatalf("placed %d in %d rounds (%+v), want 3 in one batch", placed, len(r.Auctions), r.Auctions)
	}
	// Waits: web queued at 0 s, api at 0.1 s, placed at 0.5 s.
	want := []float64{0.5, 0.5, 0.4}
	got := r.Auctions[0].Waits
	if len(got) != 3 {
		t.Fatalf("waits %v, want 3 values", got)
	}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-9 || d < -1e-9 {
			t.Errorf("wait[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if r.StartAuction {
		t.Error("StartAuction with an empty queue")
	}
}

// An LRP that does not fit stays UNCLAIMED with Diego's placement error; a task that
// does not fit is rejected back to PENDING.
func TestAuctionFailuresReachTheBBS(t *testing.T) {
	p := newPlane(t)
	st := cells(t, 1, 256)
	if err := p.DesireLRP(0, lrp("big", 1, 512)); err != nil {
		t.Fatal(err)
	}
	task := model.Task{GUID: "job", Domain: "cf-tasks", State: model.TaskPending, MemoryMB: 1024, DiskMB: 64, RootFS: "docker:///busybox"}
	if err := p.DesireTask(0, task); err != nil {
		t.Fatal(err)
	}
	p.Ready()
	p.RunAuction(s, st)
	r := p.Ready()
	if len(r.Work) != 0 {
		t.Fatalf("work %+v, want none", r.Work)
	}
	if r.Auctions[0].LRPsFailed != 1 || r.Auctions[0].TasksFailed != 1 {
		t.Fatalf("round %+v, want 1 LRP and 1 task failed", r.Auctions[0])
	}
	as := p.BBS().ActualLRPs("big")
	if len(as) != 1 || as[0].State != model.Unclaimed || as[0].PlacementError != "insufficient resources: memory" {
		t.Errorf("actual %+v, want UNCLAIMED with \"insufficient resources: memory\"", as)
	}
	tk, ok := p.BBS().Task("job")
	if !ok || tk.State != model.TaskPending || tk.RejectionCount != 1 {
		t.Errorf("task %+v, want PENDING with one rejection", tk)
	}
}

// Convergence runs every ConvergenceInterval, driven only by Tick.
func TestConvergenceCadence(t *testing.T) {
	p := newPlane(t)
	passes := 0
	for now := time.Duration(0); now <= 95*s; now += 5 * s {
		p.Heartbeat(now, "cell-a")
		p.Tick(now)
		passes += len(p.Ready().Converged)
	}
	if passes != 3 { // at 30 s, 60 s, 90 s
		t.Errorf("%d convergence passes in 95 s, want 3", passes)
	}
	if d := p.NextDeadline(); d != 110*s {
		t.Errorf("next deadline %v, want 110s (presence expiry 15 s after the last heartbeat, before the 120 s pass)", d)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := Defaults()
	cfg.Algorithm = "no-such"
	if _, err := New(cfg, bbs.NewMemStore(), nil); err == nil || !strings.Contains(err.Error(), "no-such") {
		t.Errorf("err = %v, want one naming the algorithm", err)
	}
	cfg = Defaults()
	cfg.PresenceTTL = 0
	if _, err := New(cfg, bbs.NewMemStore(), nil); err == nil || !strings.Contains(err.Error(), "presence_ttl") {
		t.Errorf("err = %v, want one naming presence_ttl", err)
	}
}

// Hold keeps a presence without heartbeats; Release expires it PresenceTTL after the
// last heartbeat; holding again before then keeps the cell present. The present list is
// the same slice while membership is unchanged.
func TestHoldRelease(t *testing.T) {
	p := newPlane(t)
	p.Hold(0, "cell-a")
	p.Hold(0, "cell-b")
	p.Ready()
	first := p.PresentCells()
	p.Tick(10 * time.Minute) // held cells never expire
	if r := p.Ready(); len(r.PresenceLost) != 0 {
		t.Fatalf("held cells lost: %v", r.PresenceLost)
	}
	if again := p.PresentCells(); &again[0] != &first[0] {
		t.Error("PresentCells returned a new slice although membership did not change")
	}
	p.Release(601*s, "cell-a", 600*s) // last heartbeat at 600 s -> expires at 615 s
	p.Release(601*s, "cell-b", 600*s)
	p.Hold(610*s, "cell-b") // back before expiry (a short partition)
	p.Tick(614 * s)
	if r := p.Ready(); len(r.PresenceLost) != 0 {
		t.Fatalf("lost %v at 614s, want none", r.PresenceLost)
	}
	if d := p.NextDeadline(); d != 615*s {
		t.Errorf("next deadline %v, want 615s", d)
	}
	p.Tick(615 * s)
	if r := p.Ready(); strings.Join(r.PresenceLost, ",") != "cell-a" {
		t.Fatalf("lost %v at 615s, want [cell-a]", r.PresenceLost)
	}
	if got := p.PresentCells(); strings.Join(got, ",") != "cell-b" {
		t.Errorf("present %v, want [cell-b]", got)
	}
}

// ExpectLRPs sizes the auction queue for the announced instances (no growth while they
// arrive) and changes no outcome: the same desires with and without it give the same
// work, in the same order.
func TestExpectLRPs(t *testing.T) {
	run := func(expect int) ([]Work, bool) {
		p := newPlane(t)
		st := cells(t, 4, 4096)
		p.ExpectLRPs(expect)
		before := cap(p.lrpQueue)
		for i := 0; i < 6; i++ {
			if err := p.DesireLRP(0, lrp("app-"+string(rune('a'+i)), 3, 256)); err != nil {
				t.Fatal(err)
			}
		}
		p.collect()
		grew := cap(p.lrpQueue) != before
		r := p.Ready()
		if !r.StartAuction {
			t.Fatal("no auction requested")
		}
		p.RunAuction(s, st)
		return p.Ready().Work, grew
	}
	plain, _ := run(0)
	sized, grew := run(18)
	if grew {
		t.Error("the queue grew after ExpectLRPs(18) and 18 requests")
	}
	if len(plain) == 0 || len(plain) != len(sized) {
		t.Fatalf("work for %d and %d cells", len(plain), len(sized))
	}
	for i := range plain {
		if plain[i].CellID != sized[i].CellID || len(plain[i].LRPs) != len(sized[i].LRPs) {
			t.Fatalf("work %d: %s x%d without, %s x%d with ExpectLRPs", i, plain[i].CellID, len(plain[i].LRPs), sized[i].CellID, len(sized[i].LRPs))
		}
		for j := range plain[i].LRPs {
			a, b := plain[i].LRPs[j], sized[i].LRPs[j]
			if a.ProcessGUID != b.ProcessGUID || a.Index != b.Index || a.InstanceGUID != b.InstanceGUID {
				t.Fatalf("work %d item %d differs: %+v vs %+v", i, j, a, b)
			}
		}
	}
}

// lrpTimes follows the first occurrence of each deduplicated LRP: results point at
// their item in the batch, or (a Schedule that copied them) are matched by key.
func TestLRPTimes(t *testing.T) {
	batch := []auction.LRP{
		{ProcessGUID: "a", Index: 0}, {ProcessGUID: "b", Index: 0}, {ProcessGUID: "a", Index: 0},
		{ProcessGUID: "a", Index: 1}, {ProcessGUID: "b", Index: 0},
	}
	queued := []time.Duration{1 * s, 2 * s, 3 * s, 4 * s, 5 * s}
	// a/0 at 1 s, b/0 at 2 s, a/1 at 4 s: the repeats (3 s, 5 s) are not theirs.
	want := []time.Duration{1 * s, 2 * s, 4 * s}
	copies := []auction.LRP{batch[0], batch[1], batch[3]}
	tests := []struct {
		name string
		res  []auction.LRPResult
	}{
		{"pointers into the batch", []auction.LRPResult{{LRP: &batch[0]}, {LRP: &batch[1]}, {LRP: &batch[3]}}},
		{"copies, by key", []auction.LRPResult{{LRP: &copies[0]}, {LRP: &copies[1]}, {LRP: &copies[2]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lrpTimes(batch, tt.res, queued); !slices.Equal(got, want) {
				t.Errorf("times %v, want %v", got, want)
			}
		})
	}
	t.Run("no repeats", func(t *testing.T) {
		res := []auction.LRPResult{{LRP: &batch[0]}, {LRP: &batch[1]}}
		if got := lrpTimes(batch[:2], res, queued[:2]); &got[0] != &queued[0] {
			t.Error("a batch without repeats did not use the queue times as they are")
		}
	})
}

// The Works of a round share one array but cannot reach each other; the items of a
// batch stay as they were while later batches fill the rest of the queue's chunk; a
// round without failures has no Failures map.
func TestWorkOwnership(t *testing.T) {
	p := newPlane(t)
	st := cells(t, 4, 4096)
	for i := 0; i < 4; i++ {
		if err := p.DesireLRP(0, lrp("app-"+string(rune('a'+i)), 3, 128)); err != nil {
			t.Fatal(err)
		}
	}
	p.Ready()
	p.RunAuction(s, st)
	r := p.Ready()
	if len(r.Work) < 2 {
		t.Fatalf("work on %d cells, want several", len(r.Work))
	}
	if r.Auctions[0].Failures != nil {
		t.Errorf("failures %v in a round where all placed", r.Auctions[0].Failures)
	}
	type item struct {
		guid     string
		index    int
		mem      int
		instance string
	}
	var held []item
	var ptrs []*auction.LRP
	for _, w := range r.Work {
		if cap(w.LRPs) != len(w.LRPs) {
			t.Errorf("work for %s: cap %d > len %d: an append would write into another Work", w.CellID, cap(w.LRPs), len(w.LRPs))
		}
		for _, l := range w.LRPs {
			held = append(held, item{l.ProcessGUID, l.Index, l.MemoryMB, l.InstanceGUID})
			ptrs = append(ptrs, l.LRP)
		}
	}
	// An append to the first Work leaves the second as it was.
	second := r.Work[1].LRPs[0]
	_ = append(r.Work[0].LRPs, LRPWork{InstanceGUID: "intruder"})
	if r.Work[1].LRPs[0] != second {
		t.Fatal("appending to one Work changed another")
	}
	// More batches: their items go after this batch's in the queue chunk.
	for round := 0; round < 3; round++ {
		if err := p.DesireLRP(2*s, lrp("more-"+string(rune('a'+round)), 2, 64)); err != nil {
			t.Fatal(err)
		}
		p.Ready()
		p.RunAuction(3*s, st)
		p.Ready()
	}
	for i, l := range ptrs {
		if got := (item{l.ProcessGUID, l.Index, l.MemoryMB, held[i].instance}); got != held[i] {
			t.Fatalf("item %d of the first batch is now %+v, was %+v", i, got, held[i])
		}
	}
}

// A round of more than maxScratch placements gives each Work its own arrays and spreads
// the instance guids over several strings; they are still i-1, i-2, ... in placement
// order, and the scratch it grew is let go.
func TestLargeRound(t *testing.T) {
	p := newPlane(t)
	st := auction.NewState(auction.DefaultSettings())
	const cellsN, apps, perApp = 40, 850, 20 // 17,000 instances > maxScratch (16,384)
	for i := 0; i < cellsN; i++ {
		tot := model.Resources{MemoryMB: 1 << 20, DiskMB: 1 << 20, Containers: 1000}
		c := model.Cell{ID: "cell-" + strconv.Itoa(i), Zone: "z" + strconv.Itoa(i%3), Index: i / 3,
			Total: tot, Available: tot, RootFSProviders: []string{"preloaded:cflinuxfs4"}}
		if err := st.AddCell(c); err != nil {
			t.Fatal(err)
		}
	}
	p.ExpectLRPs(apps * perApp)
	for i := 0; i < apps; i++ {
		if err := p.DesireLRP(0, lrp("app-"+strconv.Itoa(i), perApp, 16)); err != nil {
			t.Fatal(err)
		}
	}
	p.Ready()
	p.RunAuction(s, st)
	r := p.Ready()
	if r.Auctions[0].LRPsPlaced != apps*perApp || apps*perApp <= maxScratch {
		t.Fatalf("placed %d, want %d (> %d)", r.Auctions[0].LRPsPlaced, apps*perApp, maxScratch)
	}
	seen := make([]bool, apps*perApp+1)
	for _, w := range r.Work {
		if cap(w.LRPs) != len(w.LRPs) {
			t.Errorf("work for %s: cap %d, len %d", w.CellID, cap(w.LRPs), len(w.LRPs))
		}
		last := uint64(0)
		for _, l := range w.LRPs {
			n, err := strconv.ParseUint(strings.TrimPrefix(l.InstanceGUID, "i-"), 36, 64)
			if err != nil || !strings.HasPrefix(l.InstanceGUID, "i-") || n == 0 || n > apps*perApp || seen[n] || n <= last {
				t.Fatalf("instance guid %q on %s after i-%s: want the next of i-1 .. i-%d, rising within a cell",
					l.InstanceGUID, w.CellID, strconv.FormatUint(last, 36), apps*perApp)
			}
			seen[n], last = true, n
		}
	}
	if p.InstancesIssued() != apps*perApp {
		t.Errorf("issued %d, want %d", p.InstancesIssued(), apps*perApp)
	}
	if cap(p.lrpWin) > maxScratch || cap(p.lrpQueued) > maxScratch || cap(p.guidBuf) > maxScratch {
		t.Errorf("scratch kept after a large round: lrpWin %d, lrpQueued %d, guidBuf %d", cap(p.lrpWin), cap(p.lrpQueued), cap(p.guidBuf))
	}
	if p.lrpQueue != nil {
		t.Errorf("the large batch's queue (cap %d) is kept for the next one", cap(p.lrpQueue))
	}
}
