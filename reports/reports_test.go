package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/reports/internal/fixture"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json (and docs/report.png in TestBrowser)")

// golden compares v, as indented JSON, with testdata/name.golden.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got); if intended, run go test ./reports -update:\n%s", path, d)
	}
}

func writeFixture(t *testing.T, name string, c fixture.Config) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := fixture.Write(dir, c); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGoldenRun(t *testing.T) {
	d, err := Load(writeFixture(t, "small", fixture.Small()))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "run", d)
}

func TestGoldenCompare(t *testing.T) {
	var runs []*RunData
	for i, alg := range []string{"diego", "best-fit", "best-fit"} {
		c := fixture.Small()
		c.Algorithm, c.Seed = alg, uint64(i+1)
		d, err := Load(writeFixture(t, "run"+alg+string(rune('0'+i)), c))
		if err != nil {
			t.Fatal(err)
		}
		d.Header.Dir = "" // temp paths would make the labels differ between runs
		runs = append(runs, d)
	}
	golden(t, "compare", Compare(runs))
}

// TestOptionalFilesAbsent: a run record with only the required files still gives a
// report, with notes instead of the charts that need the missing files.
func TestOptionalFilesAbsent(t *testing.T) {
	c := fixture.Small()
	c.NoEvents, c.NoTimeseries = true, true
	dir := writeFixture(t, "bare", c)
	if err := os.Remove(filepath.Join(dir, record.PlacementsFile)); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Timeline != nil || d.Failures != nil || d.Auction != nil {
		t.Errorf("timeline, failures, auction = %v, %v, %v; want all nil", d.Timeline, d.Failures, d.Auction)
	}
	if len(d.Notes) != 3 {
		t.Errorf("notes = %q, want 3 (placements, timeseries, events)", d.Notes)
	}
	if len(d.Zones.Apps) != 0 {
		t.Errorf("zone balance has %d apps without placements.csv", len(d.Zones.Apps))
	}
	var buf bytes.Buffer
	if err := RenderRun(&buf, d, Asset{JS: []byte("var echarts;")}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, id := range []string{`id="cellmap"`, `id="even-inst"`, `id="even-mem"`} {
		if !strings.Contains(html, id) {
			t.Errorf("report lacks %s", id)
		}
	}
	for _, id := range []string{`id="timeline"`, `id="failures"`, `id="zones"`, `id="batch"`} {
		if strings.Contains(html, id) {
			t.Errorf("report has %s without its input file", id)
		}
	}
	if !strings.Contains(html, `data-charts="3"`) {
		t.Errorf("report does not declare 3 charts")
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) = %v, want an error naming %s", err, missing)
	}
	empty := t.TempDir()
	_, err := Load(empty)
	if !errors.Is(err, ErrNotRunRecord) || !strings.Contains(err.Error(), empty) {
		t.Errorf("Load(empty dir) = %v, want ErrNotRunRecord naming %s", err, empty)
	}
	bad := writeFixture(t, "bad", fixture.Small())
	if err := os.WriteFile(filepath.Join(bad, record.EventsFile), []byte("{\"t\":1}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Load(bad events) = %v, want an error naming line 2", err)
	}
}

