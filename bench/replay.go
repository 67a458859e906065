package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/diegolab/diegolab/bench/importer"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
)

// Replay is the FGD paper's experiment (Weng et al., ATC'23, §6): the trace's pods,
// inflated by sampling with replacement until their requests of one resource reach
// Tune x the cluster's capacity of it, arrive one at a time in a seeded random order
// with no departures, and each is placed once by the auction: a pod that does not fit
// fails and is not retried (Diego retries; this is the experiment's rule). The
// allocation ratio of every resource is recorded at each 1 % of arrived load.
//
// Cells are the trace's nodes (CPU, memory, GPUs of one model), with disk and
// containers that never bind; pods are tasks asking for memory, CPU and GPUs.

// ReplayOptions configure one replay.
type ReplayOptions struct {
	Algorithm string  // a registered auction algorithm
	Seed      uint64  // the inflation sample, the arrival order and the ties
	Tune      float64 // inflate to Tune x capacity (<= 0: the trace's pods as they are)
	// Resource that sets the load: "gpu" (the paper's), "cpu" or "memory".
	Resource string
	// Typical is the share of pods FGD's target workload covers (0: 0.95, the paper's).
	Typical float64
	// KeepOrder places the pods in trace order (then the sampled ones) instead of
	// shuffling them all (Order "trace").
	KeepOrder bool
	// Order is the arrival order: OrderShuffled ("" too), OrderTrace or OrderPaper.
	Order string
	// RandomTies breaks the GPU policies' equal scores at random (Kubernetes'
	// selectHost) instead of by cell order; the cell order is the trace's nodes
	// shuffled per seed either way (the paper's simulator renames its nodes with a
	// random permutation).
	RandomTies bool
}

// CurvePoint is the state after the arrivals that brought the load to Percent % of
// the capacity of the load resource: allocation ratios (allocated / capacity).
type CurvePoint struct {
	Percent          int
	CPU, Memory, GPU float64
	Arrived, Placed  int // pods
	FragGPUMilli     int // free milli-GPU on devices partly allocated (shared leftovers)
	FreeGPUMilli     int // free milli-GPU in all
}

// ReplayResult is what a replay measured.
type ReplayResult struct {
	Pods, Placed, Failed int
	// Capacity of the cluster.
	MilliCPU, MemoryMiB, MilliGPU int
	// Curve has one point per whole percent of arrived load, from 1 to the last reached.
	Curve []CurvePoint
}

// At returns the curve point at pct % of arrived load (ok false when not reached).
func (r *ReplayResult) At(pct int) (CurvePoint, bool) {
	for _, p := range r.Curve {
		if p.Percent == pct {
			return p, true
		}
	}
	return CurvePoint{}, false
}

// Resources of ReplayOptions.Resource.
const (
	LoadGPU    = "gpu"
	LoadCPU    = "cpu"
	LoadMemory = "memory"
)

// Arrival orders of a replay's pods (ReplayOptions.Order, the spec's order).
const (
	// OrderShuffled: the trace's pods and the sampled ones, all shuffled together.
	OrderShuffled = "shuffled"
	// OrderTrace: the trace's pods in file order, then the sampled ones in the order
	// they were drawn.
	OrderTrace = "trace"
	// OrderPaper: the trace's pods shuffled, then the sampled ones in the order they
	// were drawn, as the paper's simulator does it (SortClusterPods shuffles the
	// workload with --shuffle-pod, then TunePodsByNodeTotalResource appends the draws).
	OrderPaper = "paper"
	// OrderSampledFirst: the sampled pods in the order they were drawn, then the
	// trace's pods in file order (the trace's creation order). The paper's simulator
	// sorts pod events by creation time, stably, and a pod without one goes first:
	// if its trace pods carry their times and the drawn copies do not (it strips them
	// from the pods it samples from), this is its order.
	OrderSampledFirst = "sampled-first"
)

