package reports

import (
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/render"
)

// chartSpec is one rendered chart: its container and its ECharts option (JavaScript
// object literal, possibly with functions).
type chartSpec struct {
	ID     string
	Title  string
	Height int // px
	Option string
	// Tips, when set, is a lookup table (per data index) a tooltip formatter reads
	// from window.diegolabTips[ID]; kept out of the option so it is not repeated per
	// series.
	Tips []string
}

// option renders a go-echarts chart to its option literal.
func option(r render.Renderer) string { return r.RenderSnippet().Option }

func initOpts(id string) charts.GlobalOpts {
	return charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "100%"})
}

var noAnimation = charts.WithAnimation(false)

func title(text, sub string) charts.GlobalOpts {
	return charts.WithTitleOpts(opts.Title{Title: text, Subtitle: sub, Left: "center"})
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func num(x float64) string {
	if x == float64(int64(x)) {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// cellMapChart draws the cell map as a heatmap: one series per resource (memory, disk,
// containers), one shown at a time through the legend; colour is the used fraction.
func cellMapChart(id string, d CellMapData) chartSpec {
	hm := charts.NewHeatMap()
	yLabels := make([]string, d.Rows)
	for _, z := range d.Zones {
		yLabels[z.FirstRow] = z.Zone
	}
	xLabels := make([]string, d.Columns)
	for i := range xLabels {
		xLabels[i] = strconv.Itoa(i)
	}
	sub := "colour: used fraction; pick the resource in the legend"
	if d.CellsPerTile > 1 {
		sub = fmt.Sprintf("up to %d cells per tile (consecutive cells of a zone, usage summed); %s", d.CellsPerTile, sub)
	}
	hm.SetGlobalOptions(initOpts(id), noAnimation, title("Cell map", sub),
		charts.WithLegendOpts(opts.Legend{SelectedMode: "single", Top: "45", Data: []string{"memory", "disk", "containers"}}),
		charts.WithTooltipOpts(opts.Tooltip{Formatter: opts.FuncOpts(
			"function(p){var t=window.diegolabTips['" + id + "'];return (t&&t[p.dataIndex]||'')+'<br/>'+p.seriesName+' used: '+(100*p.value[2]).toFixed(1)+'%';}")}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: xLabels, Show: opts.Bool(false)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: yLabels, Inverse: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{Interval: "0"}}),
		charts.WithGridOpts(opts.Grid{Top: "80", Bottom: "60", Left: "80", Right: "30"}),
		charts.WithVisualMapOpts(opts.VisualMap{Calculable: opts.Bool(true), Min: 0, Max: 1, Orient: "horizontal",
			Left: "center", Bottom: "5", Text: []string{"full", "empty"},
			InRange: &opts.VisualMapInRange{Color: []string{"#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"}}}),
	)
	mem := make([]opts.HeatMapData, len(d.Tiles))
	disk := make([]opts.HeatMapData, len(d.Tiles))
	cont := make([]opts.HeatMapData, len(d.Tiles))
	tips := make([]string, len(d.Tiles))
	for i, t := range d.Tiles {
		m, dk, c := t.Fractions()
		mem[i] = opts.HeatMapData{Value: [3]any{t.Col, t.Row, round4(m)}}
		disk[i] = opts.HeatMapData{Value: [3]any{t.Col, t.Row, round4(dk)}}
		cont[i] = opts.HeatMapData{Value: [3]any{t.Col, t.Row, round4(c)}}
		tips[i] = tileTip(t)
	}
	hm.AddSeries("memory", mem).AddSeries("disk", disk).AddSeries("containers", cont)
	height := 150 + 14*d.Rows
	return chartSpec{ID: id, Title: "Cell map", Height: min(1400, max(260, height)), Option: option(hm), Tips: tips}
}

func round4(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 4, 64), 64)
	return v
}

// tileTip is the HTML of a tile's tooltip; every piece of run data is escaped.
func tileTip(t CellTile) string {
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(t.Label) + "</b>")
	if t.Cells > 1 {
		fmt.Fprintf(&b, " (%d cells)", t.Cells)
	}
	if t.Down > 0 {
		fmt.Fprintf(&b, " <i>%d not up</i>", t.Down)
	}
	fmt.Fprintf(&b, "<br/>memory %d / %d MB, disk %d / %d MB<br/>containers %d / %d, instances %d",
		t.MemoryUsedMB, t.MemoryMB, t.DiskUsedMB, t.DiskMB, t.ContainersUsed, t.Containers, t.Instances)
	for _, a := range t.TopApps {
		fmt.Fprintf(&b, "<br/>%s: %d", html.EscapeString(a.App), a.Instances)
	}
	return b.String()
}

