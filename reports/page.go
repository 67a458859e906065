package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strconv"
)

// page is what the HTML template receives.
type page struct {
	Title    string
	Subtitle string
	Header   []kv       // identity of the run(s)
	Tables   []table    // headline figures, metric comparisons, replication groups
	Notes    []string   // missing inputs and the like, shown in a box
	Rows     []chartRow // charts: one row per chart kind (several charts side by side)
	After    []table    // tables after the charts
	Details  []table    // long tables, folded
	Asset    Asset
	Charts   int
	scripts  []chartSpec
}

// kv is a header row: a value, or (Sub set) a small table of its own, such as the
// settings one per row.
type kv struct {
	K, V string
	Sub  []kv
}

type table struct {
	Caption string
	Head    []string
	Rows    [][]cell
}

type cell struct {
	Text  string
	Lines []string // shown one per line after Text (settings, digests)
	Class string   // "num", "pos", "neg" ...
}

type chartRow struct {
	Title  string
	Charts []chartSpec
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="diegolab reports (go-echarts, ECharts {{.EChartsVersion}})">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 12px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
.wide{max-width:100%;overflow-x:auto}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
table.kv{margin:0;font-size:12px}
table.kv th,table.kv td{border:none;border-bottom:1px solid #eee;padding:1px 10px 1px 0;background:none;font-weight:normal}
table.kv th{color:#555}
.lines div{white-space:nowrap}
th{background:#f4f6f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.pos{text-align:right;color:#a50f15}
td.neg{text-align:right;color:#006d2c}
caption{text-align:left;font-weight:600;padding:4px 0}
.note{background:#fff8e1;border:1px solid #f0c36d;padding:8px 12px;margin:8px 0}
.warn{background:#fdecea;border:1px solid #e57373;padding:8px 12px;margin:8px 0;font-weight:600}
.row{display:flex;flex-wrap:wrap;gap:12px}
.cell{flex:1 1 0;min-width:420px;max-width:100%}
.chart{width:100%;border:1px solid #eee;box-sizing:border-box}
.runname{font-size:12px;color:#555;margin:4px 0}
details{margin:16px 0}
code{font-size:12px}
</style>
</head>
<body data-charts="{{.Charts}}">
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}}</p>
{{- if not .Asset.Inline}}
<div class="warn" id="asset-warning">This report links the ECharts library from <code>{{.EChartsFile}}</code> next to this file instead of carrying it inline: it was built without the asset (run <code>make echarts</code> before building diegolab, or set {{.EnvECharts}}). Copy echarts.min.js {{.EChartsVersion}} beside the report to see the charts.</div>
{{- end}}
{{- range .Notes}}
<div class="note">{{.}}</div>
{{- end}}
{{- if .Header}}
<div class="wide"><table class="header">
{{- range .Header}}
<tr><th>{{.K}}</th><td>{{if .Sub}}<table class="kv">{{range .Sub}}<tr><th>{{.K}}</th><td><code>{{.V}}</code></td></tr>{{end}}</table>{{else}}<code>{{.V}}</code>{{end}}</td></tr>
{{- end}}
</table></div>
{{- end}}
{{- range .Tables}}{{template "table" .}}{{end}}
{{- range .Rows}}
<h2>{{.Title}}</h2>
<div class="row">
{{- range .Charts}}
<div class="cell">{{if .Title}}<div class="runname">{{.Title}}</div>{{end}}<div class="chart" id="{{.ID}}" style="height:{{.Height}}px"></div></div>
{{- end}}
</div>
{{- end}}
{{- range .After}}
<h2>{{.Caption}}</h2>
<div class="wide"><table>{{template "rows" .}}</table></div>
{{- end}}
{{- range .Details}}
<details><summary>{{.Caption}}</summary>{{template "table" .}}</details>
{{- end}}
{{- if .Asset.Inline}}
<script>{{.Library}}</script>
{{- else}}
<script src="{{.EChartsFile}}"></script>
{{- end}}
<script>
"use strict";
window.diegolabTips = {};
{{- range .Tips}}
window.diegolabTips[{{.ID}}] = {{.JSON}};
{{- end}}
(function () {
  if (typeof echarts === "undefined") { return; }
  var charts = [];
{{- range .Inits}}
  (function () {
    var c = echarts.init(document.getElementById({{.ID}}), null, {renderer: "canvas"});
    c.setOption({{.Option}});
    charts.push(c);
  })();
{{- end}}
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
</script>
</body>
</html>
{{define "table"}}
<div class="wide"><table>{{if .Caption}}<caption>{{.Caption}}</caption>{{end}}{{template "rows" .}}</table></div>
{{- end}}
{{define "rows"}}
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{- range .Rows}}
<tr>{{range .}}<td{{if .Class}} class="{{.Class}}"{{end}}>{{.Text}}{{if .Lines}}<div class="lines">{{range .Lines}}<div><code>{{.}}</code></div>{{end}}</div>{{end}}</td>{{end}}</tr>
{{- end}}
{{- end}}
`))

type tipData struct {
	ID   string
	JSON template.JS
}

type initData struct {
	ID     string
	Option template.JS
}

// write renders p. The ECharts code and the chart options are inserted verbatim after
// making sure they cannot close the <script> element.
func (p *page) write(w io.Writer) error {
	data := struct {
		*page
		EChartsVersion, EChartsFile, EnvECharts string
		Library                                 template.JS
		Tips                                    []tipData
		Inits                                   []initData
	}{page: p, EChartsVersion: EChartsVersion, EChartsFile: EChartsFile, EnvECharts: EnvECharts}
	if p.Asset.Inline() {
		js := p.Asset.JS
		if bytes.Contains(js, []byte("</script")) {
			return fmt.Errorf("echarts asset %s contains </script and cannot be inlined", p.Asset.Source)
		}
		data.Library = template.JS(js)
	}
	n := 0
	for _, r := range p.Rows {
		for _, c := range r.Charts {
			n++
			data.Inits = append(data.Inits, initData{ID: c.ID, Option: template.JS(scriptSafe(c.Option))})
			if c.Tips != nil {
				data.Tips = append(data.Tips, tipData{ID: c.ID, JSON: template.JS(scriptJSON(c.Tips))})
			}
		}
	}
	p.Charts = n
	return pageTmpl.Execute(w, data)
}

func numCell(x float64) cell { return cell{Text: fmtNum(x), Class: "num"} }

// fmtNum prints integers exactly and other numbers with 6 significant digits.
func fmtNum(x float64) string {
	if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}
