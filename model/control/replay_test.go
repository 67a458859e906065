package control

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/bbs"
)

var updateReplay = flag.Bool("update-replay", false, "rewrite testdata/replay.golden")

// replay drives a plane through a random script (seeded): apps desired, scaled and
// removed, tasks, crashes, claims and starts of part of the work, cells too small for
// some items (placement failures), convergence, and now and then two auctions before a
// Ready. It returns every Ready, written out field by field.
func replay(t *testing.T, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 99))
	p, err := New(Defaults(), bbs.NewMemStore(), rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	st := auction.NewState(auction.DefaultSettings())
	for i := range 12 {
		tot := model.Resources{MemoryMB: 2048 << (i % 3), DiskMB: 8192, Containers: 12}
		c := model.Cell{ID: fmt.Sprintf("cell-%02d", i), Zone: fmt.Sprintf("z%d", i%3), Index: i / 3,
			Total: tot, Available: tot, RootFSProviders: []string{"preloaded:cflinuxfs4", "docker"}}
		if err := st.AddCell(c); err != nil {
			t.Fatal(err)
		}
		p.Hold(0, c.ID)
	}
	type running struct {
		key  model.ActualLRPKey
		ik   model.InstanceKey
		mem  int
		cell string
	}
	var live []running
	var out strings.Builder
	now := time.Duration(0)
	dump := func(rd Ready) {
		fmt.Fprintf(&out, "@%v start=%v\n", now, rd.StartAuction)
		for _, w := range rd.Work {
			fmt.Fprintf(&out, " work %s lrps=%d tasks=%d\n", w.CellID, len(w.LRPs), len(w.Tasks))
			for _, l := range w.LRPs {
				fmt.Fprintf(&out, "  lrp %s/%d %s mem=%d\n", l.ProcessGUID, l.Index, l.InstanceGUID, l.MemoryMB)
			}
			for _, tk := range w.Tasks {
				fmt.Fprintf(&out, "  task %s mem=%d\n", tk.GUID, tk.MemoryMB)
			}
		}
		for _, a := range rd.Auctions {
			fmt.Fprintf(&out, " auction at=%v lrps=%d tasks=%d placed=%d/%d failed=%d/%d waits=%v\n",
				a.At, a.LRPs, a.Tasks, a.LRPsPlaced, a.TasksPlaced, a.LRPsFailed, a.TasksFailed, a.Waits)
			keys := make([]string, 0, len(a.Failures))
			for k := range a.Failures {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(&out, "  failure %q x%d\n", k, a.Failures[k])
			}
		}
		for _, ev := range rd.Events {
			switch {
			case ev.Actual != nil:
				a := ev.Actual
				fmt.Fprintf(&out, " event %v %s/%d %s %s@%s crashes=%d err=%q\n", ev.Type, a.ProcessGUID, a.Index, a.State, a.InstanceGUID, a.CellID, a.CrashCount, a.PlacementError)
			case ev.Desired != nil:
				fmt.Fprintf(&out, " event %v %s x%d\n", ev.Type, ev.Desired.ProcessGUID, ev.Desired.Instances)
			case ev.Task != nil:
				fmt.Fprintf(&out, " event %v %s %s\n", ev.Type, ev.Task.GUID, ev.Task.State)
			}
		}
		for _, s := range rd.StopLRPs {
			fmt.Fprintf(&out, " stop %s/%d %s\n", s.Key.ProcessGUID, s.Key.Index, s.InstanceKey.InstanceGUID)
		}
		for _, c := range rd.CancelTasks {
			fmt.Fprintf(&out, " cancel %s\n", c.GUID)
		}
		fmt.Fprintf(&out, " callbacks=%d lost=%v gained=%v converged=%d\n", len(rd.Callbacks), rd.PresenceLost, rd.PresenceGained, len(rd.Converged))
	}
	// carry starts the containers of the work (most of it), as a rep does.
	carry := func(rd Ready) {
		for _, w := range rd.Work {
			for _, l := range w.LRPs {
				key := model.ActualLRPKey{ProcessGUID: l.ProcessGUID, Index: l.Index}
				ik := model.InstanceKey{InstanceGUID: l.InstanceGUID, CellID: w.CellID}
				if r.IntN(10) == 0 { // the rep never claims it: the reservation stays
					continue
				}
				if p.ClaimLRP(now, key, ik) != nil {
					_ = st.RemoveLRP(w.CellID, l.ProcessGUID, l.Resource, true)
					continue
				}
				_ = st.Started(w.CellID)
				if p.StartLRP(now, key, ik, "10.0.0.1:80") == nil {
					live = append(live, running{key, ik, l.MemoryMB, w.CellID})
				}
			}
			for _, tk := range w.Tasks {
				_, _ = p.StartTask(now, tk.GUID, w.CellID)
			}
		}
	}
	apps := 0
	for step := 0; step < 150; step++ {
		now += time.Duration(1+r.IntN(4000)) * time.Millisecond
		switch k := r.IntN(10); {
		case k < 3:
			apps++
			d := model.DesiredLRP{ProcessGUID: fmt.Sprintf("app-%d", apps), Domain: "cf-apps", Instances: 1 + r.IntN(5),
				MemoryMB: 64 << r.IntN(6), DiskMB: 64, RootFS: "preloaded:cflinuxfs4"}
			_ = p.DesireLRP(now, d)
		case k == 3 && apps > 0:
			_ = p.ScaleLRP(now, fmt.Sprintf("app-%d", 1+r.IntN(apps)), r.IntN(6))
		case k == 4 && apps > 0 && r.IntN(4) == 0:
			_ = p.RemoveLRP(now, fmt.Sprintf("app-%d", 1+r.IntN(apps)))
		case k == 5:
			task := model.Task{GUID: fmt.Sprintf("task-%d", step), Domain: "cf-tasks", State: model.TaskPending,
				MemoryMB: 128 << r.IntN(5), DiskMB: 64, RootFS: "docker:///busybox"}
			_ = p.DesireTask(now, task)
		case k == 6 && len(live) > 0:
			for range 1 + r.IntN(4) {
				if len(live) == 0 {
					break
				}
				i := r.IntN(len(live))
				in := live[i]
				live = slices.Delete(live, i, i+1)
				_ = st.RemoveLRP(in.cell, in.key.ProcessGUID, model.Resource{MemoryMB: in.mem, DiskMB: 64}, false)
				_ = p.CrashLRP(now, in.key, in.ik, "exit status 1")
			}
		case k == 7:
			p.Tick(now)
		}
		rd := p.Ready()
		dump(rd)
		carry(rd)
		if rd.StartAuction || r.IntN(8) == 0 {
			now += time.Duration(r.IntN(500)) * time.Millisecond
			p.RunAuction(now, st)
			if r.IntN(3) == 0 { // a second auction before the Ready: its Works follow
				p.Ready()
				// (StartAuction of the queue since) is only set again by collect
			}
			if r.IntN(3) == 0 {
				p.RunAuction(now+time.Millisecond, st)
			}
			rd := p.Ready()
			dump(rd)
			carry(rd)
		}
	}
	return out.String()
}

// TestReplayGolden: the plane's outputs over random scripts are the ones recorded in
// testdata/replay.golden (written by the plane before the allocation work of session 5:
// queue chunks, Works carved from one array, instance guids sharing strings, queue times
// without string keys). Any change of a decision, an event, a guid, a wait or their
// order shows here.
func TestReplayGolden(t *testing.T) {
	var all strings.Builder
	for seed := uint64(1); seed <= 4; seed++ {
		fmt.Fprintf(&all, "== seed %d\n%s", seed, replay(t, seed))
	}
	got := all.String()
	const path = "testdata/replay.golden"
	if *updateReplay {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("line %d:\n got %s\nwant %s", i+1, g[i], w[i])
			}
		}
		t.Fatalf("%d lines, want %d", len(g), len(w))
	}
}
