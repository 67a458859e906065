package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/diegolab/diegolab/bench/importer"
)

// ReproSpec is a replay matrix (bench/fgd-reproduction.toml): openb pod lists x
// policies x seeds on one node list, each run a RunReplay.
type ReproSpec struct {
	Name       string
	File       string // the spec's path, for messages
	Nodes      string // node list CSV
	Traces     []ReproTrace
	Policies   []string
	Seeds      []uint64
	Tune       float64
	Load       string  // the resource that sets the load (gpu)
	Typical    float64 // FGD's target workload coverage (0.95)
	RandomTies bool
	Order      string // arrival order (ReplayOptions.Order; "" = shuffled)
	// Paper holds the published figure per trace and policy (GPU allocation ratio in
	// % at 100 % arrived load), for the side-by-side table.
	Paper map[string]map[string]float64
}

// ReproTrace is one pod list of the matrix.
type ReproTrace struct {
	Name string `toml:"name"`
	Pods string `toml:"pods"`
}

type reproDoc struct {
	Name       string                        `toml:"name"`
	Nodes      string                        `toml:"nodes"`
	Traces     []ReproTrace                  `toml:"traces"`
	Policies   []string                      `toml:"policies"`
	Seeds      any                           `toml:"seeds"`
	Tune       float64                       `toml:"tune"`
	Load       string                        `toml:"load"`
	Typical    float64                       `toml:"typical"`
	RandomTies bool                          `toml:"random_ties"`
	Order      string                        `toml:"order"`
	Paper      map[string]map[string]float64 `toml:"paper"`
}

// Bounds on a reproduction spec: everything sized by it stays small.
const (
	maxReproRuns = 100000
	maxReproTune = 10
)

// LoadReproSpec reads a reproduction spec. Trace paths are relative to the working
// directory: run from the repository root, where the shipped spec's
// ../shared/traces/... names the shared traces, as `diegolab import` does.
func LoadReproSpec(path string) (*ReproSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reproduction spec: %w", err)
	}
	return ParseReproSpec(path, data)
}

// ParseReproSpec validates a reproduction spec; errors name the file, line and key.
func ParseReproSpec(name string, data []byte) (*ReproSpec, error) {
	var doc reproDoc
	md, err := decodeTOML(name, data, &doc)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	var errs []error
	bad := func(key, msg string) {
		errs = append(errs, &SpecError{File: name, Line: reproKeyLine(lines, key), Key: key, Msg: msg})
	}
	for _, k := range md.Undecoded() {
		if len(k) >= 1 && k[0] == "paper" {
			continue
		}
		bad(k.String(), "unknown key (reproduction spec keys: name, nodes, policies, seeds, tune, load, typical, random_ties, order, [[traces]] with name and pods, [paper.TRACE] POLICY = figure)")
	}
	s := &ReproSpec{Name: doc.Name, File: name, Nodes: doc.Nodes, Traces: doc.Traces, Policies: doc.Policies, Tune: doc.Tune,
		Load: doc.Load, Typical: doc.Typical, RandomTies: doc.RandomTies, Order: doc.Order, Paper: doc.Paper}
	switch s.Order {
	case "", OrderShuffled, OrderTrace, OrderPaper, OrderSampledFirst:
	default:
		bad("order", fmt.Sprintf("must be %q, %q, %q or %q, got %q", OrderShuffled, OrderTrace, OrderPaper, OrderSampledFirst, s.Order))
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(name), ".toml")
	}
	if s.Nodes == "" {
		bad("nodes", "missing: the node list CSV, e.g. ../shared/traces/alibaba-openb-2023/openb_node_list_gpu_node.csv")
	}
	if len(s.Traces) == 0 {
		bad("traces", "no [[traces]]: add at least one with name and pods")
	}
	seen := map[string]bool{}
	for i, tr := range s.Traces {
		if tr.Name == "" || tr.Pods == "" || seen[tr.Name] {
			bad(fmt.Sprintf("traces[%d]", i), "needs a unique name and pods = \"path.csv\"")
		}
		seen[tr.Name] = true
	}
	if len(s.Policies) == 0 {
		bad("policies", "missing: the algorithms to compare")
	}
	for _, p := range s.Policies {
		if _, err := NewReplayAlgorithm(p, &importer.OpenBTrace{}, 0, false); err != nil && p != "fgd" {
			bad("policies", err.Error())
		}
	}
	switch v := doc.Seeds.(type) {
	case nil:
		s.Seeds = []uint64{1}
	case string:
		if s.Seeds, err = ParseSeeds(v); err != nil {
			bad("seeds", err.Error())
		}
	case int64:
		if v < 0 {
			bad("seeds", "must be >= 0")
		}
		s.Seeds = []uint64{uint64(v)}
	default:
		bad("seeds", `want a string such as "42-51"`)
	}
	if math.IsNaN(s.Tune) || s.Tune < 0 || s.Tune > maxReproTune {
		bad("tune", fmt.Sprintf("must be in [0, %d] (0: the trace as it is), got %v", maxReproTune, s.Tune))
	}
	if s.Load == "" {
		s.Load = LoadGPU
	}
	if _, err := loadOf(s.Load); err != nil {
		bad("load", err.Error())
	}
	if math.IsNaN(s.Typical) || s.Typical < 0 || s.Typical > 1 {
		bad("typical", fmt.Sprintf("must be in [0, 1] (0: 0.95), got %v", s.Typical))
	}
	if n := len(s.Traces) * len(s.Policies) * len(s.Seeds); n > maxReproRuns {
		bad("seeds", fmt.Sprintf("%d runs: at most %d", n, maxReproRuns))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func reproKeyLine(lines []string, key string) int {
	k := key
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	if i := strings.IndexByte(k, '['); i >= 0 {
		k = k[:i]
	}
	for i, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, k+" ") || strings.HasPrefix(t, k+"=") || strings.HasPrefix(t, "[["+k+"]]") {
			return i + 1
		}
	}
	return 0
}

