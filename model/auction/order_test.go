package auction

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"github.com/diegolab/diegolab/model"
)

// refOrder is Schedule's de-duplication and order written plainly: a map of
// "guid/index" strings (first wins), then a stable sort of each group on the
// documented keys. It returns the batch positions of the LRPs in placement order.
func refOrder(b Batch) []int {
	seen := map[string]bool{}
	var kept []int // batch positions
	for i, l := range b.LRPs {
		k := l.ProcessGUID + "/" + strconv.Itoa(l.Index)
		if !seen[k] {
			seen[k] = true
			kept = append(kept, i)
		}
	}
	var first, later []int
	for _, i := range kept {
		if b.LRPs[i].Index == 0 {
			first = append(first, i)
		} else {
			later = append(later, i)
		}
	}
	slices.SortStableFunc(first, func(x, y int) int { return cmp.Compare(b.LRPs[y].MemoryMB, b.LRPs[x].MemoryMB) })
	slices.SortStableFunc(later, func(x, y int) int {
		if c := cmp.Compare(b.LRPs[x].Index, b.LRPs[y].Index); c != 0 {
			return c
		}
		return cmp.Compare(b.LRPs[y].MemoryMB, b.LRPs[x].MemoryMB)
	})
	return append(first, later...)
}

// orderBatch makes a batch of n LRPs over apps guids, whose shape follows kind.
func orderBatch(r *rand.Rand, kind string, n, apps, memKinds int) Batch {
	var b Batch
	mem := func() int { return 32 * (1 + r.IntN(memKinds)) }
	switch kind {
	case "desired": // apps of 1-4 instances 0..k-1, in order, one memory figure per app
		for a := 0; len(b.LRPs) < n; a++ {
			m, k := mem(), 1+r.IntN(4)
			for i := 0; i < k; i++ {
				b.LRPs = append(b.LRPs, LRP{ProcessGUID: fmt.Sprintf("app-%d", a%apps), Index: i, LRPSpec: &LRPSpec{Resource: model.Resource{MemoryMB: m}}})
			}
		}
	case "dups": // desired, with some items repeated later and some apps repeated
		for a := 0; len(b.LRPs) < n; a++ {
			m, k := mem(), 1+r.IntN(4)
			for i := 0; i < k; i++ {
				b.LRPs = append(b.LRPs, LRP{ProcessGUID: fmt.Sprintf("app-%d", a%apps), Index: i, LRPSpec: &LRPSpec{Resource: model.Resource{MemoryMB: m}}})
				if r.IntN(20) == 0 {
					j := r.IntN(len(b.LRPs))
					l, sp := b.LRPs[j], *b.LRPs[j].LRPSpec
					sp.MemoryMB = mem() // a repeat loses whatever its figures
					l.LRPSpec = &sp
					b.LRPs = append(b.LRPs, l)
				}
			}
		}
	case "random": // any guid, any index (some negative or extreme), any order
		extremes := []int{math.MinInt, math.MaxInt, math.MaxInt32, math.MaxInt32 + 1, -1, -7}
		for len(b.LRPs) < n {
			idx := r.IntN(6)
			if r.IntN(50) == 0 {
				idx = extremes[r.IntN(len(extremes))]
			}
			b.LRPs = append(b.LRPs, LRP{ProcessGUID: fmt.Sprintf("app-%d", r.IntN(apps)), Index: idx, LRPSpec: &LRPSpec{Resource: model.Resource{MemoryMB: mem()}}})
		}
	case "gaps": // in-order apps whose indices skip or go back now and then
		for a := 0; len(b.LRPs) < n; a++ {
			m := mem()
			for i := 0; i < 6; i++ {
				idx := i
				switch r.IntN(8) {
				case 0:
					idx = i + 2
				case 1:
					idx = i / 2
				}
				b.LRPs = append(b.LRPs, LRP{ProcessGUID: fmt.Sprintf("app-%d", a%apps), Index: idx, LRPSpec: &LRPSpec{Resource: model.Resource{MemoryMB: m}}})
			}
		}
	}
	for i := 0; i < r.IntN(4); i++ {
		b.Tasks = append(b.Tasks, Task{GUID: fmt.Sprintf("t%d", r.IntN(3)), Resource: model.Resource{MemoryMB: mem()}})
	}
	return b
}

