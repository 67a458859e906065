package scenarios

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
)

// A scenario may take its cells and work from trace files instead of carrying
// thousands of [[cells]] and [[apps]] tables (docs/scenario.md, "[trace]"):
//
//	[trace]
//	nodes = "traces/openb_node_list_all_node.csv"   # relative to the scenario file
//	pods = "traces/openb_pod_list_default.csv"
//
// The format is the Alibaba openb 2023 trace's (the FGD paper's): each node (sn,
// cpu_milli, memory_mib, gpu, model) becomes a cell, grouped into one [[cells]] group
// per distinct shape; each pod (name, cpu_milli, memory_mib, num_gpu, gpu_milli,
// gpu_spec) becomes a one-instance app named after it, asking for its memory, CPU and
// GPUs. The pods arrive in file order, per_second of them each second from start_at,
// with no departures (the paper's experiments ignore the trace's times; so does this).
// Memory in MiB is taken as MB, as the importer does. A bad row is an error naming the
// CSV file, its line and the column.

// traceDoc is the [trace] table.
type traceDoc struct {
	Nodes      rawValue `toml:"nodes"`
	Pods       rawValue `toml:"pods"`
	Format     rawValue `toml:"format"`
	PerSecond  rawValue `toml:"per_second"`
	StartAt    rawValue `toml:"start_at"`
	DiskMB     rawValue `toml:"disk_mb"`
	Containers rawValue `toml:"containers"`
	PodDiskMB  rawValue `toml:"pod_disk_mb"`
	Zones      rawValue `toml:"zones"`
}

// Trace is what a scenario's [trace] table said (nil when it has none).
type Trace struct {
	Nodes, Pods string // as written (relative to the scenario file)
	Format      string
	PerSecond   int
	StartAt     time.Duration
	// Cells and Pods count what the files gave.
	NodeCount, PodCount int
}

// TraceFormatOpenB is the only trace format so far.
const TraceFormatOpenB = "openb"

// Bounds on trace files: a typo cannot make the loader read or allocate without end.
const (
	maxTraceBytes = 256 << 20
	maxTraceRows  = 2_000_000
	maxRowErrors  = 20 // row errors reported per file; the rest are counted
)

// traceLoad holds the cell groups and apps a [trace] adds.
type traceLoad struct {
	cells []CellGroup
	apps  []AppGroup
	lines []int // each app's line in the pod list
}

// loadTrace reads the [trace] table's files (nil when the scenario has none).
func (p *problems) loadTrace(file string, d *traceDoc, runDuration time.Duration) (*Trace, *traceLoad) {
	if !d.Nodes.set && !d.Pods.set && !d.Format.set && !d.PerSecond.set && !d.StartAt.set &&
		!d.DiskMB.set && !d.Containers.set && !d.PodDiskMB.set && !d.Zones.set {
		return nil, nil
	}
	t := &Trace{
		Nodes:     p.str("trace.nodes", d.Nodes, "", true, "the path of the node list CSV, relative to the scenario file"),
		Pods:      p.str("trace.pods", d.Pods, "", true, "the path of the pod list CSV, relative to the scenario file"),
		Format:    p.str("trace.format", d.Format, TraceFormatOpenB, false, `"openb"`),
		PerSecond: p.integer("trace.per_second", d.PerSecond, 10, intRange{1, 1_000_000, "an integer > 0 (pods arriving per second)"}, false),
		StartAt:   p.duration("trace.start_at", d.StartAt, 0, false, false),
	}
	diskMB := p.integer("trace.disk_mb", d.DiskMB, 1048576, positiveMB, false)
	containers := p.integer("trace.containers", d.Containers, model.DefaultContainers, intRange{1, maxContainers, "an integer > 0"}, false)
	podDisk := p.integer("trace.pod_disk_mb", d.PodDiskMB, 1024, nonNegMB, false)
	zones := p.strings("trace.zones", d.Zones, []string{"z1", "z2", "z3"})
	if len(zones) == 0 {
		p.errorf("trace.zones", `must list at least one zone, e.g. ["z1"]`)
		zones = []string{DefaultZone}
	}
	if t.Format != TraceFormatOpenB {
		p.errorf("trace.format", fmt.Sprintf(`unknown format %q (want "openb")`, t.Format))
		return t, nil
	}
	if t.Nodes == "" || t.Pods == "" {
		return t, nil
	}
	dir := filepath.Dir(file)
	rel := func(path string) string {
		if filepath.IsAbs(path) {
			return path
		}
		return filepath.Join(dir, path)
	}
	load := &traceLoad{}
	nodes, ok := p.readTrace(rel(t.Nodes), "trace.nodes", []string{"sn", "cpu_milli", "memory_mib", "gpu", "model"},
		func(row *traceRow) string { return load.addNode(row, diskMB, containers, zones) })
	if !ok {
		return t, nil
	}
	computes := map[computeKey]*model.Compute{}
	pods, ok := p.readTrace(rel(t.Pods), "trace.pods", []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"},
		func(row *traceRow) string {
			return load.addPod(row, podDisk, t, computes)
		})
	if !ok {
		return t, nil
	}
	t.NodeCount, t.PodCount = nodes, pods
	if n := len(load.apps); n > 0 && runDuration > 0 {
		if last := load.apps[n-1].StartAt; last > runDuration {
			p.errorf("trace.per_second", fmt.Sprintf("%d pods at %d a second from %s arrive until %s, beyond run.duration (%s): raise per_second or the duration",
				n, t.PerSecond, t.StartAt, last, runDuration))
		}
	}
	return t, load
}

