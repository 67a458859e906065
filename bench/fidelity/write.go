package fidelity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/reports"
)

// Files written into the output directory.
const (
	JSONFile = "fidelity.json"
	HTMLFile = "fidelity.html"
)

// Write writes fidelity.json and fidelity.html (self-contained when the ECharts asset
// is available) into dir.
func Write(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	asset, _ := reports.FindAsset() // without it the page links the library and says so
	var buf bytes.Buffer
	if err := reports.RenderFidelity(&buf, view(rep), asset); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, HTMLFile), buf.Bytes(), 0o644)
}

func view(rep *Report) reports.FidelityView {
	seeds := make([]string, len(rep.SimSeeds))
	for i, s := range rep.SimSeeds {
		seeds[i] = strconv.FormatUint(s, 10)
	}
	v := reports.FidelityView{
		Title:    "Fidelity: " + rep.Scenario,
		Subtitle: "the simulator against live runs of the same scenario file (docs/fidelity.md)",
		Header: [][2]string{{"scenario", rep.Scenario}, {"duration", fmt.Sprintf("%gs", rep.Duration)},
			{"simulated seeds", strings.Join(seeds, " ")}, {"live runs", strconv.Itoa(len(rep.RealDirs))},
			{"metrics off tolerance", strconv.Itoa(rep.Off)}},
	}
	if c := rep.Calibration; c != nil {
		start := fmt.Sprintf("start overhead: first start of an index mean %.3fs stddev %.3fs, later starts mean %.3fs stddev %.3fs",
			c.FirstStartMean, c.FirstStartStddev, c.StartMean, c.StartStddev)
		if c.StartModel == StartModelQueue {
			start = fmt.Sprintf("start queue: the starts of %s share it, %d at full speed, service mean %.3fs stddev %.3fs", scopeWords(c.Queue.Scope), c.Queue.Concurrency, c.Queue.ServiceMean, c.Queue.ServiceStddev)
		}
		v.Header = append(v.Header, [2]string{"calibration (measured live, applied to the simulation)",
			fmt.Sprintf("%s; auction latency %.3fs; heartbeats spread; per-instance draws", start, c.AuctionLatency)})
	}
	if rep.Off > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d metric(s) outside their tolerance (verdict off).", rep.Off))
	}
	for _, r := range rep.Rows {
		sim := f(r.SimMean)
		if !math.IsNaN(float64(r.SimCI95)) && r.SimN > 1 {
			sim += " ± " + f(r.SimCI95)
		}
		real := f(r.RealMean)
		if r.RealN > 1 {
			real += " [" + f(r.RealMin) + ", " + f(r.RealMax) + "]"
		}
		v.Rows = append(v.Rows, reports.FidelityRow{Metric: r.Metric, Sim: sim, Real: real, Diff: f(r.Diff),
			Allowed: f(r.Allowed), Verdict: r.Verdict, Why: r.Why})
	}
	for i := range rep.SimMean.Running {
		v.T = append(v.T, float64(i)*rep.Step)
	}
	v.Series = append(v.Series, reports.FidelitySeries{Name: "desired", Y: rep.SimMean.Desired},
		reports.FidelitySeries{Name: rep.SimMean.Label, Y: rep.SimMean.Running, Area: true})
	for _, c := range rep.Real {
		v.Series = append(v.Series, reports.FidelitySeries{Name: c.Label, Y: c.Running})
	}
	return v
}

func f(n Num) string {
	x := float64(n)
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}
