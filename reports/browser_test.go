package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/internal/browsertest"
	"github.com/diegolab/diegolab/reports/internal/fixture"
	"github.com/diegolab/diegolab/scenarios"
)

// TestBrowser renders a run report and a comparison report in headless Chromium and
// checks that every chart painted its canvas, offline, without console errors.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(browsertest.ChromiumPath); err != nil {
		t.Skipf("chromium is not installed at %s (apt-get install -y chromium): skipping the browser test", browsertest.ChromiumPath)
	}
	asset, err := FindAsset()
	if err != nil {
		t.Fatal(err)
	}
	if !asset.Inline() {
		t.Fatalf("no %s to inline: run `make echarts` (reports/fetch-echarts.sh) or set %s", EChartsFile, EnvECharts)
	}
	base := t.TempDir()
	var dirs []string
	for i, alg := range []string{"diego", "best-fit", "best-fit"} {
		c := fixture.Small()
		c.Algorithm, c.Seed = alg, uint64(i+1)
		dir := filepath.Join(base, fmt.Sprintf("run%d", i+1))
		if err := fixture.Write(dir, c); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	o := Options{Asset: &asset, Warn: t.Output()}
	runReport := filepath.Join(base, "report.html")
	if err := WriteRun(dirs[0], runReport, o); err != nil {
		t.Fatal(err)
	}
	cmpReport := filepath.Join(base, "compare.html")
	if err := WriteCompare(dirs, cmpReport, o); err != nil {
		t.Fatal(err)
	}
	// A report of a real simulated run (quickstart): the screenshot the README shows.
	simDir := filepath.Join(base, "quickstart")
	if err := os.MkdirAll(simDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.LoadShipped("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := sim.New(sc, sim.Options{OutDir: simDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.Run(); err != nil {
		t.Fatal(err)
	}
	simReport := filepath.Join(base, "quickstart.html")
	if err := WriteRun(simDir, simReport, o); err != nil {
		t.Fatal(err)
	}
	// Staging: docker-unpredictable-scaling without and with the private image cache,
	// its run report and the comparison of the two.
	off := simRun(t, filepath.Join(base, "cache-off"), "docker-unpredictable-scaling", "docker_cache=false")
	on := simRun(t, filepath.Join(base, "cache-on"), "docker-unpredictable-scaling", "docker_cache=true")
	stagingReport := filepath.Join(base, "staging.html")
	if err := WriteRun(off, stagingReport, o); err != nil {
		t.Fatal(err)
	}
	cacheReport := filepath.Join(base, "cache-compare.html")
	if err := WriteCompare([]string{off, on}, cacheReport, o); err != nil {
		t.Fatal(err)
	}
	stagingIDs := []string{"push", "versions", "bytes"}
	for _, tc := range []struct {
		name, file string
		minCharts  int
		ids        []string // chart containers that must be there
	}{
		// cell map, 2 evenness, zones, timeline, failures, 2 auction histograms
		{"run", runReport, 8, nil},
		// 3 overlays + 8 kinds x 3 runs
		{"compare", cmpReport, 27, nil},
		{"quickstart", simReport, 8, nil},
		// the 8 charts + push latency, versions, bytes pulled
		{"staging", stagingReport, 11, stagingIDs},
		// 3 overlays + 11 kinds x 2 runs
		{"cache-compare", cacheReport, 25, []string{"r0-push", "r1-push", "r0-versions", "r1-versions", "r0-bytes", "r1-bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, errs, reqs, shot, full := browsertest.Browse(t, tc.file)
			art := t.ArtifactDir()
			if err := os.WriteFile(filepath.Join(art, tc.name+".png"), full, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", filepath.Join(art, tc.name+".png"))
			if tc.name == "quickstart" && *update {
				if err := os.WriteFile(filepath.Join("..", "docs", "report.png"), shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			browsertest.Check(t, st, errs, reqs, tc.minCharts, tc.ids)
		})
	}
}
