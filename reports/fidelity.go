package reports

import (
	"io"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// FidelityView is what a fidelity page shows (bench/fidelity builds it): the header,
// one row per metric and the running-instances timelines on one time grid.
type FidelityView struct {
	Title, Subtitle string
	Header          [][2]string
	Notes           []string
	Rows            []FidelityRow
	T               []float64
	Series          []FidelitySeries
}

// FidelityRow is one metric: texts as shown; Verdict "ok", "off" or "info".
type FidelityRow struct {
	Metric, Sim, Real, Diff, Allowed, Verdict, Why string
}

// FidelitySeries is one timeline line.
type FidelitySeries struct {
	Name string
	Y    []float64
	Area bool // shaded (the simulated mean)
}

// RenderFidelity writes the self-contained fidelity page (ECharts inline when the
// asset is).
func RenderFidelity(w io.Writer, v FidelityView, asset Asset) error {
	p := &page{Title: v.Title, Subtitle: v.Subtitle, Asset: asset, Notes: v.Notes}
	for _, h := range v.Header {
		p.Header = append(p.Header, kv{K: h[0], V: h[1]})
	}
	t := table{Caption: "Metrics: simulated mean (95 % CI over seeds) against the real mean (range over live runs)",
		Head: []string{"metric", "simulated", "real", "sim - real", "allowed |diff|", "verdict", "tolerance"}}
	for _, r := range v.Rows {
		cls := "num"
		switch r.Verdict {
		case "off":
			cls = "pos"
		case "ok":
			cls = "neg"
		}
		t.Rows = append(t.Rows, []cell{{Text: r.Metric}, {Text: r.Sim, Class: "num"}, {Text: r.Real, Class: "num"},
			{Text: r.Diff, Class: "num"}, {Text: r.Allowed, Class: "num"}, {Text: r.Verdict, Class: cls}, {Text: r.Why}})
	}
	p.Tables = append(p.Tables, t)
	if len(v.T) > 0 {
		p.Rows = append(p.Rows, chartRow{Title: "Running instances, simulated and real", Charts: []chartSpec{fidelityTimeline("fidelity-timeline", v)}})
	}
	return p.write(w)
}

func fidelityTimeline(id string, v FidelityView) chartSpec {
	ln := charts.NewLine()
	ln.SetGlobalOptions(initOpts(id), noAnimation, title("Running instances", "simulated mean over seeds (shaded) and each live run"),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "s", Min: "dataMin", Max: "dataMax"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "instances"}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "60", Left: "70", Right: "40"}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "inside"}),
	)
	for _, s := range v.Series {
		data := make([]opts.LineData, len(s.Y))
		for i := range s.Y {
			y, _ := strconv.ParseFloat(strconv.FormatFloat(s.Y[i], 'f', 3, 64), 64)
			data[i] = opts.LineData{Value: [2]float64{v.T[i], y}}
		}
		so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), Step: "end"})}
		if s.Area {
			so = append(so, charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.2)}))
		}
		ln.AddSeries(s.Name, data, so...)
	}
	return chartSpec{ID: id, Title: "Running instances", Height: 400, Option: option(ln)}
}
