// Package browsertest renders an HTML report in headless Chromium, offline, and checks
// that every chart painted its canvas: the reports' browser test and real mode's
// record test share it.
package browsertest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where the test expects Chromium (apt-get install -y chromium).
const ChromiumPath = "/usr/bin/chromium"

// Chart is what the page reports about one chart container.
type Chart struct {
	ID      string `json:"id"`
	Canvas  bool   `json:"canvas"`
	W       int    `json:"w"`
	H       int    `json:"h"`
	Painted int    `json:"painted"` // pixels that are neither transparent nor near-white
}

// Page is the state of a report page: the charts it declares and what each painted.
type Page struct {
	Expected int     `json:"expected"`
	Charts   []Chart `json:"charts"`
	Warning  bool    `json:"warning"`
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

// Browse opens file in headless Chromium with networking disabled, waits until every
// chart has painted, and returns the page state, the console errors, the requests
// that were not file:// or data: URLs, and a screenshot of the first screen.
func Browse(t testing.TB, file string) (Page, []string, []string, []byte, []byte) {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath),
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
	var st Page
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		st, err = chromedp.Run(ctx, chromedp.Evaluate[Page](inspectJS))
		if err != nil {
			t.Fatalf("inspect %s: %v", file, err)
		}
		if st.AllPainted() || time.Now().After(deadline) {
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

// AllPainted reports whether every declared chart painted at least 1% of its canvas.
func (st Page) AllPainted() bool {
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

// Check fails t unless the page declares at least minCharts charts and has them all,
// every chart painted, the charts named ids among them, no horizontal scrollbar, no
// missing-asset warning, no console error and no request for a non-local URL.
func Check(t testing.TB, st Page, errs, reqs []string, minCharts int, ids []string) {
	t.Helper()
	if st.Expected < minCharts || len(st.Charts) != st.Expected {
		t.Errorf("page declares %d charts and has %d containers, want >= %d", st.Expected, len(st.Charts), minCharts)
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
	for _, id := range ids {
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
}
