package reports

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// CompareData is the numeric part of a comparison report.
type CompareData struct {
	Runs []string // labels, in the order given
	// Metrics has one row per numeric summary metric found in any run, sorted by name.
	Metrics []MetricRow
	// Groups are the sets of two or more runs of the same scenario, mode, algorithm and
	// settings (seed replications), in order of their first run.
	Groups []Group
}

// MetricRow is one metric across runs; nil where a run lacks it. Diff[i] is
// Values[i] - Values[0] (nil when either is missing; Diff[0] is always nil).
type MetricRow struct {
	Name   string
	Values []*float64
	Diff   []*float64
}

// Group is a set of seed replications and the mean and 95 % confidence interval of
// each metric over them.
type Group struct {
	Key   string // scenario / algorithm / settings
	Runs  []int  // indexes into CompareData.Runs
	Seeds []uint64
	Stats []GroupStat
}

// GroupStat is a metric over a group: sample mean, sample standard deviation and the
// half-width of the two-sided 95 % confidence interval of the mean from Student's t
// with N-1 degrees of freedom: t(0.975, N-1) * Stddev / sqrt(N).
type GroupStat struct {
	Name   string
	N      int
	Mean   float64
	Stddev float64
	CI95   float64
}

// runLabel names a run in a comparison.
func runLabel(i int, h HeaderData) string {
	l := fmt.Sprintf("#%d %s seed %d", i+1, h.Algorithm, h.Seed)
	if h.Dir != "" {
		l += " (" + filepath.Base(h.Dir) + ")"
	}
	return l
}

// Compare computes the metric table and the replication groups of runs.
func Compare(runs []*RunData) CompareData {
	var c CompareData
	names := map[string]bool{}
	for i, r := range runs {
		c.Runs = append(c.Runs, runLabel(i, r.Header))
		for k := range r.metrics {
			names[k] = true
		}
	}
	for _, name := range sortedKeys(names) {
		row := MetricRow{Name: name, Values: make([]*float64, len(runs)), Diff: make([]*float64, len(runs))}
		for i, r := range runs {
			if v, ok := r.metrics[name]; ok {
				row.Values[i] = &v
			}
		}
		for i := 1; i < len(runs); i++ {
			if row.Values[0] != nil && row.Values[i] != nil {
				d := *row.Values[i] - *row.Values[0]
				row.Diff[i] = &d
			}
		}
		c.Metrics = append(c.Metrics, row)
	}
	// Group seed replications.
	index := map[string]int{}
	for i, r := range runs {
		h := r.Header
		parts := []string{h.Scenario, h.Mode, h.Algorithm, h.Settings}
		if h.DockerCache != "" { // not in summary.json settings, but a different configuration
			parts = append(parts, "docker cache "+h.DockerCache)
		}
		key := strings.Join(parts, " / ")
		gi, ok := index[key]
		if !ok {
			gi = len(c.Groups)
			index[key] = gi
			c.Groups = append(c.Groups, Group{Key: key})
		}
		c.Groups[gi].Runs = append(c.Groups[gi].Runs, i)
		c.Groups[gi].Seeds = append(c.Groups[gi].Seeds, h.Seed)
	}
	groups := c.Groups[:0]
	for _, g := range c.Groups {
		if len(g.Runs) < 2 {
			continue
		}
		for _, name := range sortedKeys(names) {
			if name == "seed" {
				continue
			}
			var x []float64
			for _, ri := range g.Runs {
				if v, ok := runs[ri].metrics[name]; ok {
					x = append(x, v)
				}
			}
			if len(x) < 2 {
				continue
			}
			g.Stats = append(g.Stats, meanCI(name, x))
		}
		groups = append(groups, g)
	}
	c.Groups = groups
	return c
}

