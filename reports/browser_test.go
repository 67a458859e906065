package reports

import (
	"context"
	"fmt"
	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/scenarios"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/diegolab/diegolab/reports/internal/fixture"
)

const chromiumPath = "/usr/bin/chromium"

// chartState is what the page reports about one chart container.
type chartState struct {
	ID      string `json:"id"`
	Canvas  bool   `json:"canvas"`
	W       int    `json:"w"`
	H       int    `json:"h"`
	Painted int    `json:"painted"` // pixels that are neither transparent nor near-white
}

type pageState struct {
	Expected int          `json:"expected"`
	Charts   []chartState `json:"charts"`
	Warning  bool         `json:"warning"`
	// ScrollWidth and ClientWidth of the document element: a page wider than the
	// viewport has a horizontal scrollbar.
	ScrollWidth int `json:"scrollWidth"`
	ClientWidth int `json:"clientWidth"`
}

// inspectJS reads every chart container's canvas back with getImageData.
const inspectJS = `(() => {
  const out = [];
  for (const el of document.querySelectorAll('.chart')) {
    const c = el.querySelector('canvas');
    const r = {id: el.id, canvas: !!c, w: 0, h: 0, painted: 0};
    if (c && c.width > 0 && c.height > 0) {
      r.w = c.width; r.h = c.height;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i+3] > 0 && (d[i] < 235 || d[i+1] < 235 || d[i+2] < 235)) n++;
      }
      r.painted = n;
    }
    out.push(r);
  }
  const de = document.documentElement;
  return {expected: Number(document.body.dataset.charts), charts: out, warning: !!document.getElementById('asset-warning'),
    scrollWidth: de.scrollWidth, clientWidth: de.clientWidth};
})()`

// browse opens file in headless Chromium with networking disabled, waits until every
// chart has painted, and returns the page state, the console errors, the requests
// that were not file:// or data: URLs, and a screenshot of the first screen.
func browse(t *testing.T, file string) (pageState, []string, []string, []byte, []byte) {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var consoleErrors, requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				consoleErrors = append(consoleErrors, "console."+string(e.Type)+": "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			consoleErrors = append(consoleErrors, "exception: "+msg)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				consoleErrors = append(consoleErrors, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			u := e.Request.URL
			if !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "data:") {
				requests = append(requests, u)
			}
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	offline := network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{
		{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, offline); err != nil {
		t.Fatalf("disable networking: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1600), chromedp.Navigate("file://"+file)); err != nil {
		t.Fatalf("open %s: %v", file, err)
	}
	var st pageState
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		st, err = chromedp.Run(ctx, chromedp.Evaluate[pageState](inspectJS))
		if err != nil {
			t.Fatalf("inspect %s: %v", file, err)
		}
		if allPainted(st) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	full, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("full screenshot: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return st, append([]string(nil), consoleErrors...), append([]string(nil), requests...), shot, full
}

func allPainted(st pageState) bool {
	if st.Expected == 0 || len(st.Charts) != st.Expected {
		return false
	}
	for _, c := range st.Charts {
		if !c.Canvas || c.W == 0 || c.H == 0 || c.Painted*100 < c.W*c.H {
			return false
		}
	}
	return true
}

// TestBrowser renders a run report and a comparison report in headless Chromium and
// checks that every chart painted its canvas, offline, without console errors.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("chromium is not installed at %s (apt-get install -y chromium): skipping the browser test", chromiumPath)
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
			st, errs, reqs, shot, full := browse(t, tc.file)
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
			if st.Expected < tc.minCharts || len(st.Charts) != st.Expected {
				t.Errorf("page declares %d charts and has %d containers, want >= %d", st.Expected, len(st.Charts), tc.minCharts)
			}
			for _, c := range st.Charts {
				if !c.Canvas || c.W == 0 || c.H == 0 {
					t.Errorf("chart %s: no canvas (canvas=%v, %dx%d)", c.ID, c.Canvas, c.W, c.H)
				} else if c.Painted*100 < c.W*c.H {
					t.Errorf("chart %s: only %d of %dx%d pixels painted (want >= 1%%)", c.ID, c.Painted, c.W, c.H)
				}
			}
			have := map[string]bool{}
			for _, c := range st.Charts {
				have[c.ID] = true
			}
			for _, id := range tc.ids {
				if !have[id] {
					t.Errorf("no chart %s", id)
				}
			}
			if st.ClientWidth == 0 || st.ScrollWidth > st.ClientWidth {
				t.Errorf("page is %d px wide in a %d px viewport: horizontal scrollbar", st.ScrollWidth, st.ClientWidth)
			}
			if st.Warning {
				t.Errorf("page shows the missing-asset warning although ECharts was inlined")
			}
			if len(errs) > 0 {
				t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
			}
			if len(reqs) > 0 {
				t.Errorf("the report requested non-local URLs: %v", reqs)
			}
		})
	}
}
