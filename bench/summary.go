package bench

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// GroupSummary is one line of summary.csv: a scenario x algorithm x setting cell of the
// matrix and, per metric, the mean and 95 % CI over its seeds.
type GroupSummary struct {
	Scenario, Algorithm, Settings string
	Seeds                         int
	Stats                         []Stat // in the spec's metric order
}

// Summarise groups results rows (with header ResultsHeader(metrics)) by the matrix
// cells of runs, in matrix order, over the rows that belong to runs. Cells without any
// row are left out.
func Summarise(runs []Run, metrics []string, rows [][]string) ([]GroupSummary, error) {
	byKey := map[string][]string{}
	for _, r := range rows {
		byKey[strings.Join(r[:keyColumns], "\x00")] = r
	}
	var out []GroupSummary
	index := map[string]int{}
	values := map[string][][]float64{}
	for _, r := range runs {
		row, ok := byKey[r.Key()]
		if !ok {
			continue
		}
		g := r.Group()
		if _, seen := index[g]; !seen {
			index[g] = len(out)
			out = append(out, GroupSummary{Scenario: r.Scenario, Algorithm: r.Algorithm, Settings: r.Settings})
			values[g] = make([][]float64, len(metrics))
		}
		out[index[g]].Seeds++
		for i := range metrics {
			text := row[fixedColumns+i]
			x, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %s = %q is not a number", r.Label(), metrics[i], text)
			}
			values[g][i] = append(values[g][i], x)
		}
	}
	for i := range out {
		g := runsGroup(out[i])
		for _, v := range values[g] {
			out[i].Stats = append(out[i].Stats, MeanCI(v))
		}
	}
	return out, nil
}

func runsGroup(g GroupSummary) string { return g.Scenario + "\x00" + g.Algorithm + "\x00" + g.Settings }

func writeSummaries(spec *Spec, runs []Run, dir string, header []string) error {
	path := filepath.Join(dir, ResultsFile)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = len(header)
	rows, err := cr.ReadAll()
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) > 0 {
		rows = rows[1:]
	}
	groups, err := Summarise(runs, spec.Metrics, rows)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := EncodeSummaryCSV(&buf, spec.Metrics, groups); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, SummaryCSV), buf.Bytes()); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, SummaryMD), []byte(SummaryMarkdown(spec, groups)))
}

// EncodeSummaryCSV writes summary.csv: scenario, algorithm, settings, seeds, then
// <metric>_mean and <metric>_ci95 for each metric.
func EncodeSummaryCSV(w *bytes.Buffer, metrics []string, groups []GroupSummary) error {
	cw := csv.NewWriter(w)
	head := []string{"scenario", "algorithm", "settings", "seeds"}
	for _, m := range metrics {
		head = append(head, m+"_mean", m+"_ci95")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, g := range groups {
		rec := []string{g.Scenario, g.Algorithm, g.Settings, strconv.Itoa(g.Seeds)}
		for _, st := range g.Stats {
			rec = append(rec, formatFloat(st.Mean), formatFloat(st.CI95))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SummaryMarkdown renders summary.md: one table per scenario, a row per algorithm x
// setting, "mean ± CI" per metric.
func SummaryMarkdown(spec *Spec, groups []GroupSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark %s\n\n", spec.Name)
	fmt.Fprintf(&b, "Mean and 95 %% confidence interval (Student t) over seeds; metrics are defined in docs/bench.md.\n")
	scen := ""
	for _, g := range groups {
		if g.Scenario != scen {
			scen = g.Scenario
			fmt.Fprintf(&b, "\n## %s\n\n| algorithm | settings | seeds |", scen)
			for _, m := range spec.Metrics {
				fmt.Fprintf(&b, " %s |", m)
			}
			b.WriteString("\n|---|---|---:|")
			for range spec.Metrics {
				b.WriteString("---:|")
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "| %s | %s | %d |", g.Algorithm, strings.ReplaceAll(g.Settings, "|", `\|`), g.Seeds)
		for _, st := range g.Stats {
			fmt.Fprintf(&b, " %s |", formatStat(st))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func formatStat(st Stat) string {
	switch {
	case math.IsNaN(st.Mean):
		return "n/a"
	case math.IsNaN(st.CI95):
		return fmt.Sprintf("%.4g", st.Mean)
	}
	return fmt.Sprintf("%.4g ± %.2g", st.Mean, st.CI95)
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