// meanCI needs len(x) >= 2.
func meanCI(name string, x []float64) GroupStat {
	mean, sd := stat.MeanStdDev(x, nil) // sample standard deviation (n-1)
	n := float64(len(x))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975)
	return GroupStat{Name: name, N: len(x), Mean: mean, Stddev: sd, CI95: t * sd / math.Sqrt(n)}
}

// RenderCompare writes the comparison report of runs (two or more).
func RenderCompare(w io.Writer, runs []*RunData, asset Asset) error {
	if len(runs) < 2 {
		return fmt.Errorf("compare needs at least two runs, got %d", len(runs))
	}
	c := Compare(runs)
	p := &page{Title: "diegolab comparison: " + strings.Join(uniqueScenarios(runs), ", "),
		Subtitle: fmt.Sprintf("%d runs; differences are against run #1", len(runs)), Asset: asset}

	ids := table{Caption: "Runs", Head: []string{"run", "scenario", "mode", "algorithm", "seed", "settings", "trace hash"}}
	for i, r := range runs {
		h := r.Header
		ids.Rows = append(ids.Rows, []cell{{Text: c.Runs[i]}, {Text: h.Scenario}, {Text: h.Mode}, {Text: h.Algorithm},
			{Text: fmt.Sprint(h.Seed), Class: "num"}, {Lines: settingLines(h)}, {Text: h.TraceHash}})
		for _, n := range r.Notes {
			p.Notes = append(p.Notes, c.Runs[i]+": "+n)
		}
	}
	metricTable := func(caption string, names []string) table {
		t := table{Caption: caption, Head: []string{"metric"}}
		for i, l := range c.Runs {
			t.Head = append(t.Head, l)
			if i > 0 {
				t.Head = append(t.Head, "Δ vs #1")
			}
		}
		rows := map[string]MetricRow{}
		for _, m := range c.Metrics {
			rows[m.Name] = m
		}
		for _, name := range names {
			m, ok := rows[name]
			if !ok {
				continue
			}
			row := []cell{{Text: m.Name}}
			for i, v := range m.Values {
				row = append(row, optCell(v, ""))
				if i > 0 {
					row = append(row, diffCell(m.Diff[i], m.Values[0]))
				}
			}
			t.Rows = append(t.Rows, row)
		}
		return t
	}
	all := make([]string, len(c.Metrics))
	for i, m := range c.Metrics {
		all[i] = m.Name
	}
	p.Tables = []table{ids, metricTable("Headline metrics", headline)}
	p.After = []table{metricTable("Every summary metric (flattened summary.json)", all)}
	for _, g := range c.Groups {
		var members []string
		for _, ri := range g.Runs {
			members = append(members, fmt.Sprintf("#%d", ri+1))
		}
		t := table{Caption: fmt.Sprintf("Seed replications %s (runs %s): mean and 95 %% confidence interval (Student's t)", g.Key, strings.Join(members, ", ")),
			Head: []string{"metric", "n", "mean", "± 95 % CI", "stddev", "CI low", "CI high"}}
		for _, s := range g.Stats {
			t.Rows = append(t.Rows, []cell{{Text: s.Name}, numCell(float64(s.N)), numCell(s.Mean), numCell(s.CI95),
				numCell(s.Stddev), numCell(s.Mean - s.CI95), numCell(s.Mean + s.CI95)})
		}
		p.After = append(p.After, t)
	}

	// Overlays: the sorted distributions and the running instances of every run.
	var inst, mem []Distribution
	for _, r := range runs {
		inst = append(inst, r.Evenness.Instances)
		mem = append(mem, r.Evenness.MemoryMB)
	}
	ei := evennessChart("cmp-even-inst", "Instances", "instances", c.Runs, inst)
	em := evennessChart("cmp-even-mem", "Memory used", "MB", c.Runs, mem)
	ei.Title, em.Title = "", ""
	p.Rows = append(p.Rows, chartRow{Title: "Instances per cell, sorted (all runs)", Charts: []chartSpec{ei}},
		chartRow{Title: "Memory used per cell, sorted (all runs)", Charts: []chartSpec{em}})
	if rc, ok := runningOverlay("cmp-running", c.Runs, runs); ok {
		p.Rows = append(p.Rows, chartRow{Title: "Running instances over time (all runs)", Charts: []chartSpec{rc}})
	}
	// Side by side: every per-run chart kind, one column per run.
	var order []string
	byKind := map[string][]chartSpec{}
	titles := map[string]string{}
	sc := scaleOf(runs)
	for i, r := range runs {
		prefix := fmt.Sprintf("r%d-", i)
		for _, ch := range runCharts(prefix, r, sc) {
			kind := strings.TrimPrefix(ch.ID, prefix)
			if _, seen := titles[kind]; !seen {
				order = append(order, kind)
				titles[kind] = ch.Title
			}
			ch.Title = c.Runs[i]
			byKind[kind] = append(byKind[kind], ch)
		}
	}
	for _, kind := range order {
		p.Rows = append(p.Rows, chartRow{Title: titles[kind] + " (side by side)", Charts: byKind[kind]})
	}
	return p.write(w)
}

