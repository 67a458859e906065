package control

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/bbs"
)

// steadyInstance is a running instance of the benchmark cluster.
type steadyInstance struct {
	key  model.ActualLRPKey
	ik   model.InstanceKey
	res  model.Resource
	cell string
}

// steadyPlane is a plane over 1,000 cells (3 zones, 32 GB and 256 containers each, as
// `bench scale` has them) running 20,000 single-instance apps of 128 MB, all started.
// Process guids come from one GUIDs block shared by the BBS and the auction state, as
// in the simulator.
func steadyPlane(b *testing.B) (*Plane, *auction.State, []steadyInstance) {
	b.Helper()
	const cellsN, apps = 1000, 20000
	names := model.NewGUIDs()
	store := bbs.NewMemStore()
	store.UseGUIDs(names)
	p, err := New(Defaults(), store, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	st := auction.NewState(auction.DefaultSettings())
	st.UseGUIDs(names)
	tot := model.Resources{MemoryMB: 32768, DiskMB: 65536, Containers: 256}
	for i := range cellsN {
		c := model.Cell{ID: fmt.Sprintf("cell-%05d", i), Zone: fmt.Sprintf("z%d", i%3), Index: i / 3,
			Total: tot, Available: tot, RootFSProviders: []string{"preloaded:cflinuxfs4"}}
		if err := st.AddCell(c); err != nil {
			b.Fatal(err)
		}
		p.Hold(0, c.ID)
	}
	guids := make([]string, apps)
	for i := range guids {
		guids[i] = fmt.Sprintf("app-%06d", i)
	}
	guids = names.Block(guids)
	for _, g := range guids {
		d := model.DesiredLRP{ProcessGUID: g, Domain: "cf-apps", Instances: 1, MemoryMB: 128, DiskMB: 256, RootFS: "preloaded:cflinuxfs4"}
		if err := p.DesireLRP(0, d); err != nil {
			b.Fatal(err)
		}
	}
	p.Ready()
	p.RunAuction(time.Second, st)
	var inst []steadyInstance
	for _, w := range p.Ready().Work {
		inst = steadyStart(b, p, st, time.Second, w, inst)
	}
	if len(inst) != apps {
		b.Fatalf("%d instances running, want %d", len(inst), apps)
	}
	p.Ready()
	return p, st, inst
}

// steadyStart claims and starts the instances of w, as the rep does, and appends them.
func steadyStart(b *testing.B, p *Plane, st *auction.State, now time.Duration, w Work, inst []steadyInstance) []steadyInstance {
	b.Helper()
	for _, l := range w.LRPs {
		key := model.ActualLRPKey{ProcessGUID: l.ProcessGUID, Index: l.Index}
		ik := model.InstanceKey{InstanceGUID: l.InstanceGUID, CellID: w.CellID}
		if err := p.ClaimLRP(now, key, ik); err != nil {
			b.Fatal(err)
		}
		if err := p.StartLRP(now, key, ik, "10.0.0.1:8080"); err != nil {
			b.Fatal(err)
		}
		if err := st.Started(w.CellID); err != nil {
			b.Fatal(err)
		}
		inst = append(inst, steadyInstance{key, ik, l.Resource, w.CellID})
	}
	return inst
}

// BenchmarkSteadyBatch: one crash cycle batch of the steady state: 18 running
// instances crash (auction state released, BBS CrashActualLRP: UNCLAIMED and a start
// request each), then the plane's part: Ready (StartAuction), RunAuction of the batch of
// 18 and Ready (the Work), then the rep's claims and starts. An op is the whole batch;
// auction-ns/op times the plane's part alone (Ready, RunAuction, Ready); cpu-ns/op is
// the process's CPU time per op (steadier than ns/op on a shared machine). Every instance
// crashes every 1,111 batches, 20 s apart: past the 5-minute crash reset, so each crash
// restarts at once.
func BenchmarkSteadyBatch(b *testing.B) {
	const batch = 18
	p, st, inst := steadyPlane(b)
	now := time.Minute
	next := 0
	at := make(map[model.ActualLRPKey]int, len(inst))
	for i, in := range inst {
		at[in.key] = i
	}
	var restarted []steadyInstance
	var plane time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		now += 20 * time.Second
		for range batch {
			in := inst[next]
			if err := st.RemoveLRP(in.cell, in.key.ProcessGUID, in.res, false); err != nil {
				b.Fatal(err)
			}
			if err := p.CrashLRP(now, in.key, in.ik, "exit status 1"); err != nil {
				b.Fatal(err)
			}
			next = (next + 1) % len(inst)
		}
		t0 := time.Now()
		if r := p.Ready(); !r.StartAuction {
			b.Fatal("no StartAuction after the crashes")
		}
		p.RunAuction(now+time.Second, st)
		r := p.Ready()
		plane += time.Since(t0)
		placed := 0
		started := restarted[:0]
		for _, w := range r.Work {
			placed += len(w.LRPs)
			started = steadyStart(b, p, st, now+time.Second, w, started)
		}
		for _, in := range started { // the crashed ones run again, with new instance keys
			inst[at[in.key]] = in
		}
		restarted = started
		if placed != batch || len(r.Auctions) != 1 || r.Auctions[0].LRPsPlaced != batch {
			b.Fatalf("placed %d (%+v), want %d", placed, r.Auctions, batch)
		}
		p.Ready()
	}
	b.ReportMetric(float64(plane.Nanoseconds())/float64(b.N), "auction-ns/op")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's CPU time (user and system, GC workers included) in ns: on a
// shared machine it moves less than wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