// InflatePods returns the pods of one replay in arrival order: the trace's pods plus pods
// drawn uniformly with replacement (a PCG stream seeded with seed) as long as the
// requests of resource stay within tune x capacity (the paper's simulator,
// TunePodsByNodeTotalResource), then, unless keepOrder, all of them shuffled with the
// same stream (its --shuffle-pod).
func InflatePods(tr *importer.OpenBTrace, resource string, tune float64, seed uint64, keepOrder bool) ([]importer.OpenBPod, error) {
	order := OrderShuffled
	if keepOrder {
		order = OrderTrace
	}
	return InflatePodsOrdered(tr, resource, tune, seed, order)
}

// InflatePodsOrdered is InflatePods with an arrival order (OrderShuffled, OrderTrace,
// OrderPaper).
func InflatePodsOrdered(tr *importer.OpenBTrace, resource string, tune float64, seed uint64, order string) ([]importer.OpenBPod, error) {
	amount, err := loadOf(resource)
	if err != nil {
		return nil, err
	}
	capCPU, capMem, capGPU := tr.Capacity()
	capacity := map[string]int{LoadGPU: capGPU, LoadCPU: capCPU, LoadMemory: capMem}[resource]
	rng := rand.New(rand.NewPCG(seed, 0x0be1_2023))
	pods := append([]importer.OpenBPod(nil), tr.Pods...)
	switch order {
	case OrderShuffled, OrderTrace, OrderSampledFirst:
	case OrderPaper:
		// The simulator shuffles the workload before it draws (its global source
		// serves both; here one stream, shuffle first as there).
		rng.Shuffle(len(pods), func(i, j int) { pods[i], pods[j] = pods[j], pods[i] })
	default:
		return nil, fmt.Errorf("order %q: want %s, %s, %s or %s", order, OrderShuffled, OrderTrace, OrderPaper, OrderSampledFirst)
	}
	if tune > 0 {
		sum := 0
		for _, p := range pods {
			sum += amount(&p)
		}
		target := tune * float64(capacity)
		for {
			p := tr.Pods[rng.IntN(len(tr.Pods))]
			if float64(sum+amount(&p)) > target {
				break
			}
			sum += amount(&p)
			pods = append(pods, p)
		}
	}
	switch order {
	case OrderShuffled:
		rng.Shuffle(len(pods), func(i, j int) { pods[i], pods[j] = pods[j], pods[i] })
	case OrderSampledFirst:
		n := len(tr.Pods)
		pods = append(pods[n:], pods[:n]...)
	}
	return pods, nil
}

func loadOf(resource string) (func(*importer.OpenBPod) int, error) {
	switch resource {
	case LoadGPU, "":
		return func(p *importer.OpenBPod) int { return p.Compute.TotalMilliGPU() }, nil
	case LoadCPU:
		return func(p *importer.OpenBPod) int { return p.Compute.MilliCPU }, nil
	case LoadMemory:
		return func(p *importer.OpenBPod) int { return p.MemoryMiB }, nil
	}
	return nil, fmt.Errorf("load resource %q: want gpu, cpu or memory", resource)
}

// replayRootFS is the image every replayed pod runs: cells offer it.
const replayRootFS = "docker:///openb"

// NewReplayAlgorithm makes the algorithm of a replay: fgd gets the trace's typical
// pods as its target workload (the paper's: pods covering typical of all, CPU-only
// pods included); every other name is the registered algorithm.
func NewReplayAlgorithm(name string, tr *importer.OpenBTrace, typical float64, randomTies bool) (auction.Algorithm, error) {
	if name == "fgd" {
		if typical <= 0 {
			typical = 0.95
		}
		reqs := make([]model.Compute, len(tr.Pods))
		for i := range tr.Pods {
			reqs[i] = tr.Pods[i].Compute
		}
		f := auction.NewFGD(auction.TypicalWorkload(reqs, typical))
		f.RandomTies = randomTies
		return f, nil
	}
	alg, err := auction.New(name)
	if err != nil {
		return nil, err
	}
	switch a := alg.(type) {
	case auction.GPUBestFit:
		a.RandomTies = randomTies
		return a, nil
	case auction.GPUDotProduct:
		a.RandomTies = randomTies
		return a, nil
	case auction.GPUPacking:
		a.RandomTies = randomTies
		return a, nil
	case auction.GPUClustering:
		a.RandomTies = randomTies
		return a, nil
	}
	return alg, nil
}

