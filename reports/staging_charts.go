package reports

import (
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// chartScale fixes what the charts of several runs must share to be read side by
// side: axis maxima (0 = automatic) and the colour of each digest.
type chartScale struct {
	PushSeconds float64  // value-axis max of the push latency chart
	Bytes       float64  // value-axis max of the bytes chart, in bytes
	Instances   int      // value-axis max of the versions chart
	Digests     []string // digest colour order: digest i gets digestColors[i % len]
	// Staged are the staging transfer kinds any run has, in display order: every
	// bytes chart lists them all (0 where a run has none), so the bars line up.
	Staged []string
}

// scaleOf returns the scale of runs' charts; shared axes only when there are several.
func scaleOf(runs []*RunData) chartScale {
	var sc chartScale
	seen := map[string]bool{}
	staged := map[string]int64{}
	for _, r := range runs {
		if r.Staging == nil {
			continue
		}
		for _, dg := range r.Staging.Digests {
			seen[dg] = true
		}
		for _, b := range r.Staging.Staged {
			staged[b.Name] = 0
		}
		if len(runs) > 1 {
			sc.PushSeconds = math.Max(sc.PushSeconds, pushMax(r.Staging))
			sc.Bytes = math.Max(sc.Bytes, bytesMax(r.Staging))
			for _, a := range r.Staging.Apps {
				sc.Instances = max(sc.Instances, a.Running)
			}
		}
	}
	sc.Digests = sortedKeys(seen)
	for _, b := range byteCounts(staged, stagingOrder, false) {
		sc.Staged = append(sc.Staged, b.Name)
	}
	sc.PushSeconds, sc.Bytes = niceCeil(sc.PushSeconds), niceCeil(sc.Bytes)
	return sc
}

// latencyStats are the categories of the push latency chart.
var latencyStats = []string{"mean", "p50", "p90", "p99", "max"}

func statOf(p PhaseLatency, stat string) float64 {
	switch stat {
	case "mean":
		return p.Mean
	case "p50":
		return p.P50
	case "p90":
		return p.P90
	case "p99":
		return p.P99
	}
	return p.Max
}

// pushMax is the tallest stack or total marker of the push latency chart.
func pushMax(d *StagingData) float64 {
	m := 0.0
	for _, s := range latencyStats {
		sum := 0.0
		for _, p := range d.Phases {
			sum += statOf(p, s)
		}
		m = math.Max(m, math.Max(sum, statOf(d.Total, s)))
	}
	return m
}

func bytesMax(d *StagingData) float64 {
	m := 0.0
	for _, b := range append(append([]ByteCount(nil), d.Pulled...), d.Staged...) {
		m = math.Max(m, float64(b.Bytes))
	}
	return m
}

var phaseColors = map[string]string{"upload": "#9ecae1", "staging": "#3182bd", "scheduling": "#fdae6b", "start": "#31a354"}

// digestColors are told apart easily (ColorBrewer Set1 without yellow, then Dark2).
var digestColors = []string{"#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
	"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#666666"}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// pushChart stacks each push phase's percentile per statistic, with the percentile of
// the whole push as a marker: phase percentiles do not add up to it (means do).
func pushChart(id string, d *StagingData, sc chartScale) chartSpec {
	bar := charts.NewBar()
	sub := fmt.Sprintf("%s: %d completed, %d failed; bars stack each phase's own statistic, ◆ = the whole push's",
		plural(d.PushesStarted, "push", "pushes"), d.PushesCompleted, d.PushesFailed)
	y := opts.YAxis{Type: "value", Name: "s"}
	if sc.PushSeconds > 0 {
		y.Max = sc.PushSeconds
	}
	bar.SetGlobalOptions(initOpts(id), noAnimation, title("Push latency by phase", sub),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: latencyStats}),
		charts.WithYAxisOpts(y),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "60", Left: "60", Right: "40"}),
	)
	bar.SetXAxis(latencyStats)
	for _, p := range d.Phases {
		data := make([]opts.BarData, len(latencyStats))
		for i, s := range latencyStats {
			data[i] = opts.BarData{Value: round2(statOf(p, s))}
		}
		bar.AddSeries(p.Phase, data, charts.WithBarChartOpts(opts.BarChart{Stack: "phases", BarWidth: "40%"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: phaseColors[p.Phase]}))
	}
	tot := charts.NewScatter()
	data := make([]opts.ScatterData, len(latencyStats))
	for i, s := range latencyStats {
		data[i] = opts.ScatterData{Value: round2(statOf(d.Total, s))}
	}
	tot.AddSeries("whole push", data,
		charts.WithScatterChartOpts(opts.ScatterChart{Symbol: "diamond", SymbolSize: 14}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "#222222"}))
	bar.Overlap(tot)
	return chartSpec{ID: id, Title: "Push latency by phase", Height: 360, Option: option(bar)}
}