// ReproRun is one finished run of the matrix.
type ReproRun struct {
	Trace, Policy string
	Seed          uint64
	Result        *ReplayResult
	Wall          time.Duration
}

// LoadOpenBFiles reads a node list and a pod list from files.
func LoadOpenBFiles(nodes, pods string) (*importer.OpenBTrace, importer.Stats, error) {
	nf, err := os.Open(nodes)
	if err != nil {
		return nil, importer.Stats{}, fmt.Errorf("%w (trace paths are relative to the working directory: run from the repository root)", err)
	}
	defer nf.Close()
	pf, err := os.Open(pods)
	if err != nil {
		return nil, importer.Stats{}, fmt.Errorf("%w (trace paths are relative to the working directory: run from the repository root)", err)
	}
	defer pf.Close()
	tr, st, err := importer.ReadOpenB(nf, pf)
	if err != nil {
		return nil, st, fmt.Errorf("%s, %s: %w", nodes, pods, err)
	}
	return tr, st, nil
}

// RunRepro runs the matrix on workers goroutines (each run is single-threaded and
// deterministic), calling done (from one goroutine at a time) as runs finish. The
// runs come back in matrix order: trace, policy, seed.
func RunRepro(ctx context.Context, s *ReproSpec, workers int, done func(ReproRun)) ([]ReproRun, error) {
	traces := make([]*importer.OpenBTrace, len(s.Traces))
	for i, t := range s.Traces {
		tr, _, err := LoadOpenBFiles(s.Nodes, t.Pods)
		if err != nil {
			return nil, err
		}
		traces[i] = tr
	}
	type job struct{ t, p, k int }
	var jobs []job
	for t := range s.Traces {
		for p := range s.Policies {
			for k := range s.Seeds {
				jobs = append(jobs, job{t, p, k})
			}
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	runs := make([]ReproRun, len(jobs))
	ch := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				j := jobs[i]
				start := time.Now()
				res, err := RunReplay(traces[j.t], ReplayOptions{Algorithm: s.Policies[j.p], Seed: s.Seeds[j.k], Tune: s.Tune,
					Resource: s.Load, Typical: s.Typical, RandomTies: s.RandomTies, Order: s.Order})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s %s seed %d: %w", s.Traces[j.t].Name, s.Policies[j.p], s.Seeds[j.k], err)
				}
				runs[i] = ReproRun{Trace: s.Traces[j.t].Name, Policy: s.Policies[j.p], Seed: s.Seeds[j.k], Result: res, Wall: time.Since(start)}
				if err == nil && done != nil {
					done(runs[i])
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- i
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return runs, nil
}

// ReproCell is the summary of one trace x policy: GPU allocation ratio at 100 %
// arrived load over the seeds, in %.
type ReproCell struct {
	Trace, Policy string
	GPU100        Stat
	Paper         float64 // NaN when the spec has no figure
	// Curve is the mean allocation ratio per resource at each whole percent of
	// arrived load (index = percent - 1), over the seeds that reached it.
	CurveGPU, CurveCPU, CurveMemory []float64
}

// SummarizeRepro reduces runs to one cell per trace x policy, in matrix order.
func SummarizeRepro(s *ReproSpec, runs []ReproRun) []ReproCell {
	var out []ReproCell
	for _, t := range s.Traces {
		for _, p := range s.Policies {
			c := ReproCell{Trace: t.Name, Policy: p, Paper: math.NaN()}
			if v, ok := s.Paper[t.Name][p]; ok {
				c.Paper = v
			}
			var at100 []float64
			var sums [3][]float64
			var ns []int
			for _, r := range runs {
				if r.Trace != t.Name || r.Policy != p || r.Result == nil {
					continue
				}
				if pt, ok := r.Result.At(100); ok {
					at100 = append(at100, 100*pt.GPU)
				} else {
					at100 = append(at100, math.NaN())
				}
				for _, pt := range r.Result.Curve {
					i := pt.Percent - 1
					for len(ns) <= i {
						ns = append(ns, 0)
						for k := range sums {
							sums[k] = append(sums[k], 0)
						}
					}
					ns[i]++
					sums[0][i] += pt.GPU
					sums[1][i] += pt.CPU
					sums[2][i] += pt.Memory
				}
			}
			c.GPU100 = MeanCI(at100)
			for i, n := range ns {
				for k := range sums {
					sums[k][i] /= float64(n)
				}
			}
			c.CurveGPU, c.CurveCPU, c.CurveMemory = sums[0], sums[1], sums[2]
			out = append(out, c)
		}
	}
	return out
}

// WriteRepro writes results.csv (one row per run, deterministic), curve.csv (one row
// per run and percent), perf.csv (wall times) and summary.md into dir.
func WriteRepro(dir string, s *ReproSpec, runs []ReproRun, cells []ReproCell) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var res, curve, perf strings.Builder
	res.WriteString("trace,policy,seed,pods,placed,failed,gpu_alloc_100,cpu_alloc_100,memory_alloc_100,frag_gpu_milli_100\n")
	curve.WriteString("trace,policy,seed,arrived_pct,gpu_alloc,cpu_alloc,memory_alloc,pods_arrived,pods_placed,frag_gpu_milli,free_gpu_milli\n")
	perf.WriteString("trace,policy,seed,wall_s,pods_per_s\n")
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 6, 64) }
	for _, r := range runs {
		key := r.Trace + "," + r.Policy + "," + strconv.FormatUint(r.Seed, 10)
		p, ok := r.Result.At(100)
		g, c, m, fr := "NaN", "NaN", "NaN", "NaN"
		if ok {
			g, c, m, fr = f(p.GPU), f(p.CPU), f(p.Memory), strconv.Itoa(p.FragGPUMilli)
		}
		fmt.Fprintf(&res, "%s,%d,%d,%d,%s,%s,%s,%s\n", key, r.Result.Pods, r.Result.Placed, r.Result.Failed, g, c, m, fr)
		for _, pt := range r.Result.Curve {
			fmt.Fprintf(&curve, "%s,%d,%s,%s,%s,%d,%d,%d,%d\n", key, pt.Percent, f(pt.GPU), f(pt.CPU), f(pt.Memory), pt.Arrived, pt.Placed, pt.FragGPUMilli, pt.FreeGPUMilli)
		}
		fmt.Fprintf(&perf, "%s,%.3f,%.0f\n", key, r.Wall.Seconds(), float64(r.Result.Pods)/r.Wall.Seconds())
	}
	for name, b := range map[string]*strings.Builder{"results.csv": &res, "curve.csv": &curve, "perf.csv": &perf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "summary.md"), []byte(ReproMarkdown(s, cells)), 0o644)
}