// TestOrderMatchesReference checks dedupe and placementOrder (scan and comparison sort
// for small batches, bigDedupe and the counting sort for big ones, and their
// fall-backs) against refOrder, with the State's own guid map and with shared GUIDs
// (whose ids are big when the table already holds many guids: bigDedupe's map mode).
func TestOrderMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, kind := range []string{"desired", "dups", "random", "gaps"} {
		for _, n := range []int{1, 20, 64, 65, 500, 1023, 1024, 3000, 20000} {
			for _, memKinds := range []int{1, 5, 300} { // 300 > maxMemKinds: comparison sort
				for _, shared := range []string{"own", "shared", "shared-big-ids"} {
					apps := max(1, n/3)
					if kind == "random" {
						apps = max(1, n/10)
					}
					name := fmt.Sprintf("%s/n=%d/mems=%d/%s", kind, n, memKinds, shared)
					t.Run(name, func(t *testing.T) {
						b := orderBatch(r, kind, n, apps, memKinds)
						s := NewState(DefaultSettings())
						if shared != "own" {
							names := model.NewGUIDs()
							if shared == "shared-big-ids" {
								for i := 0; i < 8*n+2000; i++ { // ids beyond bigDedupe's limit
									names.ID("other-" + strconv.Itoa(i))
								}
							}
							s.UseGUIDs(names)
						}
						res := Results{}
						var gids []int32
						res.LRPs, gids = s.dedupe(&b, nil)
						for _, tk := range b.Tasks { // Schedule's task de-duplication
							if !slices.ContainsFunc(res.Tasks, func(x TaskResult) bool { return x.GUID == tk.GUID }) {
								res.Tasks = append(res.Tasks, TaskResult{Task: tk})
							}
						}
						order := placementOrder(&res, nil)
						wantL := refOrder(b)
						var gotL []int
						var gotT []int
						for _, w := range order {
							if w.task {
								gotT = append(gotT, w.i)
								continue
							}
							if len(gotT) > 0 && res.LRPs[w.i].Index == 0 {
								t.Fatal("an index-0 LRP after a task")
							}
							// batch position of the result's LRP
							gotL = append(gotL, int(uintptrDiff(&b.LRPs[0], res.LRPs[w.i].LRP)))
						}
						if !slices.Equal(gotL, wantL) {
							t.Fatalf("LRP order differs:\n got %v\nwant %v", head(gotL), head(wantL))
						}
						if len(gids) != len(res.LRPs) {
							t.Fatalf("%d gids for %d results", len(gids), len(res.LRPs))
						}
						for j, g := range gids {
							want, _ := s.findGUID(res.LRPs[j].ProcessGUID)
							if g != want {
								t.Fatalf("result %d: gid %d, want %d", j, g, want)
							}
						}
						// tasks: by memory descending, stable
						for k := 1; k < len(gotT); k++ {
							a, c := res.Tasks[gotT[k-1]], res.Tasks[gotT[k]]
							if a.MemoryMB < c.MemoryMB || a.MemoryMB == c.MemoryMB && gotT[k-1] > gotT[k] {
								t.Fatalf("tasks out of order: %v", gotT)
							}
						}
						if len(gotT) != len(res.Tasks) {
							t.Fatalf("%d tasks ordered of %d", len(gotT), len(res.Tasks))
						}
					})
				}
			}
		}
	}
}

func head(xs []int) []int { return xs[:min(len(xs), 40)] }

// uintptrDiff is the position of p in the array that starts at base.
func uintptrDiff(base, p *LRP) int {
	return int((uintptr(unsafe.Pointer(p)) - uintptr(unsafe.Pointer(base))) / unsafe.Sizeof(LRP{}))
}

// TestCountingOrderTaken checks that the counting sort serves the batches it is for
// (so that TestOrderMatchesReference tests it) and declines the others.
func TestCountingOrderTaken(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name     string
		kind     string
		memKinds int
		want     bool
	}{
		{"few memory figures", "desired", 5, true},
		{"random indices incl. extremes", "random", 5, false}, // MinInt..MaxInt: too spread
		{"too many memory figures", "desired", 300, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := orderBatch(r, tc.kind, 5000, 1500, tc.memKinds)
			s := NewState(DefaultSettings())
			res := Results{}
			res.LRPs, _ = s.dedupe(&b, nil)
			if tc.kind == "random" && !slices.ContainsFunc(res.LRPs, func(l LRPResult) bool { return l.Index == math.MaxInt }) {
				t.Skip("no extreme index drawn")
			}
			if _, ok := countingOrder(&res, nil); ok != tc.want {
				t.Fatalf("countingOrder ok = %v, want %v", ok, tc.want)
			}
		})
	}
}
