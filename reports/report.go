package reports

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Options control how a report file is written.
type Options struct {
	// Asset is the ECharts library; nil means FindAsset.
	Asset *Asset
	// Warn receives warnings (asset not found); nil means os.Stderr.
	Warn io.Writer
}

func (o Options) resolve() (Asset, io.Writer, error) {
	warn := o.Warn
	if warn == nil {
		warn = os.Stderr
	}
	if o.Asset != nil {
		return *o.Asset, warn, nil
	}
	a, err := FindAsset()
	return a, warn, err
}

// WriteRunReport reads the run record in runDir and writes its HTML report to outFile
// (runDir/report.html when outFile is ""). It is what `diegolab run` calls after a run.
func WriteRunReport(runDir, outFile string) error {
	return WriteRun(runDir, outFile, Options{})
}

// WriteRun is WriteRunReport with options.
func WriteRun(runDir, outFile string, o Options) error {
	if outFile == "" {
		outFile = filepath.Join(runDir, "report.html")
	}
	d, err := Load(runDir)
	if err != nil {
		return err
	}
	asset, warn, err := o.resolve()
	if err != nil {
		return err
	}
	return writeFile(outFile, asset, warn, func(w io.Writer) error { return RenderRun(w, d, asset) })
}

// WriteCompare reads every run record of runDirs (at least two) and writes a comparison
// report to outFile.
func WriteCompare(runDirs []string, outFile string, o Options) error {
	if len(runDirs) < 2 {
		return fmt.Errorf("compare needs at least two run directories, got %d", len(runDirs))
	}
	runs := make([]*RunData, len(runDirs))
	for i, dir := range runDirs {
		d, err := Load(dir)
		if err != nil {
			return err
		}
		runs[i] = d
	}
	asset, warn, err := o.resolve()
	if err != nil {
		return err
	}
	return writeFile(outFile, asset, warn, func(w io.Writer) error { return RenderCompare(w, runs, asset) })
}

func writeFile(path string, asset Asset, warn io.Writer, render func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = render(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	if !asset.Inline() {
		fmt.Fprintf(warn, "diegolab: warning: %s links %s from its own directory (ECharts was not embedded: run `make echarts` before building, or set %s); copy echarts.min.js %s next to it to see the charts\n",
			path, EChartsFile, EnvECharts, EChartsVersion)
	}
	return nil
}

// headerRows lists a run's identity; the settings are a small table, one per row.
func headerRows(h HeaderData) []kv {
	settings := kv{K: "settings", V: "none"}
	for _, s := range h.SettingList {
		settings.Sub = append(settings.Sub, kv{K: s.Name, V: s.Value})
	}
	rows := []kv{{K: "scenario", V: h.Scenario}, {K: "mode", V: h.Mode}, {K: "seed", V: strconv.FormatUint(h.Seed, 10)},
		{K: "algorithm", V: h.Algorithm}, settings}
	if h.DockerCache != "" {
		rows = append(rows, kv{K: "docker cache", V: h.DockerCache})
	}
	return append(rows, kv{K: "trace hash", V: h.TraceHash})
}

// settingLines are the settings as "name = value" lines.
func settingLines(h HeaderData) []string {
	var out []string
	for _, s := range h.SettingList {
		out = append(out, s.Name+" = "+s.Value)
	}
	if h.DockerCache != "" {
		out = append(out, "docker cache: "+h.DockerCache)
	}
	return out
}

// RenderRun writes the HTML report of one run.
func RenderRun(w io.Writer, d *RunData, asset Asset) error {
	p := &page{
		Title:    "diegolab report: " + d.Header.Scenario,
		Subtitle: fmt.Sprintf("algorithm %s, seed %d, %s mode", d.Header.Algorithm, d.Header.Seed, d.Header.Mode),
		Header:   headerRows(d.Header), Notes: d.Notes, Asset: asset,
	}
	fig := table{Caption: "Summary", Head: []string{"figure", "value"}}
	for _, m := range d.Header.Figures {
		fig.Rows = append(fig.Rows, []cell{{Text: m.Name}, numCell(m.Value)})
	}
	p.Tables = []table{fig}
	for _, c := range runCharts("", d, scaleOf([]*RunData{d})) {
		t := c.Title
		c.Title = ""
		p.Rows = append(p.Rows, chartRow{Title: t, Charts: []chartSpec{c}})
	}
	all := table{Caption: fmt.Sprintf("All summary metrics (%d, flattened summary.json)", len(d.Header.Metrics)), Head: []string{"metric", "value"}}
	for _, m := range d.Header.Metrics {
		all.Rows = append(all.Rows, []cell{{Text: m.Name}, numCell(m.Value)})
	}
	if d.Staging != nil {
		p.After = stagingTables(d.Staging)
	}
	if d.Compute != nil {
		p.After = append(p.After, computeTables(d.Compute)...)
	}
	p.Details = []table{all}
	return p.write(w)
}