// evennessChart draws sorted distributions (one line per named distribution) against
// the cell quantile.
func evennessChart(id, what, unit string, names []string, ds []Distribution) chartSpec {
	ln := charts.NewLine()
	var sub []string
	for i, d := range ds {
		s := fmt.Sprintf("mean %s, stddev %s, CoV %s", num(d.Mean), num(d.Stddev), num(d.CoV))
		if len(ds) > 1 {
			s = names[i] + ": " + s
		}
		sub = append(sub, s)
	}
	ln.SetGlobalOptions(initOpts(id), noAnimation, title(what+" per cell, sorted", strings.Join(sub, "\n")),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(ds) > 1), Bottom: "0"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "cell quantile", NameLocation: "middle", NameGap: 25, Min: 0, Max: 1}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: unit}),
		charts.WithGridOpts(opts.Grid{Top: strconv.Itoa(60 + 14*len(ds)), Bottom: "60", Left: "70", Right: "30"}),
	)
	for i, d := range ds {
		pts := make([]opts.LineData, len(d.Points))
		for k := range d.Points {
			pts[k] = opts.LineData{Value: [2]float64{round4(d.Quantiles[k]), d.Points[k]}}
		}
		ln.AddSeries(names[i], pts, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), Step: "end"}))
	}
	return chartSpec{ID: id, Title: what + " per cell", Height: 340, Option: option(ln)}
}

// zoneChart draws instances per zone for the top apps, one bar per zone.
func zoneChart(id string, d ZoneBalanceData) chartSpec {
	bar := charts.NewBar()
	apps := make([]string, len(d.Apps))
	for i, a := range d.Apps {
		apps[i] = a.App
	}
	bar.SetGlobalOptions(initOpts(id), noAnimation,
		title("Zone balance of the top apps", "instances per zone; imbalance = fullest zone - emptiest zone"),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: apps, AxisLabel: &opts.AxisLabel{Interval: "0", Rotate: 20}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "instances"}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "80", Left: "60", Right: "30"}),
	)
	bar.SetXAxis(apps)
	for zi, z := range d.Zones {
		data := make([]opts.BarData, len(d.Apps))
		for i, a := range d.Apps {
			data[i] = opts.BarData{Value: a.PerZone[zi]}
		}
		bar.AddSeries(z, data)
	}
	imb := make([]opts.BarData, len(d.Apps))
	for i, a := range d.Apps {
		imb[i] = opts.BarData{Value: a.Imbalance}
	}
	bar.AddSeries("imbalance", imb, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#999999"}))
	return chartSpec{ID: id, Title: "Zone balance", Height: 360, Option: option(bar)}
}

// timelineChart draws desired / running / crashed / unclaimed with vertical mark lines
// at the scenario's actions.
func timelineChart(id string, d *TimelineData) chartSpec {
	ln := charts.NewLine()
	ln.SetGlobalOptions(initOpts(id), noAnimation, title("Timeline", "instances over simulated time; dashed lines: scenario actions"),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "s", Min: "dataMin", Max: "dataMax"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "instances"}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "60", Left: "70", Right: "40"}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "inside"}),
	)
	series := func(v []int) []opts.LineData {
		out := make([]opts.LineData, len(v))
		for i := range v {
			out[i] = opts.LineData{Value: [2]float64{d.T[i], float64(v[i])}}
		}
		return out
	}
	var marks []opts.MarkLineNameXAxisItem
	for _, m := range d.Marks {
		marks = append(marks, opts.MarkLineNameXAxisItem{Name: strings.TrimSpace(m.Action + " " + m.Target), XAxis: m.T})
	}
	line := charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)})
	first := []charts.SeriesOpts{line}
	if len(marks) > 0 {
		first = append(first, charts.WithMarkLineNameXAxisItemOpts(marks...),
			charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
				Label:     &opts.Label{Show: opts.Bool(true), Formatter: "{b}", Position: "insideEndTop"},
				LineStyle: &opts.LineStyle{Type: "dashed", Color: "#555555"}}))
	}
	ln.AddSeries("desired", series(d.Desired), first...).
		AddSeries("running", series(d.Running), line).
		AddSeries("crashed", series(d.Crashed), line).
		AddSeries("unclaimed", series(d.Unclaimed), line)
	return chartSpec{ID: id, Title: "Timeline", Height: 380, Option: option(ln)}
}