// RunReplay runs one replay of the trace.
func RunReplay(tr *importer.OpenBTrace, o ReplayOptions) (*ReplayResult, error) {
	if o.Resource == "" {
		o.Resource = LoadGPU
	}
	arrival := o.Order
	switch {
	case o.KeepOrder:
		arrival = OrderTrace
	case arrival == "":
		arrival = OrderShuffled
	}
	pods, err := InflatePodsOrdered(tr, o.Resource, o.Tune, o.Seed, arrival)
	if err != nil {
		return nil, err
	}
	alg, err := NewReplayAlgorithm(o.Algorithm, tr, o.Typical, o.RandomTies)
	if err != nil {
		return nil, err
	}
	amount, _ := loadOf(o.Resource)
	st := auction.NewState(auction.DefaultSettings())
	res := &ReplayResult{Pods: len(pods)}
	res.MilliCPU, res.MemoryMiB, res.MilliGPU = tr.Capacity()
	capacity := map[string]int{LoadGPU: res.MilliGPU, LoadCPU: res.MilliCPU, LoadMemory: res.MemoryMiB}[o.Resource]
	if capacity == 0 {
		return nil, fmt.Errorf("the cluster has no %s to load", o.Resource)
	}
	// Disk and containers never bind: the paper's cluster has neither.
	free := model.Resources{MemoryMB: 0, DiskMB: 1, Containers: len(pods) + 1}
	order := rand.New(rand.NewPCG(o.Seed, 0x0de5)).Perm(len(tr.Nodes))
	for i, k := range order {
		n := tr.Nodes[k]
		free.MemoryMB = n.MemoryMiB
		c := model.Cell{ID: n.Name, Zone: "z1", Index: i, Total: free, Available: free, RootFSProviders: []string{"docker"},
			Compute: model.NewCellCompute(n.MilliCPU, n.GPUs, n.GPUModel)}
		if err := st.AddCell(c); err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
	}
	ties := rand.New(rand.NewPCG(o.Seed, 0x7135))
	var usedCPU, usedMem, usedGPU, arrived int
	next := 1
	batch := auction.Batch{Tasks: make([]auction.Task, 1)}
	for i := range pods {
		p := &pods[i]
		batch.Tasks[0] = auction.Task{GUID: strconv.Itoa(i), Resource: model.Resource{MemoryMB: p.MemoryMiB},
			PlacementConstraint: model.PlacementConstraint{RootFS: replayRootFS}, Compute: &p.Compute}
		r := st.Schedule(batch, alg, ties)
		if r.Tasks[0].Error == "" {
			res.Placed++
			usedCPU += p.Compute.MilliCPU
			usedMem += p.MemoryMiB
			usedGPU += p.Compute.TotalMilliGPU()
		} else {
			res.Failed++
		}
		arrived += amount(p)
		for ; next*capacity <= 100*arrived; next++ {
			pt := CurvePoint{Percent: next, CPU: ratio(float64(usedCPU), float64(res.MilliCPU)),
				Memory: ratio(float64(usedMem), float64(res.MemoryMiB)), GPU: ratio(float64(usedGPU), float64(res.MilliGPU)),
				Arrived: i + 1, Placed: res.Placed}
			pt.FragGPUMilli, pt.FreeGPUMilli = gpuLeftovers(st, tr)
			res.Curve = append(res.Curve, pt)
		}
	}
	return res, nil
}

// gpuLeftovers sums the free milli-GPU of partly allocated devices and of all devices.
func gpuLeftovers(st *auction.State, tr *importer.OpenBTrace) (partial, all int) {
	for _, n := range tr.Nodes {
		if n.GPUs == 0 {
			continue
		}
		c := st.Compute(n.Name)
		for _, f := range c.GPUFree {
			all += f
			if f < model.MilliGPU {
				partial += f
			}
		}
	}
	return
}