// ReproMarkdown renders the summary: per trace, the GPU allocation ratio at 100 %
// arrived load per policy (mean ± 95 % CI over the seeds), with the paper's figure
// and the difference where the spec gives one, policies in ascending order of the mean.
func ReproMarkdown(s *ReproSpec, cells []ReproCell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nGPU allocation ratio (%%) at 100 %% arrived GPU load, mean ± 95 %% CI over seeds %s; tune %.2f.\n",
		s.Name, seedsString(s.Seeds), s.Tune)
	for _, t := range s.Traces {
		fmt.Fprintf(&b, "\n## %s\n\n| policy | diegolab | paper | difference |\n|---|---:|---:|---:|\n", t.Name)
		var cs []ReproCell
		for _, c := range cells {
			if c.Trace == t.Name {
				cs = append(cs, c)
			}
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].GPU100.Mean < cs[j].GPU100.Mean })
		for _, c := range cs {
			paper, diff := "", ""
			if !math.IsNaN(c.Paper) {
				paper = strconv.FormatFloat(c.Paper, 'f', 2, 64)
				diff = fmt.Sprintf("%+.2f", c.GPU100.Mean-c.Paper)
			}
			ci := ""
			if !math.IsNaN(c.GPU100.CI95) {
				ci = fmt.Sprintf(" ± %.2f", c.GPU100.CI95)
			}
			fmt.Fprintf(&b, "| %s | %.2f%s | %s | %s |\n", c.Policy, c.GPU100.Mean, ci, paper, diff)
		}
	}
	return b.String()
}

func seedsString(seeds []uint64) string {
	if len(seeds) == 0 {
		return ""
	}
	s := slices.Clone(seeds)
	slices.Sort(s)
	if int(s[len(s)-1]-s[0]) == len(s)-1 {
		return fmt.Sprintf("%d-%d", s[0], s[len(s)-1])
	}
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, ",")
}
