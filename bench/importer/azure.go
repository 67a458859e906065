package importer

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// AzureOptions control the Azure v1 vmtable import.
type AzureOptions struct {
	Cells      CellOptions
	DiskMB     int   // disk per VM instance (the trace has none; default 4096)
	Resolution int64 // seconds per scale-event bucket (default 300, the trace's bin)
	Duration   int64 // seconds; 0: to the trace's cut (the last bin start + 300 s)
	Limit      int   // stop after this many VMs (0: all)
}

// AzureFiles are the readers of the derived vmtable: the arrivals (v1.dev.txt), the
// aligned lifetimes (v1.dev.c2100000.txt), the lifetime bins (v1.interval_map.txt) and
// the flavours (flav_map.txt).
type AzureFiles struct {
	Arrivals, Lifetimes, Intervals, Flavours io.Reader
}

// ImportAzure reads the derived Azure v1 vmtable: each tenant batch (the flavours of a
// line between "|" separators) becomes one app per distinct flavour in it, with as many
// instances as VMs of that flavour, started at the line's time (made relative to the
// first line). Each VM's lifetime is the midpoint of its bin (the bin's lower bound
// and the next bin's; the last bin's lower bound); when a VM ends the app is scaled
// down by one. Censored VMs (C<bin>) run to the end of the scenario. Memory is the
// flavour's GB x 1024.
func ImportAzure(in AzureFiles, o AzureOptions) (File, Stats, error) {
	var st Stats
	if o.DiskMB <= 0 {
		o.DiskMB = 4096
	}
	if o.Resolution <= 0 {
		o.Resolution = 300
	}
	flav := map[string]int{}
	sc := bufio.NewScanner(in.Flavours)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		parts := strings.Split(f[0], ",")
		if len(parts) != 2 {
			continue
		}
		gb, ok := parseFloat(parts[1])
		if !ok || gb <= 0 {
			continue
		}
		flav[f[1]] = int(math.Ceil(gb * 1024))
	}
	if err := sc.Err(); err != nil {
		return File{}, st, fmt.Errorf("flav_map: %w", err)
	}
	if len(flav) == 0 {
		return File{}, st, fmt.Errorf("flav_map: no flavours (want lines \"<vCPU>,<GB> <letter>\")")
	}
	lower := map[int]int64{}
	sc = bufio.NewScanner(in.Intervals)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		secs, err1 := strconv.ParseInt(f[0], 10, 64)
		bin, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		if v, ok := lower[bin]; !ok || secs < v {
			lower[bin] = secs
		}
	}
	if err := sc.Err(); err != nil {
		return File{}, st, fmt.Errorf("interval_map: %w", err)
	}
	bins := make([]int, 0, len(lower))
	for b := range lower {
		bins = append(bins, b)
	}
	slices.Sort(bins)
	life := map[int]int64{}
	for i, b := range bins {
		if i+1 < len(bins) {
			life[b] = (lower[b] + lower[bins[i+1]]) / 2
		} else {
			life[b] = lower[b]
		}
	}

	arr := bufio.NewScanner(in.Arrivals)
	arr.Buffer(make([]byte, 1<<20), 64<<20)
	lif := bufio.NewScanner(in.Lifetimes)
	lif.Buffer(make([]byte, 1<<20), 64<<20)
	var names []string
	var mem []int
	var counts []int
	var starts []int64
	var deltas []delta
	first, lastT := int64(-1), int64(0)
	vms := 0
	for line := 1; arr.Scan(); line++ {
		if o.Limit > 0 && vms >= o.Limit {
			break
		}
		if !lif.Scan() {
			return File{}, st, fmt.Errorf("lifetimes file ends at line %d, before the arrivals file", line)
		}
		at, toks, ok1 := splitLine(arr.Text())
		lt, ltoks, ok2 := splitLine(lif.Text())
		if !ok1 || !ok2 || at != lt || len(toks) != len(ltoks) {
			st.Rows++
			st.skip("line not aligned between arrivals and lifetimes, or without a time")
			continue
		}
		if first < 0 {
			first = at
		}
		t := at - first
		lastT = max(lastT, t)
		batch := map[string]int32{} // flavour -> app index within this batch
		for i, tok := range toks {
			if tok == "|" {
				clear(batch)
				continue
			}
			if tok == "" {
				continue
			}
			st.Rows++
			m, ok := flav[tok]
			if !ok {
				st.skip("unknown flavour")
				continue
			}
			lt := ltoks[i]
			if len(lt) < 2 || (lt[0] != 'U' && lt[0] != 'C') {
				st.skip("lifetime token not U<bin> or C<bin>")
				continue
			}
			bin, err := strconv.Atoi(lt[1:])
			if _, known := life[bin]; err != nil || !known {
				st.skip("lifetime bin not in the interval map")
				continue
			}
			a, ok := batch[tok]
			if !ok {
				a = int32(len(names))
				batch[tok] = a
				names = append(names, "vm"+strconv.Itoa(len(names)))
				mem = append(mem, m)
				counts = append(counts, 0)
				starts = append(starts, t)
			}
			counts[a]++
			if lt[0] == 'U' {
				deltas = append(deltas, delta{t: t + max(life[bin], 1), app: a, d: -1})
			}
			vms++
			st.Used++
		}
	}
	if err := arr.Err(); err != nil {
		return File{}, st, fmt.Errorf("arrivals: %w", err)
	}
	if err := lif.Err(); err != nil {
		return File{}, st, fmt.Errorf("lifetimes: %w", err)
	}
	if len(names) == 0 {
		return File{}, st, fmt.Errorf("%s: no usable VMs (%d tokens read)", KindAzure, st.Rows)
	}
	end := o.Duration
	if end <= 0 {
		end = lastT + 300
	}
	// Peak memory: starts add the app's instances, ends remove one.
	peakDeltas := make([]delta, 0, len(names)+len(deltas))
	for a := range names {
		peakDeltas = append(peakDeltas, delta{t: starts[a], app: int32(a), d: int32(counts[a])})
	}
	peakDeltas = append(peakDeltas, deltas...)
	_, _, peak := scaleEvents(names, peakDeltas, 1, end, mem)
	// Scale events: the app starts at its start_at with all its instances, then shrinks.
	f := File{Run: Run{Name: "azure-v1-vmtable", Duration: Seconds(end)}, Cells: []Cells{o.Cells.cells(peak)}}
	for a := range names {
		if starts[a] >= end {
			continue
		}
		f.Apps = append(f.Apps, Apps{Name: names[a], Count: 1, Instances: counts[a], MemoryMB: mem[a], DiskMB: o.DiskMB, StartAt: Seconds(starts[a])})
	}
	sortDeltas(deltas)
	f.Events, _ = scaleEventsFrom(names, slices.Clone(counts), deltas, o.Resolution, end, nil, 0)
	f.Comment = fmt.Sprintf("Imported from the Azure v1 vmtable (derived, %s): %d VMs in %d apps (tenant batches split by flavour), %d tokens skipped.\nCite: Cortez et al., \"Resource Central\", SOSP'17 (Azure Public Dataset V1), CC BY 4.0.\nLifetimes: midpoints of the interval bins; censored VMs run to the end. Disk is not in the trace: %d MB per VM.\nCells are not in the trace: sized for a headroom of %.2fx over the peak memory (%.0f MB) unless given.",
		KindAzure, vms, len(names), st.SkippedTotal(), o.DiskMB, o.Cells.withDefaults().Headroom, peak)
	return f, st, nil
}

// splitLine splits "<t> a,b,|,c" into the time and the comma-separated tokens.
func splitLine(s string) (int64, []string, bool) {
	ts, rest, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return 0, nil, false
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, nil, false
	}
	return t, strings.Split(strings.TrimSpace(rest), ","), true
}