// traceRow is one CSV row with its columns by name.
type traceRow struct {
	rec  []string
	col  map[string]int
	line int
	bad  string // the column a parse failed on
}

func (r *traceRow) get(c string) string {
	if i, ok := r.col[c]; ok {
		return strings.TrimSpace(r.rec[i])
	}
	return ""
}

// int parses column c as an integer in [lo, hi] ("12000" or "12000.0"); on failure
// it records why in r.bad.
func (r *traceRow) int(c string, lo, hi int) int {
	s := r.get(c)
	n, err := strconv.Atoi(s)
	if err != nil {
		x, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || x != math.Trunc(x) || x < math.MinInt32 || x > math.MaxInt64/2 {
			if r.bad == "" {
				r.bad = fmt.Sprintf("column %s: must be an integer in [%d, %d], got %q", c, lo, hi, s)
			}
			return lo
		}
		n = int(x)
	}
	if n < lo || n > hi {
		if r.bad == "" {
			r.bad = fmt.Sprintf("column %s: must be an integer in [%d, %d], got %d", c, lo, hi, n)
		}
		return lo
	}
	return n
}

// readTrace streams a CSV whose header has the want columns, calling row for each
// record; row returns "" or what is wrong with it. It returns the rows read and
// whether the file could be used.
func (p *problems) readTrace(path, key string, want []string, row func(*traceRow) string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		p.errorf(key, "cannot read the trace file: "+err.Error())
		return 0, false
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxTraceBytes {
		p.errorf(key, fmt.Sprintf("%s is %d bytes, more than the %d a trace may have", path, st.Size(), maxTraceBytes))
		return 0, false
	}
	cr := csv.NewReader(f)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		p.errs = append(p.errs, &Error{File: path, Line: 1, Msg: "cannot read the CSV header: " + err.Error()})
		return 0, false
	}
	r := &traceRow{col: make(map[string]int, len(head))}
	for i, h := range head {
		r.col[strings.TrimSpace(h)] = i
	}
	for _, c := range want {
		if _, ok := r.col[c]; !ok {
			p.errs = append(p.errs, &Error{File: path, Line: 1, Msg: fmt.Sprintf("the header lacks column %q (want %s)", c, strings.Join(want, ", "))})
			return 0, false
		}
	}
	n, bad := 0, 0
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err == nil && len(rec) != len(head) {
			err = fmt.Errorf("%d fields, want %d as in the header", len(rec), len(head))
		}
		msg := ""
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			msg = "unreadable CSV: " + pe.Err.Error()
		case err != nil:
			msg = err.Error()
		default:
			r.rec, r.line, r.bad = rec, line, ""
			msg = row(r)
		}
		if msg != "" {
			if bad++; bad <= maxRowErrors {
				p.errs = append(p.errs, &Error{File: path, Line: line, Msg: msg})
			}
			continue
		}
		if n++; n > maxTraceRows {
			p.errs = append(p.errs, &Error{File: path, Line: line, Msg: fmt.Sprintf("more than %d rows", maxTraceRows)})
			return n, false
		}
	}
	if bad > maxRowErrors {
		p.errs = append(p.errs, &Error{File: path, Msg: fmt.Sprintf("%d more bad rows", bad-maxRowErrors)})
	}
	if bad > 0 {
		return n, false
	}
	if n == 0 {
		p.errs = append(p.errs, &Error{File: path, Msg: "no rows after the header"})
		return 0, false
	}
	return n, true
}

