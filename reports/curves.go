package reports

import (
	"fmt"
	"io"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// CurveChart is one chart of allocation curves: per series (a policy), the allocation
// ratio (0-1) at each whole percent of arrived load, Y[i] at i+1 %.
type CurveChart struct {
	Title, Subtitle string
	Series          []CurveSeries
}

// CurveSeries is one line of a CurveChart.
type CurveSeries struct {
	Name string
	Y    []float64
}

// RenderCurves writes an HTML page with one line chart per CurveChart: allocation
// ratio (%) against arrived load (%), the FGD paper's Figure 7 layout, with a dashed
// line at 100 % arrived.
func RenderCurves(w io.Writer, title string, cs []CurveChart, asset Asset) error {
	p := &page{Title: title, Subtitle: "allocation ratio against arrived workload (docs/fgd.md)", Asset: asset}
	row := chartRow{Title: "Allocation curves"}
	for i, c := range cs {
		row.Charts = append(row.Charts, curveChart(fmt.Sprintf("curve-%d", i), c))
	}
	p.Rows = append(p.Rows, row)
	return p.write(w)
}

func curveChart(id string, c CurveChart) chartSpec {
	ln := charts.NewLine()
	ln.SetGlobalOptions(initOpts(id), noAnimation, title(c.Title, c.Subtitle),
		charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Bottom: "0"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "arrived %", Min: "dataMin", Max: "dataMax"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "allocated %", Min: "dataMin", Max: 100}),
		charts.WithGridOpts(opts.Grid{Top: "70", Bottom: "60", Left: "60", Right: "30"}),
	)
	line := charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)})
	for k, s := range c.Series {
		data := make([]opts.LineData, len(s.Y))
		for i, y := range s.Y {
			v, _ := strconv.ParseFloat(strconv.FormatFloat(100*y, 'f', 2, 64), 64)
			data[i] = opts.LineData{Value: [2]float64{float64(i + 1), v}}
		}
		so := []charts.SeriesOpts{line}
		if k == 0 {
			so = append(so, charts.WithMarkLineNameXAxisItemOpts(opts.MarkLineNameXAxisItem{Name: "100 %", XAxis: 100}),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
					LineStyle: &opts.LineStyle{Type: "dashed", Color: "#555555"}}))
		}
		ln.AddSeries(s.Name, data, so...)
	}
	return chartSpec{ID: id, Title: c.Title, Height: 420, Option: option(ln)}
}
