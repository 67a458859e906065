package bbs_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// benchGUIDs is the number of desired LRPs of the benchmarks: the 200,000 crashing apps of
// the 10x Diego mix.
const benchGUIDs = 200_000

func benchDesired(guid string, instances int) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: guid, Domain: "cf-apps", Instances: instances, MemoryMB: 256, DiskMB: 1024,
		RootFS: "preloaded:cflinuxfs4", StartTimeout: 60 * time.Second}
}

// desireAll desires n single-instance LRPs and returns their guids and the BBS.
func desireAll(b *testing.B, n int) (*bbs.BBS, []string) {
	b.Helper()
	bb := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
	guids := make([]string, n)
	for i := range guids {
		guids[i] = "app-" + strconv.Itoa(i)
		if err := bb.DesireLRP(0, benchDesired(guids[i], 1)); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 0 {
			bb.Ready()
		}
	}
	bb.Ready()
	return bb, guids
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkBBSCrashCycle drives one op = one crash cycle of one of 200,000 single-instance
// apps, round robin: ClaimActualLRP -> StartActualLRP -> CrashActualLRP, then
// UnclaimActualLRP (convergence's restart) when the crash left the row CRASHED (from the
// third crash on), draining Ready() after each cycle as the driver does. The setup's
// live heap per app (store + tracker, one UNCLAIMED row each) is reported as B/app.
func BenchmarkBBSCrashCycle(b *testing.B) {
	before := liveHeap()
	bb, guids := desireAll(b, benchGUIDs)
	perApp := float64(int64(liveHeap())-int64(before)) / benchGUIDs
	cells := make([]string, 10_000)
	for i := range cells {
		cells[i] = "cell-" + strconv.Itoa(i)
	}
	iks := make([]model.InstanceKey, 1024)
	for i := range iks {
		iks[i] = model.InstanceKey{InstanceGUID: "i-" + strconv.Itoa(i), CellID: cells[(i*7919)%len(cells)]}
	}
	now := time.Second
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		key := model.ActualLRPKey{ProcessGUID: guids[n%len(guids)]}
		ik := iks[n%len(iks)]
		ik.CellID = cells[n%len(cells)]
		now += time.Millisecond
		if err := bb.ClaimActualLRP(now, key, ik); err != nil {
			b.Fatal(err)
		}
		if err := bb.StartActualLRP(now, key, ik, ""); err != nil {
			b.Fatal(err)
		}
		if err := bb.CrashActualLRP(now, key, ik, "exited with status 1"); err != nil {
			b.Fatal(err)
		}
		if a, _ := bb.ActualLRP(key, model.Ordinary); a.State == model.Crashed {
			if err := bb.UnclaimActualLRP(now, key); err != nil {
				b.Fatal(err)
			}
		}
		bb.Ready()
	}
	b.StopTimer()
	runtime.KeepAlive(bb)
	b.ReportMetric(perApp, "B/app")
}

// BenchmarkBBSDesire measures DesireLRP (validation, store, tracker, createInstances):
// one op desires one app of 12 instances, 20,000 apps per BBS; reports B/instance of
// the live heap the BBS holds afterwards.
func BenchmarkBBSDesire(b *testing.B) {
	const apps, inst = 20_000, 12
	guids := make([]string, apps)
	for i := range guids {
		guids[i] = "app-" + strconv.Itoa(i)
	}
	var bb *bbs.BBS
	b.ReportAllocs()
	var heapSum float64
	var heaps int
	before := liveHeap()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if n%apps == 0 {
			if bb != nil {
				b.StopTimer()
				bb.Ready()
				heapSum += float64(int64(liveHeap())-int64(before)) / (apps * inst)
				runtime.KeepAlive(bb)
				heaps++
				bb = nil
				before = liveHeap()
				b.StartTimer()
			}
			bb = bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
		}
		if err := bb.DesireLRP(0, benchDesired(guids[n%apps], inst)); err != nil {
			b.Fatal(err)
		}
		if n%64 == 63 {
			bb.Ready()
		}
	}
	b.StopTimer()
	if heaps > 0 {
		b.ReportMetric(heapSum/float64(heaps), "B/instance")
	}
}
