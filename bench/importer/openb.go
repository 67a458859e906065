package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpenBOptions control the Alibaba openb 2023 import.
type OpenBOptions struct {
	Load       float64 // offered memory load, requests / capacity (default 1.0)
	Seed       uint64  // seed of the sampled arrival order (default 1)
	PerStep    int     // arrivals per one-second round (default 10)
	DiskMB     int     // cell disk (the trace has none; default 1048576)
	Containers int     // cell container slots (default 0: Diego's default)
	PodDiskMB  int     // disk per pod (default 1024)
	Zones      int     // zones the cells are spread over (default 3)
	Settle     int64   // seconds after the last arrival (default 120)
}

// ImportOpenB reads openb_node_list_all_node.csv (nodes -> cells, one [[cells]] group
// per distinct memory size, named by it) and openb_pod_list_default.csv (pods -> a pool
// of memory requests), and builds the FGD paper's workload inflation: pods drawn
// uniformly with replacement from the pool, in an order sampled from a PCG stream seeded
// with o.Seed, arrive as single-instance apps with no departures until their memory
// requests reach o.Load x the cells' memory. Pods without a memory request are skipped.
func ImportOpenB(nodes, pods io.Reader, o OpenBOptions) (File, Stats, error) {
	var st Stats
	if o.Load <= 0 {
		o.Load = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.PerStep <= 0 {
		o.PerStep = 10
	}
	if o.DiskMB <= 0 {
		o.DiskMB = 1048576
	}
	if o.PodDiskMB <= 0 {
		o.PodDiskMB = 1024
	}
	if o.Zones <= 0 {
		o.Zones = 3
	}
	if o.Settle <= 0 {
		o.Settle = 120
	}
	bySize := map[int]int{}
	// The scenario carries memory only: every other resource column's values are
	// counted as dropped (ReadOpenB and the FGD reproduction use them all).
	var nodeCols, podCols []string
	present := func(cols *[]string, names ...string) func([]string) {
		return func(head []string) {
			for _, h := range head {
				if slices.Contains(names, strings.TrimSpace(h)) {
					*cols = append(*cols, strings.TrimSpace(h))
				}
			}
		}
	}
	dropCols := func(what string, cols []string, get func(string) string) {
		for _, c := range cols {
			if v := strings.TrimSpace(get(c)); v != "" && v != "0" {
				st.drop(what + " column " + c + " (the scenario carries memory only; see ReadOpenB)")
			}
		}
	}
	err := readRowsWith(nodes, "openb node list", []string{"sn", "memory_mib"}, &st, present(&nodeCols, "cpu_milli", "gpu", "model"), func(get func(string) string) string {
		mem, ok := parseFloat(get("memory_mib"))
		if !ok || mem < 1 {
			return "node memory_mib missing or not positive"
		}
		bySize[int(mem)]++
		dropCols("node", nodeCols, get)
		return ""
	})
	if err != nil {
		return File{}, st, err
	}
	if len(bySize) == 0 {
		return File{}, st, fmt.Errorf("%s: no usable nodes", KindOpenB)
	}
	var pool []int32
	err = readRowsWith(pods, "openb pod list", []string{"name", "memory_mib"}, &st, present(&podCols, append([]string{"cpu_milli", "num_gpu", "gpu_milli", "gpu_spec"}, openbPodUnused...)...), func(get func(string) string) string {
		mem, ok := parseFloat(get("memory_mib"))
		if !ok || mem < 0 {
			return "pod memory_mib missing or negative"
		}
		if mem == 0 {
			return "pod without a memory request"
		}
		pool = append(pool, int32(mem))
		dropCols("pod", podCols, get)
		return ""
	})
	if err != nil {
		return File{}, st, err
	}
	if len(pool) == 0 {
		return File{}, st, fmt.Errorf("%s: no usable pods", KindOpenB)
	}
	sizes := make([]int, 0, len(bySize))
	capacity := 0.0
	for s, n := range bySize {
		sizes = append(sizes, s)
		capacity += float64(s) * float64(n)
	}
	slices.Sort(sizes)
	f := File{Run: Run{Name: "alibaba-openb-2023-inflation"}}
	for _, s := range sizes {
		f.Cells = append(f.Cells, Cells{Name: "node-" + strconv.Itoa(s) + "mib", Count: bySize[s], Zones: zoneNames(o.Zones),
			MemoryMB: s, DiskMB: o.DiskMB, Containers: o.Containers})
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x0be1_2023))
	target := o.Load * capacity
	var order []int32
	for sum := 0.0; sum < target; {
		m := pool[rng.IntN(len(pool))]
		order = append(order, m)
		sum += float64(m)
	}
	rounds := (len(order) + o.PerStep - 1) / o.PerStep
	for r := 0; r < rounds; r++ {
		chunk := slices.Clone(order[r*o.PerStep : min((r+1)*o.PerStep, len(order))])
		slices.Sort(chunk)
		for i := 0; i < len(chunk); {
			j := i
			for j < len(chunk) && chunk[j] == chunk[i] {
				j++
			}
			f.Apps = append(f.Apps, Apps{Name: "p" + strconv.Itoa(r) + "-" + strconv.Itoa(int(chunk[i])), Count: j - i, Instances: 1,
				MemoryMB: int(chunk[i]), DiskMB: o.PodDiskMB, StartAt: (time.Duration(r) * time.Second).String()})
			i = j
		}
	}
	f.Run.Duration = Seconds(int64(rounds-1) + o.Settle)
	f.Comment = fmt.Sprintf("Imported from Alibaba openb 2023 (%s): %d nodes in %d sizes, a pool of %d pod memory requests (%d rows skipped).\nCite: \"Beware of Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent\", USENIX ATC'23.\nWorkload inflation: %d pods sampled with replacement (seed %d), %d per second, no departures,\nuntil requests reach %.0f%% of the cells' memory (%.0f MB). Disk is not in the trace: %d MB per cell, %d MB per pod.",
		KindOpenB, sumCounts(bySize), len(sizes), len(pool), st.SkippedTotal(), len(order), o.Seed, o.PerStep, 100*o.Load, capacity, o.DiskMB, o.PodDiskMB)
	return f, st, nil
}

func sumCounts(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// readRows streams a CSV with a header that must contain want, calling row for each
// record with a column getter; row returns "" to accept the row or the reason to skip it.
func readRows(r io.Reader, what string, want []string, st *Stats, row func(get func(string) string) string) error {
	return readRowsWith(r, what, want, st, nil, row)
}

// readRowsWith is readRows that also hands the header to header (when not nil) first.
func readRowsWith(r io.Reader, what string, want []string, st *Stats, header func([]string), row func(get func(string) string) string) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", what, err)
	}
	head = slices.Clone(head)
	if header != nil {
		header(head)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range want {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("%s: header lacks column %q", what, c)
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		st.Rows++
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			st.skip(what + ": unreadable CSV row")
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", what, line, err)
		}
		if len(rec) != len(head) {
			st.skip(fmt.Sprintf("%s: wrong number of fields (want %d)", what, len(head)))
			continue
		}
		// An optional column the file lacks (openb_pod_list_multigpu20.csv has no
		// gpu_spec) reads as empty, never as another column.
		if reason := row(func(c string) string {
			if i, ok := col[c]; ok {
				return rec[i]
			}
			return ""
		}); reason != "" {
			st.skip(what + ": " + reason)
			continue
		}
		st.Used++
	}
}
