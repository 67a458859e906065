package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// DLRMOptions control the Alibaba DLRM 2025 import.
type DLRMOptions struct {
	Cells CellOptions
	// Duration of the scenario in seconds; 0: the last event time plus one hour (the
	// trace window is 31 days).
	Duration int64
	// Resolution in seconds of the scale events (default 60): changes inside one bucket
	// become a single scale event at the bucket start.
	Resolution int64
}

var dlrmColumns = []string{"instance_sn", "role", "app_name", "cpu_request", "cpu_limit", "gpu_request", "gpu_limit",
	"rdma_request", "rdma_limit", "memory_request", "memory_limit", "disk_request", "disk_limit",
	"max_instance_per_node", "creation_time", "scheduled_time", "deletion_time"}

// dlrmApp is what the import keeps per app: numbers only.
type dlrmApp struct {
	memMB, diskMB, maxPerNode int
}

// ImportDLRM reads disaggregated_DLRM_trace.csv: every app_name becomes one app (an
// [[apps]] group of count 1) whose instance count follows the trace: an instance
// counts from creation_time (empty or NaN: before the window, so from t = 0) to
// deletion_time (empty or NaN: never deleted). Memory and disk are the largest
// memory_request and disk_request (GiB, x 1024 MB, rounded up) among the app's
// instances; max_instance_per_node (-1 = no cap; the smallest cap seen) becomes
// max_per_cell. The trace has no node capacities: o.Cells supplies them.
func ImportDLRM(r io.Reader, o DLRMOptions) (File, Stats, error) {
	var st Stats
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return File{}, st, fmt.Errorf("%s: header: %w", KindDLRM, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range []string{"app_name", "memory_request", "disk_request", "max_instance_per_node", "creation_time", "deletion_time"} {
		if _, ok := col[c]; !ok {
			return File{}, st, fmt.Errorf("%s: header lacks column %q (want %s)", KindDLRM, c, strings.Join(dlrmColumns, ","))
		}
	}
	var names []string
	var apps []dlrmApp
	index := map[string]int32{}
	var deltas []delta
	last := int64(0)
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			st.Rows++
			st.skip("unreadable CSV row")
			continue
		}
		if err != nil {
			return File{}, st, fmt.Errorf("%s: line %d: %w", KindDLRM, line, err)
		}
		st.Rows++
		if len(rec) != len(head) {
			st.skip(fmt.Sprintf("wrong number of fields (want %d)", len(head)))
			continue
		}
		name := strings.TrimSpace(rec[col["app_name"]])
		if name == "" {
			st.skip("empty app_name")
			continue
		}
		mem, ok1 := parseFloat(rec[col["memory_request"]])
		disk, ok2 := parseFloat(rec[col["disk_request"]])
		if !ok1 || !ok2 || mem <= 0 || disk < 0 {
			st.skip("memory_request or disk_request missing, not a number, or not positive")
			continue
		}
		capN, ok := parseFloat(rec[col["max_instance_per_node"]])
		if !ok || (capN != -1 && capN < 1) || capN != math.Trunc(capN) {
			st.skip("max_instance_per_node not -1 or a positive integer")
			continue
		}
		from, hasFrom := parseFloat(rec[col["creation_time"]])
		to, hasTo := parseFloat(rec[col["deletion_time"]])
		if !hasFrom {
			from = 0
		}
		if (hasFrom && from < 0) || (hasTo && to < from) {
			st.skip("negative creation_time or deletion_time before creation_time")
			continue
		}
		a, seen := index[name]
		if !seen {
			a = int32(len(names))
			index[name] = a
			names = append(names, name)
			apps = append(apps, dlrmApp{})
		}
		p := &apps[a]
		p.memMB = max(p.memMB, int(math.Ceil(mem*1024)))
		p.diskMB = max(p.diskMB, int(math.Ceil(disk*1024)), 1)
		if capN > 0 && (p.maxPerNode == 0 || int(capN) < p.maxPerNode) {
			p.maxPerNode = int(capN)
		}
		deltas = append(deltas, delta{t: int64(from), app: a, d: 1})
		last = max(last, int64(from))
		if hasTo {
			deltas = append(deltas, delta{t: int64(to), app: a, d: -1})
			last = max(last, int64(to))
		}
		st.Used++
	}
	if len(names) == 0 {
		return File{}, st, fmt.Errorf("%s: no usable rows (%d read)", KindDLRM, st.Rows)
	}
	end := o.Duration
	if end <= 0 {
		end = last + 3600
	}
	res := o.Resolution
	if res <= 0 {
		res = 60
	}
	groups := make([]string, len(names))
	mem := make([]int, len(names))
	used := map[string]bool{}
	for i, n := range names {
		g := groupName(n)
		for used[g] {
			g += "_"
		}
		used[g] = true
		groups[i], mem[i] = g, apps[i].memMB
	}
	initial, events, peak := scaleEvents(groups, deltas, res, end, mem)
	f := File{
		Run:   Run{Name: "alibaba-dlrm-2025", Duration: Seconds(end)},
		Cells: []Cells{o.Cells.cells(peak)},
	}
	f.Comment = fmt.Sprintf("Imported from Alibaba DLRM 2025 (%s): %d apps, %d instance rows, %d skipped.\nCite: \"GPU-Disaggregated Serving for Deep Learning Recommendation Models at Scale\", NSDI'25.\nInstance counts follow creation/deletion times, as scale events at the end of each %ds bucket; max_instance_per_node -> max_per_cell.\nCells are not in the trace: sized for a headroom of %.2fx over the peak memory (%.0f MB) unless given.",
		KindDLRM, len(names), st.Used, st.SkippedTotal(), res, o.Cells.withDefaults().Headroom, peak)
	for i, g := range groups {
		f.Apps = append(f.Apps, Apps{Name: g, Count: 1, Instances: initial[i], MemoryMB: apps[i].memMB, DiskMB: apps[i].diskMB, MaxPerCell: apps[i].maxPerNode})
	}
	f.Events = events
	return f, st, nil
}
