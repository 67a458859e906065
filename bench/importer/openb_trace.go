package importer

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/model"
)

// OpenBNode is one row of openb_node_list_*.csv: sn, cpu_milli, memory_mib, gpu
// (devices), model (of every device; empty on CPU-only nodes).
type OpenBNode struct {
	Name      string
	MilliCPU  int
	MemoryMiB int
	GPUs      int
	GPUModel  string
}

// OpenBPod is one row of openb_pod_list_*.csv: name, cpu_milli, memory_mib, num_gpu,
// gpu_milli (per device: < 1000 is a share of one device), gpu_spec (acceptable
// models, "|"-separated; empty: any).
type OpenBPod struct {
	Name      string
	MemoryMiB int
	Compute   model.Compute
}

// OpenBTrace is an openb trace as read: the cluster and the pod list, in file order.
type OpenBTrace struct {
	Nodes []OpenBNode
	Pods  []OpenBPod
}

// openbPodUnused are pod columns the FGD paper's workload inflation does not use: the
// pods arrive in a sampled order with no departures. Each non-empty value is counted
// as a warning (Stats.Dropped), never silently dropped.
var openbPodUnused = []string{"qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time"}

// Bounds on trace figures: a row beyond them is skipped (counted), never sized by.
const (
	maxTraceMemoryMiB = math.MaxInt32
	maxTraceMilliCPU  = model.MaxMilliCPU
)

// ReadOpenB reads an openb node list and pod list with every column mapped: nodes
// (sn, cpu_milli, memory_mib, gpu, model) become cells' capacities, pods (name,
// cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec) requests; the pod columns the
// inflation does not use (qos, pod_phase and the three times) are counted in
// Stats.Dropped per column, and malformed rows are skipped with a count per reason.
// It reads the 1,523 nodes and 8,152 pods of the default trace in a few milliseconds
// (BenchmarkReadOpenB).
func ReadOpenB(nodes, pods io.Reader) (*OpenBTrace, Stats, error) {
	var st Stats
	tr := &OpenBTrace{}
	err := readRows(nodes, "openb node list", []string{"sn", "cpu_milli", "memory_mib", "gpu", "model"}, &st, func(get func(string) string) string {
		n := OpenBNode{Name: strings.TrimSpace(get("sn")), GPUModel: strings.TrimSpace(get("model"))}
		var ok bool
		if n.MilliCPU, ok = traceInt(get("cpu_milli"), 1, maxTraceMilliCPU); !ok {
			return "node cpu_milli missing, not an integer, or outside [1, 1073741824]"
		}
		if n.MemoryMiB, ok = traceInt(get("memory_mib"), 1, maxTraceMemoryMiB); !ok {
			return "node memory_mib missing, not an integer, or outside [1, 2147483647]"
		}
		if n.GPUs, ok = traceInt(get("gpu"), 0, model.MaxGPUDevices); !ok {
			return "node gpu missing, not an integer, or outside [0, 64]"
		}
		if n.Name == "" {
			return "node sn empty"
		}
		if n.GPUs > 0 && n.GPUModel == "" {
			return "node with GPUs but no model"
		}
		tr.Nodes = append(tr.Nodes, n)
		return ""
	})
	if err != nil {
		return nil, st, err
	}
	if len(tr.Nodes) == 0 {
		return nil, st, fmt.Errorf("%s: no usable nodes", KindOpenB)
	}
	var unused []string
	err = readRowsWith(pods, "openb pod list", []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"}, &st, func(head []string) {
		for _, h := range head {
			for _, u := range openbPodUnused {
				if strings.TrimSpace(h) == u {
					unused = append(unused, u)
				}
			}
		}
	}, func(get func(string) string) string {
		p := OpenBPod{Name: strings.TrimSpace(get("name"))}
		var ok bool
		if p.Compute.MilliCPU, ok = traceInt(get("cpu_milli"), 0, maxTraceMilliCPU); !ok {
			return "pod cpu_milli missing, not an integer, or outside [0, 1073741824]"
		}
		if p.MemoryMiB, ok = traceInt(get("memory_mib"), 0, maxTraceMemoryMiB); !ok {
			return "pod memory_mib missing, not an integer, or outside [0, 2147483647]"
		}
		if p.Compute.GPUs, ok = traceInt(get("num_gpu"), 0, model.MaxGPUDevices); !ok {
			return "pod num_gpu missing, not an integer, or outside [0, 64]"
		}
		if p.Compute.GPUMilli, ok = traceInt(get("gpu_milli"), 0, model.MilliGPU); !ok {
			return "pod gpu_milli missing, not an integer, or outside [0, 1000]"
		}
		if p.Compute.GPUs == 0 && p.Compute.GPUMilli > 0 {
			return "pod gpu_milli > 0 with num_gpu 0"
		}
		if p.Compute.GPUs > 0 && p.Compute.GPUMilli == 0 {
			return "pod num_gpu > 0 with gpu_milli 0"
		}
		if err := p.Compute.Validate("pod"); err != nil {
			return err.Error()
		}
		p.Compute.GPUModels = model.ParseGPUModels(get("gpu_spec"))
		if p.Name == "" {
			return "pod name empty"
		}
		for _, u := range unused {
			if strings.TrimSpace(get(u)) != "" {
				st.drop("pod column " + u + " (the inflation ignores it: no arrival times, no departures)")
			}
		}
		tr.Pods = append(tr.Pods, p)
		return ""
	})
	if err != nil {
		return nil, st, err
	}
	if len(tr.Pods) == 0 {
		return nil, st, fmt.Errorf("%s: no usable pods", KindOpenB)
	}
	return tr, st, nil
}

// traceInt parses a whole number in [lo, hi] ("12000" or "12000.0").
func traceInt(s string, lo, hi int) (int, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= lo && n <= hi
	}
	x, ok := parseFloat(s)
	if !ok || x != math.Trunc(x) || x < float64(lo) || x > float64(hi) {
		return 0, false
	}
	return int(x), true
}

// Capacity sums the nodes' CPU, memory and milli-GPU.
func (tr *OpenBTrace) Capacity() (milliCPU, memoryMiB, milliGPU int) {
	for _, n := range tr.Nodes {
		milliCPU += n.MilliCPU
		memoryMiB += n.MemoryMiB
		milliGPU += n.GPUs * model.MilliGPU
	}
	return
}
