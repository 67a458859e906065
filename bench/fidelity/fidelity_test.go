package fidelity

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/record"
)

func run(seed uint64, recovery float64, restarts1 int, zone map[string]float64, tl []record.Point) *Run {
	v := map[string]float64{"recovery_seconds.0 crash-cell cell-1": recovery, "restarts_by_crash_count.1": float64(restarts1)}
	for z, n := range zone {
		v["final_instances_zone."+z] = n
	}
	return &Run{Seed: seed, Values: v, Derived: &record.Derived{Timeline: tl}}
}

// Verdicts follow each metric's tolerance: recovery within max(10 %, 2 s), restarts
// and zones identical, the timeline's area within 5 % of desired instance-seconds.
func TestCompareVerdicts(t *testing.T) {
	tl := []record.Point{{T: 0, Desired: 10, Running: 10}}
	sim := []*Run{
		run(1, 20, 2, map[string]float64{"z1": 5, "z2": 5}, tl),
		run(2, 22, 2, map[string]float64{"z1": 5, "z2": 5}, tl),
	}
	// Real: recovery 23.5 (sim mean 21: diff 2.5 > max(2.35, 2) -> off); restarts equal;
	// z1 off by one; the timeline 1 instance short for 5 of 100 s: area 5/1000 = 0.5 %.
	realTL := []record.Point{{T: 0, Desired: 10, Running: 10}, {T: 50, Desired: 10, Running: 9}, {T: 55, Desired: 10, Running: 10}}
	real := []*Run{run(0, 23.5, 2, map[string]float64{"z1": 6, "z2": 4}, realTL)}
	rep := Compare("x", 100, sim, real)
	want := map[string]string{
		"recovery_seconds.0 crash-cell cell-1": "off",
		"restarts_by_crash_count.1":            "ok",
		"final_instances_zone.z1":              "off",
		"final_instances_zone.z2":              "off",
		"timeline_area":                        "ok",
	}
	for _, r := range rep.Rows {
		if w, ok := want[r.Metric]; ok && r.Verdict != w {
			t.Errorf("%s: verdict %s, want %s (sim %v real %v allowed %v)", r.Metric, r.Verdict, w, r.SimMean, r.RealMean, r.Allowed)
		}
		if r.Metric == "timeline_area" && math.Abs(float64(r.RealMean)-0.005) > 1e-9 {
			t.Errorf("timeline area %v, want 0.005", r.RealMean)
		}
	}
	if rep.Off != 3 {
		t.Errorf("off = %d, want 3", rep.Off)
	}
	// Recovery 22.9: diff 1.9 <= 2 -> ok.
	real[0].Values["recovery_seconds.0 crash-cell cell-1"] = 22.9
	for _, r := range Compare("x", 100, sim, real).Rows {
		if strings.HasPrefix(r.Metric, "recovery") && r.Verdict != "ok" {
			t.Errorf("recovery 22.9 against 21: %s", r.Verdict)
		}
	}
	// A fault recovered in no run on one side only is off; NaN is written as null.
	real[0].Values["recovery_seconds.0 crash-cell cell-1"] = math.NaN()
	rep = Compare("x", 100, sim, real)
	dir := t.TempDir()
	if err := Write(dir, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &struct{ Metrics []map[string]any }{}); err != nil {
		t.Fatalf("fidelity.json does not parse: %v", err)
	}
	if !strings.Contains(string(b), `"real_mean": null`) {
		t.Error("an undefined real mean is not written as null")
	}
	html, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil || !strings.Contains(string(html), "fidelity-timeline") || !strings.Contains(string(html), "recovery_seconds.0 crash-cell cell-1") {
		t.Errorf("fidelity.html lacks the timeline chart or the metric table (%v)", err)
	}
}