// versionsChart draws, per pushed app, its running instances at the end stacked by
// image digest; the app's label says how long it ran mixed versions.
func versionsChart(id string, d *StagingData, sc chartScale) chartSpec {
	apps, omitted := d.versionApps()
	bar := charts.NewBar()
	labels := make([]string, len(apps))
	for i, a := range apps {
		labels[i] = a.App + " · one version"
		switch {
		case a.Mixed:
			labels[i] = a.App + " · mixed " + num(round2(a.MixedSeconds)) + " s"
		case len(a.Digests) == 0:
			labels[i] = a.App + " · none running"
		}
	}
	sub := "instances at the end of the run, by image digest"
	if omitted > 0 {
		sub = fmt.Sprintf("the %d apps mixed longest of %d; %s", len(apps), len(d.Apps), sub)
	}
	x := opts.XAxis{Type: "value", Name: "instances at the end", NameLocation: "middle", NameGap: 25, MinInterval: 1}
	if sc.Instances > 0 {
		x.Max = sc.Instances
	}
	bar.SetGlobalOptions(initOpts(id), noAnimation, title("Versions running per app", sub),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0", Type: "scroll"}),
		charts.WithXAxisOpts(x),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: opts.Bool(true), AxisLabel: &opts.AxisLabel{Interval: "0"}}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "65", Left: "20", Right: "40", ContainLabel: opts.Bool(true)}),
	)
	bar.SetXAxis(labels).XYReversal()
	colour := map[string]string{}
	for i, dg := range sc.Digests {
		colour[dg] = digestColors[i%len(digestColors)]
	}
	for _, dg := range d.Digests {
		data := make([]opts.BarData, len(apps))
		for i, a := range apps {
			n := 0
			for _, c := range a.Digests {
				if c.Digest == dg {
					n = c.Instances
				}
			}
			data[i] = opts.BarData{Value: n}
		}
		bar.AddSeries(dg, data, charts.WithBarChartOpts(opts.BarChart{Stack: "digests", BarWidth: "50%"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: colour[dg]}))
	}
	if len(d.Digests) == 0 {
		bar.AddSeries("no instance running", make([]opts.BarData, len(apps)))
	}
	return chartSpec{ID: id, Title: "Versions running per app", Height: min(1400, max(240, 140+28*len(apps))), Option: option(bar)}
}

// versionsOverTimeChart draws the instances running each image digest over the run:
// one step line per digest, so a tag that moved between staging and a scale-up shows as
// a second version rising beside the first.
func versionsOverTimeChart(id string, d *StagingData, sc chartScale) chartSpec {
	ln := charts.NewLine()
	ln.SetGlobalOptions(initOpts(id), noAnimation,
		title("Versions running over time", "instances per image digest (or droplet), over all pushed apps"),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0", Type: "scroll"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "s", Min: "dataMin", Max: "dataMax"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "instances", MinInterval: 1}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "60", Left: "60", Right: "40"}),
	)
	colour := map[string]string{}
	for i, dg := range sc.Digests {
		colour[dg] = digestColors[i%len(digestColors)]
	}
	for i, v := range d.OverTime {
		data := make([]opts.LineData, len(v.T))
		for j := range v.T {
			data[j] = opts.LineData{Value: [2]float64{v.T[j], float64(v.N[j])}}
		}
		c := colour[v.Digest]
		if c == "" {
			c = digestColors[i%len(digestColors)]
		}
		ln.AddSeries(v.Digest, data,
			charts.WithLineChartOpts(opts.LineChart{Step: "end", ShowSymbol: opts.Bool(false)}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: c}), charts.WithLineStyleOpts(opts.LineStyle{Color: c}))
	}
	return chartSpec{ID: id, Title: "Versions running over time", Height: 320, Option: option(ln)}
}

// bytesChart draws what instance starts pulled, by source, and what staging moved.
func bytesChart(id string, d *StagingData, sc chartScale) chartSpec {
	maxBytes := sc.Bytes
	if maxBytes == 0 {
		maxBytes = bytesMax(d)
	}
	unit, div := byteUnit(maxBytes)
	colours := map[string]string{"public": "#de2d26", "private": "#3182bd", "blobstore": "#31a354", "cell_cache": "#bdbdbd"}
	var labels []string
	var data []opts.BarData
	for _, b := range d.Pulled {
		c := colours[b.Name]
		if c == "" {
			c = "#756bb1"
		}
		labels = append(labels, byteLabel(b.Name, false))
		data = append(data, opts.BarData{Value: round2(float64(b.Bytes) / div), ItemStyle: &opts.ItemStyle{Color: c}})
	}
	staged := d.Staged
	if len(sc.Staged) > 0 {
		have := map[string]int64{}
		for _, b := range d.Staged {
			have[b.Name] = b.Bytes
		}
		staged = nil
		for _, k := range sc.Staged {
			staged = append(staged, ByteCount{k, have[k]})
		}
	}
	for _, b := range staged {
		labels = append(labels, byteLabel(b.Name, true))
		data = append(data, opts.BarData{Value: round2(float64(b.Bytes) / div), ItemStyle: &opts.ItemStyle{Color: "#756bb1"}})
	}
	x := opts.XAxis{Type: "value", Name: unit, NameLocation: "middle", NameGap: 25}
	if sc.Bytes > 0 {
		x.Max = round2(sc.Bytes / div)
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(initOpts(id), noAnimation,
		title("Bytes pulled by source", "instance starts by source (cell cache: layers already on the cell); staging transfers in purple; "+unit+" = 10^"+strconv.Itoa(int(math.Log10(div)))+" bytes"),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(x),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: opts.Bool(true), AxisLabel: &opts.AxisLabel{Interval: "0"}}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "40", Left: "20", Right: "90", ContainLabel: opts.Bool(true)}),
	)
	bar.SetXAxis(labels).XYReversal()
	bar.AddSeries(unit, data, charts.WithBarChartOpts(opts.BarChart{BarWidth: "55%"}),
		charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right", Formatter: "{c} " + unit}))
	return chartSpec{ID: id, Title: "Bytes pulled by source", Height: max(240, 130+30*len(labels)), Option: option(bar)}
}

// stagingCharts are the staging charts of a run (none without staging data).
func stagingCharts(prefix string, d *StagingData, sc chartScale) []chartSpec {
	if d == nil {
		return nil
	}
	out := []chartSpec{
		pushChart(prefix+"push", d, sc),
		versionsChart(prefix+"versions", d, sc),
	}
	if len(d.OverTime) > 0 {
		out = append(out, versionsOverTimeChart(prefix+"versions-time", d, sc))
	}
	return append(out, bytesChart(prefix+"bytes", d, sc))
}