func uniqueScenarios(runs []*RunData) []string {
	seen := map[string]bool{}
	for _, r := range runs {
		seen[r.Header.Scenario] = true
	}
	out := sortedKeys(seen)
	sort.Strings(out)
	return out
}

func optCell(v *float64, class string) cell {
	if v == nil {
		return cell{Text: "–"}
	}
	c := numCell(*v)
	if class != "" {
		c.Class = class
	}
	return c
}

// diffCell shows a difference and, when the base is not 0, the relative change.
func diffCell(d, base *float64) cell {
	if d == nil {
		return cell{Text: "–"}
	}
	rel := ""
	if base != nil && *base != 0 {
		rel = fmt.Sprintf(" (%+.1f%%)", 100**d/math.Abs(*base))
	}
	switch {
	case *d > 0:
		return cell{Text: "+" + fmtNum(*d) + rel, Class: "pos"}
	case *d < 0:
		return cell{Text: fmtNum(*d) + rel, Class: "neg"}
	}
	return cell{Text: "0", Class: "num"}
}

// headline are the metrics compared at the top of a comparison report.
var headline = []string{"desired_instances", "running_instances", "auction.lrps_failed", "auction.tasks_failed",
	"utilisation.memory.mean", "utilisation.memory.cov", "utilisation.containers.cov", "health.crashes",
	"health.instance_seconds_missing", "auction.wait_seconds.p50", "auction.wait_seconds.p99", "sim_seconds",
	// Staging runs only (rows a run lacks show "–"; rows no run has are left out).
	"staging.pushes.total_seconds.p50", "staging.pushes.total_seconds.p99", "staging.scale_up_seconds.p50",
	"staging.scale_up_seconds.max", "staging.bytes_pulled.public", "staging.bytes_pulled.private",
	"staging.bytes_pulled.cell_cache", "staging.outage_start_failures", "staging.credential_uses"}

// runningOverlay draws each run's running instances over time in one chart.
func runningOverlay(id string, labels []string, runs []*RunData) (chartSpec, bool) {
	ln := charts.NewLine()
	ln.SetGlobalOptions(initOpts(id), noAnimation, title("Running instances", "one line per run"),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0", Type: "scroll"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "s", Min: "dataMin", Max: "dataMax"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "instances"}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "60", Left: "70", Right: "40"}),
	)
	drawn := false
	for i, r := range runs {
		if r.Timeline == nil {
			continue
		}
		drawn = true
		pts := make([]opts.LineData, len(r.Timeline.T))
		for k := range pts {
			pts[k] = opts.LineData{Value: [2]float64{r.Timeline.T[k], float64(r.Timeline.Running[k])}}
		}
		ln.AddSeries(labels[i], pts, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}))
	}
	return chartSpec{ID: id, Height: 360, Option: option(ln)}, drawn
}