// TestZeroRun: a run with no instances and zero capacities must not divide by zero.
func TestZeroRun(t *testing.T) {
	run := &record.Run{Summary: &record.Summary{Scenario: "empty"},
		Cells: []record.CellRow{{CellID: "c1", Zone: "z1"}}, Timeseries: []record.Sample{{}}}
	d, err := Compute(run, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if m, dk, c := d.CellMap.Tiles[0].Fractions(); m != 0 || dk != 0 || c != 0 {
		t.Errorf("fractions = %v %v %v, want 0", m, dk, c)
	}
	if d.Evenness.Instances.CoV != 0 {
		t.Errorf("CoV = %v, want 0 for a zero mean", d.Evenness.Instances.CoV)
	}
	if d.Auction.Batches != 0 || d.Failures.Total != 0 {
		t.Errorf("auction/failures = %+v %+v, want empty", d.Auction, d.Failures)
	}
	var buf bytes.Buffer
	if err := RenderRun(&buf, d, Asset{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<script src="echarts.min.js">`) || !strings.Contains(buf.String(), "asset-warning") {
		t.Errorf("report without an asset must link echarts.min.js and say so")
	}
	var empty bytes.Buffer
	if err := RenderCompare(&empty, []*RunData{d}, Asset{}); err == nil {
		t.Errorf("RenderCompare with one run: want an error")
	}
}

func TestWriteRunWarnsWithoutAsset(t *testing.T) {
	dir := writeFixture(t, "small", fixture.Small())
	var warn bytes.Buffer
	out := filepath.Join(t.TempDir(), "r.html")
	if err := WriteRun(dir, out, Options{Asset: &Asset{}, Warn: &warn}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), out) || !strings.Contains(warn.String(), EChartsFile) {
		t.Errorf("warning %q should name the report and %s", warn.String(), EChartsFile)
	}
}

func TestCellMapAggregates(t *testing.T) {
	// 2 zones x 2,500 cells = 5,000 cells > MaxTiles (2,000): ceil(5000/2000) = 3 cells
	// per tile, so each zone has ceil(2500/3) = 834 tiles, the last holding 2500-833*3 = 1.
	var cells []record.CellRow
	for i := 0; i < 5000; i++ {
		cells = append(cells, record.CellRow{CellID: fmt.Sprintf("cell-%05d", i),
			Zone: []string{"z1", "z2"}[i%2], MemoryMB: 100, MemoryUsedMB: 50, Instances: 1})
	}
	d := cellMap(cells, nil)
	if d.CellsPerTile != 3 || len(d.Tiles) != 2*834 {
		t.Fatalf("cells per tile %d, tiles %d; want 3 and %d", d.CellsPerTile, len(d.Tiles), 2*834)
	}
	if last := d.Tiles[833]; last.Cells != 1 || last.MemoryMB != 100 {
		t.Errorf("last tile of z1 = %+v, want 1 cell", last)
	}
	if d.Tiles[0].Cells != 3 || d.Tiles[0].MemoryUsedMB != 150 || d.Tiles[0].Instances != 3 {
		t.Errorf("first tile = %+v, want 3 cells, 150 MB used, 3 instances", d.Tiles[0])
	}
	if d.Zones[1].FirstRow != d.Zones[0].Rows+1 {
		t.Errorf("zone z2 starts at row %d, want %d (one gap row)", d.Zones[1].FirstRow, d.Zones[0].Rows+1)
	}
}

func TestDistribution(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		x                     []float64
		mean, stddev, cov     float64
		points                int
		first, last, quantile float64
	}{
		// mean (2+4+4+4+5+5+7+9)/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
		// population stddev sqrt(32/8) = 2; CoV 2/5 = 0.4.
		{"textbook", []float64{9, 2, 4, 4, 4, 5, 5, 7}, 5, 2, 0.4, 8, 2, 9, 1.0 / 7},
		{"empty", nil, 0, 0, 0, 0, 0, 0, 0},
		{"zeros", []float64{0, 0}, 0, 0, 0, 2, 0, 0, 1},
		// 0..2999: downsampled to MaxPoints order statistics, first and last kept;
		// the second point is rank round(1*2999/999) = 3.
		{"downsampled", seq(3000), 1499.5, math.Sqrt((3000*3000 - 1) / 12.0), math.Sqrt((3000*3000-1)/12.0) / 1499.5, MaxPoints, 0, 2999, 3.0 / 2999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := distribution(tc.x)
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if !near(d.Mean, tc.mean) || !near(d.Stddev, tc.stddev) || !near(d.CoV, tc.cov) {
				t.Errorf("mean, stddev, cov = %v, %v, %v; want %v, %v, %v", d.Mean, d.Stddev, d.CoV, tc.mean, tc.stddev, tc.cov)
			}
			if len(d.Points) != tc.points {
				t.Fatalf("%d points, want %d", len(d.Points), tc.points)
			}
			if tc.points > 1 && (d.Points[0] != tc.first || d.Points[len(d.Points)-1] != tc.last || !near(d.Quantiles[1], tc.quantile)) {
				t.Errorf("first %v last %v q[1] %v; want %v %v %v", d.Points[0], d.Points[len(d.Points)-1], d.Quantiles[1], tc.first, tc.last, tc.quantile)
			}
		})
	}
}

func seq(n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(n - 1 - i)
	}
	return x
}

func TestHistogram(t *testing.T) {
	for _, tc := range []struct {
		name    string
		x       []float64
		integer bool
		edges   []float64
		counts  []int
	}{
		// 9 values: ceil(sqrt 9) = 3 bins; integers 1..9 span 9 values, width ceil(9/3) = 3.
		{"integers", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, true, []float64{1, 4, 7, 10}, []int{3, 3, 3}},
		// 4 values: 2 bins of (3-0)/2 = 1.5; the maximum falls in the last bin.
		{"floats", []float64{0, 1, 2, 3}, false, []float64{0, 1.5, 3}, []int{2, 2}},
		{"constant", []float64{2, 2}, false, []float64{2, 3}, []int{2}},
		{"empty", nil, false, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := histogram(tc.x, tc.integer)
			if d := cmp.Diff(Histogram{Edges: tc.edges, Counts: tc.counts}, h); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestMeanCI(t *testing.T) {
	// x = 1, 2, 3: mean 2, sample stddev 1; t(0.975, 2 df) = 4.302653 (tables), so the
	// half-width is 4.302653 * 1 / sqrt(3) = 2.484138.
	s := meanCI("m", []float64{1, 2, 3})
	if s.N != 3 || s.Mean != 2 || math.Abs(s.Stddev-1) > 1e-12 || math.Abs(s.CI95-2.484138) > 1e-6 {
		t.Errorf("meanCI = %+v, want n 3, mean 2, stddev 1, CI95 2.484138", s)
	}
}

func TestFlatten(t *testing.T) {
	got, err := Flatten(map[string]any{"a": 1, "b": map[string]any{"c": 2.5, "d": "text", "e": true}, "f": []any{3, nil}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"a": 1, "b.c": 2.5, "b.e": 1, "f.0": 3}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestScriptSafe: run data that contains "</script>" cannot end the chart script.
func TestScriptSafe(t *testing.T) {
	tile := CellTile{Label: "</script><script>alert(1)</script>", TopApps: []AppCount{{"<b>x</b>", 1}}}
	spec := cellMapChart("m", CellMapData{Columns: 1, Rows: 1, CellsPerTile: 1, Zones: []ZoneBand{{Zone: "</script>", Rows: 1, Cells: 1}}, Tiles: []CellTile{tile}})
	var buf bytes.Buffer
	p := &page{Title: "t", Asset: Asset{JS: []byte("var echarts;")}, Rows: []chartRow{{Charts: []chartSpec{spec}}}}
	if err := p.write(&buf); err != nil {
		t.Fatal(err)
	}
	// Two script elements (the library, then the tips and the chart options): the
	// run data must not add a third closing tag.
	if n := strings.Count(strings.ToLower(buf.String()), "</script"); n != 2 {
		t.Errorf("%d </script occurrences, want 2 (the closing tags)", n)
	}
}

// TestDeterministic: the same run records give byte-identical reports.
func TestDeterministic(t *testing.T) {
	a := writeFixture(t, "a", fixture.Small())
	c := fixture.Small()
	c.Seed = 7
	b := writeFixture(t, "b", c)
	asset := Asset{JS: []byte("var echarts;")}
	o := Options{Asset: &asset}
	out := t.TempDir()
	for _, tc := range []struct {
		name  string
		write func(file string) error
	}{
		{"run", func(f string) error { return WriteRun(a, f, o) }},
		{"compare", func(f string) error { return WriteCompare([]string{a, b}, f, o) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [2][]byte
			for i := range got {
				f := filepath.Join(out, fmt.Sprintf("%s%d.html", tc.name, i))
				if err := tc.write(f); err != nil {
					t.Fatal(err)
				}
				var err error
				if got[i], err = os.ReadFile(f); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got[0], got[1]) {
				t.Errorf("two builds of the same %s report differ", tc.name)
			}
		})
	}
}

func TestRenderCurves(t *testing.T) {
	var b strings.Builder
	cs := []CurveChart{{Title: "default", Series: []CurveSeries{{Name: "fgd", Y: []float64{0.01, 0.02, 0.0299}}, {Name: "random", Y: []float64{0.01}}}}}
	if err := RenderCurves(&b, "fgd-reproduction", cs, Asset{}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{"<title>fgd-reproduction</title>", `id="curve-0"`, `"name":"fgd"`, `"name":"random"`, "[3,2.99]", `data-charts="1"`} {
		if !strings.Contains(html, want) {
			t.Errorf("curves page lacks %q", want)
		}
	}
}
