package live

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/internal/browsertest"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/reports"
)

// TestLiveRecordReport: a live 2-cell cluster runs an app, is scaled past its capacity
// (placement failures) and back; its run record (Record, as `live record` does) has the
// five files of a simulated run's record, and `diegolab report` paints every chart of it
// in headless Chromium, as the reports' browser test checks for simulated runs. Then
// `live down` writes the record too, and `report` and `compare` take it.
func TestLiveRecordReport(t *testing.T) {
	requireHost(t)
	if _, err := os.Stat(browsertest.ChromiumPath); err != nil {
		t.Skipf("skipping: chromium is not installed at %s (apt-get install -y chromium)", browsertest.ChromiumPath)
	}
	asset, err := reports.FindAsset()
	if err != nil {
		t.Fatal(err)
	}
	if !asset.Inline() {
		t.Fatalf("no %s to inline: run `make echarts` (reports/fetch-echarts.sh) or set %s", reports.EChartsFile, reports.EnvECharts)
	}
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	bin, _ := buildBinaries(t)
	phase("binaries built")
	dir := t.TempDir()
	ctx := context.Background()
	o := e2eTimers
	o.Dir, o.Binary = dir, bin
	if _, err := Up(ctx, o); err != nil {
		t.Fatal(err)
	}
	downed := false
	t.Cleanup(func() {
		if !downed {
			_ = Down(context.Background(), dir, 10*time.Second)
		}
	})
	up := time.Now()
	phase("cluster up")
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(cfg.URL, cfg.Token, 10*time.Second)

	// 256 MB instances on two 1 GB cells: 8 fit, so 10 leave two failing placement.
	if _, err := Push(ctx, cl, "web", "../../examples/static", PushOptions{Instances: 3, MemoryMB: 256, DiskMB: 64, Buildpack: "static", Timeout: 60 * time.Second}); err != nil {
		t.Fatal(err)
	}
	scale := func(n int) {
		t.Helper()
		if err := cl.Do(ctx, http.MethodPost, "/v1/apps/web/scale", api.ScaleRequest{Instances: new(n)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	phase("pushed")
	scale(10)
	waitFor(t, "8 instances running, 2 failing placement", 30*time.Second, func() bool {
		running, failed := 0, 0
		for _, in := range appDetail(t, cl, "web").InstancesDetail {
			switch {
			case in.State == "RUNNING":
				running++
			case in.PlacementError != "":
				failed++
			}
		}
		return running == 8 && failed == 2
	})
	scale(4)
	if _, err := WaitRunning(ctx, cl, "web", 0, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Past one sampling interval (10 s), so the timeline has more than one sample.
	if d := 12*time.Second - time.Since(up); d > 0 {
		time.Sleep(d)
	}

	phase("scaled to 10 and back to 4")
	out := filepath.Join(t.TempDir(), "live")
	if err := Record(ctx, dir, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{record.SummaryFile, record.EventsFile, record.CellsFile, record.PlacementsFile, record.TimeseriesFile} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	run, err := record.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	placed := 0
	for _, p := range run.Placements {
		placed += p.Instances
	}
	if s := run.Summary; s.Mode != "real" || s.Cells != 2 || s.DesiredInstances != 4 || s.RunningInstances != 4 ||
		s.Auction.LRPsFailed < 2 || len(run.Cells) != 2 || placed != 4 || len(run.Timeseries) < 2 {
		t.Errorf("record: summary %+v, %d cells, %d instances placed, %d samples", s, len(run.Cells), placed, len(run.Timeseries))
	}

	html := filepath.Join(out, "report.html")
	if err := reports.WriteRun(out, html, reports.Options{Asset: &asset, Warn: t.Output()}); err != nil {
		t.Fatal(err)
	}
	phase("recorded")
	st, errs, reqs, _, full := browsertest.Browse(t, html)
	phase("report browsed")
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "live.png"), full, 0o644); err != nil {
		t.Fatal(err)
	}
	// cell map, 2 evenness, zones, timeline, placement failures, 2 auction histograms
	browsertest.Check(t, st, errs, reqs, 8, []string{"cellmap", "zones", "timeline", "failures", "batch", "wait"})

	// `live down` writes the record into the cluster directory before stopping it.
	downed = true
	cmd := exec.Command(bin, "live", "down", "--dir", dir, "--timeout", "10s")
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "run record: "+filepath.Join(dir, RecordDir)) {
		t.Fatalf("live down: %v\n%s", err, b)
	}
	phase("live down")
	for _, args := range [][]string{
		{"report", filepath.Join(dir, RecordDir)},
		{"compare", out, filepath.Join(dir, RecordDir), "-o", filepath.Join(t.TempDir(), "compare.html")},
	} {
		if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Errorf("diegolab %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
}