// addNode adds one node to the cell group of its shape (the last group if it has the
// same shape, else a new one: cells keep the file's order when shapes come in runs).
func (l *traceLoad) addNode(r *traceRow, diskMB, containers int, zones []string) string {
	cpu := r.int("cpu_milli", 1, model.MaxMilliCPU)
	mem := r.int("memory_mib", 1, maxMB)
	gpus := r.int("gpu", 0, model.MaxGPUDevices)
	if r.bad != "" {
		return r.bad
	}
	if r.get("sn") == "" {
		return "column sn: empty"
	}
	gm := r.get("model")
	if gpus > 0 && gm == "" {
		return fmt.Sprintf("column model: empty on a node with %d GPUs", gpus)
	}
	if gpus == 0 {
		gm = ""
	}
	for i := len(l.cells) - 1; i >= 0 && i >= len(l.cells)-1; i-- {
		if g := &l.cells[i]; g.MilliCPU == cpu && g.MemoryMB == mem && g.GPUs == gpus && g.GPUModel == gm {
			if g.Count >= maxCellsPerGroup {
				return fmt.Sprintf("more than %d nodes in a row of one shape", maxCellsPerGroup)
			}
			g.Count++
			return ""
		}
	}
	l.cells = append(l.cells, CellGroup{
		Name: shapeName(gm, gpus, cpu, mem), Count: 1, Zones: zones, MemoryMB: mem, DiskMB: diskMB,
		Containers: containers, Stacks: []string{DefaultStack}, Docker: true,
		MilliCPU: cpu, GPUs: gpus, GPUModel: gm,
	})
	return ""
}

// shapeName names a node shape: "v100m16-8gpu-96000cpu-786432mib", "cpu-...".
func shapeName(gpuModel string, gpus, cpu, mem int) string {
	m := "cpu"
	if gpus > 0 {
		m = strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				return r
			case r >= 'A' && r <= 'Z':
				return r + 'a' - 'A'
			}
			return '_'
		}, gpuModel)
	}
	return m + "-" + strconv.Itoa(gpus) + "gpu-" + strconv.Itoa(cpu) + "cpu-" + strconv.Itoa(mem) + "mib"
}

// addPod adds one pod as a one-instance app. Equal requests share one model.Compute.
func (l *traceLoad) addPod(r *traceRow, podDisk int, t *Trace, computes map[computeKey]*model.Compute) string {
	c := model.Compute{
		MilliCPU: r.int("cpu_milli", 0, model.MaxMilliCPU),
		GPUs:     r.int("num_gpu", 0, model.MaxGPUDevices),
		GPUMilli: r.int("gpu_milli", 0, model.MilliGPU),
	}
	mem := r.int("memory_mib", 0, maxMB)
	if r.bad != "" {
		return r.bad
	}
	name := r.get("name")
	if !namePattern.MatchString(name) {
		return fmt.Sprintf(`column name: must be letters, digits, "_" and "-" (it names the app), got %q`, name)
	}
	switch {
	case c.GPUs == 0 && c.GPUMilli > 0:
		return fmt.Sprintf("column gpu_milli: %d with num_gpu 0", c.GPUMilli)
	case c.GPUs > 0 && c.GPUMilli == 0:
		return fmt.Sprintf("column gpu_milli: 0 with num_gpu %d (want the milli-GPU per device, 1000 for whole devices)", c.GPUs)
	case c.GPUMilli < model.MilliGPU && c.GPUs > 1:
		return fmt.Sprintf("column gpu_milli: a share of a device (%d < 1000) needs num_gpu 1, got %d", c.GPUMilli, c.GPUs)
	}
	var comp *model.Compute
	if c.Declared() {
		spec := ""
		if c.GPUs > 0 {
			spec = r.get("gpu_spec")
		}
		k := computeKey{c.MilliCPU, c.GPUs, c.GPUMilli, spec}
		if comp = computes[k]; comp == nil {
			c.GPUModels = model.ParseGPUModels(spec)
			if len(c.GPUModels) > model.MaxGPUModels {
				return fmt.Sprintf("column gpu_spec: at most %d models, got %d", model.MaxGPUModels, len(c.GPUModels))
			}
			comp = &c
			computes[k] = comp
		}
	}
	i := len(l.apps)
	l.apps = append(l.apps, AppGroup{
		Name: name, Count: 1, Instances: 1, MemoryMB: mem, DiskMB: podDisk,
		RootFS: model.PreloadedRootFS(DefaultStack), Domain: DefaultAppDomain,
		StartAt:   t.StartAt + time.Duration(i/t.PerSecond)*time.Second,
		StartTime: Const(DefaultStartTime), Compute: comp,
	})
	l.lines = append(l.lines, r.line)
	return ""
}

// computeKey identifies a pod's request: equal requests share one model.Compute.
type computeKey struct {
	cpu, gpus, milli int
	spec             string
}