// failuresChart stacks placement failures per reason in time bins.
func failuresChart(id string, d *FailuresData) chartSpec {
	bar := charts.NewBar()
	x := make([]string, d.Bins)
	for i := range x {
		x[i] = num(float64(i) * d.BinSeconds)
	}
	bar.SetGlobalOptions(initOpts(id), noAnimation,
		title("Placement failures by reason", fmt.Sprintf("%d failures; bins of %s s (bin start shown)", d.Total, num(d.BinSeconds))),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0", Type: "scroll"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: x, Name: "s"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "failures", MinInterval: 1}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "60", Left: "60", Right: "40"}),
	)
	bar.SetXAxis(x)
	if len(d.Reasons) == 0 {
		bar.AddSeries("no failures", make([]opts.BarData, d.Bins))
	}
	for ri, r := range d.Reasons {
		data := make([]opts.BarData, d.Bins)
		for b, n := range d.Counts[ri] {
			data[b] = opts.BarData{Value: n}
		}
		bar.AddSeries(r, data, charts.WithBarChartOpts(opts.BarChart{Stack: "failures"}))
	}
	return chartSpec{ID: id, Title: "Placement failures", Height: 340, Option: option(bar)}
}

// histogramChart draws a histogram as bars labelled with the bin ranges.
func histogramChart(id, what, unit string, h Histogram) chartSpec {
	bar := charts.NewBar()
	labels := make([]string, len(h.Counts))
	data := make([]opts.BarData, len(h.Counts))
	for i, n := range h.Counts {
		labels[i] = num(h.Edges[i]) + "–" + num(h.Edges[i+1])
		data[i] = opts.BarData{Value: n}
	}
	total := 0
	for _, n := range h.Counts {
		total += n
	}
	bar.SetGlobalOptions(initOpts(id), noAnimation, title(what, fmt.Sprintf("%d auction batches", total)),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: labels, Name: unit}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "batches", MinInterval: 1}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "50", Left: "60", Right: "60"}),
	)
	bar.SetXAxis(labels)
	bar.AddSeries(what, data, charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "2%"}))
	return chartSpec{ID: id, Title: what, Height: 320, Option: option(bar)}
}

// runCharts renders every chart of one run; prefix keeps ids unique in a comparison,
// sc makes the charts of compared runs share axes and colours.
func runCharts(prefix string, d *RunData, sc chartScale) []chartSpec {
	out := []chartSpec{
		cellMapChart(prefix+"cellmap", d.CellMap),
		evennessChart(prefix+"even-inst", "Instances", "instances", []string{"instances"}, []Distribution{d.Evenness.Instances}),
		evennessChart(prefix+"even-mem", "Memory used", "MB", []string{"memory"}, []Distribution{d.Evenness.MemoryMB}),
	}
	if len(d.Zones.Apps) > 0 {
		out = append(out, zoneChart(prefix+"zones", d.Zones))
	}
	if d.Timeline != nil {
		out = append(out, timelineChart(prefix+"timeline", d.Timeline))
	}
	if d.Failures != nil {
		out = append(out, failuresChart(prefix+"failures", d.Failures))
	}
	if d.Auction != nil && d.Auction.Batches > 0 {
		out = append(out, histogramChart(prefix+"batch", "Auction batch sizes", "work items", d.Auction.BatchSize),
			histogramChart(prefix+"wait", "Auction mean wait", "s", d.Auction.WaitSecs))
	}
	return append(out, stagingCharts(prefix, d.Staging, sc)...)
}

// scriptJSON encodes v for a <script> element: "</" and "<!--" cannot end or confuse it.
func scriptJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // strings and numbers only: cannot fail
		panic(err)
	}
	return scriptSafe(string(b))
}

func scriptSafe(s string) string {
	s = strings.ReplaceAll(s, "</", `<\/`)
	return strings.ReplaceAll(s, "<!--", `<\!--`)
}
