package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// simRun runs a shipped scenario with overrides into a fresh directory and returns it.
func simRun(t testing.TB, dir, name string, overrides ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.LoadShipped(name, overrides...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGoldenStaging pins the staging data of a real simulated run of
// docker-unpredictable-scaling (8 cells, one docker app, 1 h, ~1,200 events) with the
// private image cache off and on.
func TestGoldenStaging(t *testing.T) {
	for _, tc := range []struct {
		cache string
		// What docs/staging.md says the scenario shows.
		digests int
		mixed   bool
		public  bool // bytes pulled from the public registry
	}{
		// Off: the 8 instances of the scale-up resolve the moved tag: 4 old + 8 new.
		{"false", 2, true, true},
		// On: every instance runs the staged digest from the private registry.
		{"true", 1, false, false},
	} {
		t.Run("docker_cache="+tc.cache, func(t *testing.T) {
			dir := simRun(t, filepath.Join(t.TempDir(), "run"), "docker-unpredictable-scaling", "docker_cache="+tc.cache)
			d, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			s := d.Staging
			if s == nil {
				t.Fatal("no staging data for a run that pushes a docker app")
			}
			golden(t, "staging-cache-"+tc.cache, s)
			if len(s.Apps) != 1 || len(s.Apps[0].Digests) != tc.digests || s.Apps[0].Mixed != tc.mixed || s.Apps[0].Running != 12 {
				t.Errorf("apps = %+v; want web-0 with 12 running on %d digests, mixed %v", s.Apps, tc.digests, tc.mixed)
			}
			if public := s.Pulled[0]; public.Name != "public" || (public.Bytes > 0) != tc.public {
				t.Errorf("pulled[0] = %+v; want public, non-zero %v", public, tc.public)
			}
			wantCache := map[string]string{"false": "off", "true": "on"}[tc.cache]
			if d.Header.DockerCache != wantCache {
				t.Errorf("docker cache %q, want %q", d.Header.DockerCache, wantCache)
			}
			var buf bytes.Buffer
			if err := RenderRun(&buf, d, Asset{JS: []byte("var echarts;")}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{`id="push"`, `id="versions"`, `id="bytes"`, "Pushed apps (1)"} {
				if !strings.Contains(buf.String(), id) {
					t.Errorf("report lacks %s", id)
				}
			}
		})
	}
}

// TestNoStagingNoCharts: a run without a staging section has no staging charts.
func TestNoStagingNoCharts(t *testing.T) {
	d, err := Compute(&record.Run{Summary: &record.Summary{Scenario: "plain"}, Cells: []record.CellRow{{CellID: "c1", Zone: "z1"}}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Staging != nil || d.Header.DockerCache != "" {
		t.Fatalf("staging = %+v, docker cache %q; want nil and empty", d.Staging, d.Header.DockerCache)
	}
	for _, c := range runCharts("", d, scaleOf([]*RunData{d})) {
		if c.ID == "push" || c.ID == "versions" || c.ID == "bytes" {
			t.Errorf("chart %s drawn without staging data", c.ID)
		}
	}
}

func TestStagingData(t *testing.T) {
	secs := 12.5
	s := &record.StagingSummary{
		Apps: []record.AppStaging{
			{ProcessGUID: "b", Lifecycle: "docker", DockerCache: true, DigestsAtEnd: map[string]int{"sha256:2": 3, "sha256:1": 0}, PushSeconds: &secs},
			{ProcessGUID: "a", Lifecycle: "buildpack", PushFailure: "STAGING_ERROR"},
			{ProcessGUID: "c", Lifecycle: "docker", DigestsAtEnd: map[string]int{"sha256:1": 2, "sha256:2": 1}, MixedVersions: true, MixedSeconds: 30},
		},
		BytesPulled:     map[string]int64{"public": 5, "cell_cache": 7, "other": 1},
		BytesStaging:    map[string]int64{"image_copy": 9},
		StagingFailures: map[string]int{"STAGING_ERROR: x": 1, "INSUFFICIENT_RESOURCES: y": 2},
	}
	d := staging(s)
	// Apps sorted by guid; instance counts of 0 dropped; digests sorted.
	if got := []string{d.Apps[0].App, d.Apps[1].App, d.Apps[2].App}; !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("apps %v, want a b c", got)
	}
	if d.Apps[1].Running != 3 || len(d.Apps[1].Digests) != 1 || d.Apps[2].Running != 3 {
		t.Errorf("apps = %+v", d.Apps)
	}
	if !cmp.Equal(d.Digests, []string{"sha256:1", "sha256:2"}) {
		t.Errorf("digests %v", d.Digests)
	}
	// Pulled: the four known sources in order (absent = 0), then other keys sorted;
	// staging: only the kinds present.
	wantPulled := []ByteCount{{"public", 5}, {"private", 0}, {"blobstore", 0}, {"cell_cache", 7}, {"other", 1}}
	if diff := cmp.Diff(wantPulled, d.Pulled); diff != "" {
		t.Errorf("pulled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ByteCount{{"image_copy", 9}}, d.Staged); diff != "" {
		t.Errorf("staged (-want +got):\n%s", diff)
	}
	if d.StagingFailures[0].Reason != "INSUFFICIENT_RESOURCES: y" {
		t.Errorf("staging failures not sorted: %v", d.StagingFailures)
	}
	// Two docker apps, one with the cache on.
	if got := d.dockerCache(); got != "on for 1 of 2 docker apps" {
		t.Errorf("dockerCache = %q", got)
	}
	if staging(nil) != nil || (*StagingData)(nil).dockerCache() != "" {
		t.Errorf("nil staging must give nil data and no docker cache")
	}
	// The push chart's tallest stack: phases all 0 here, so the total's max.
	d.Total.Max = 40
	if m := pushMax(d); m != 40 {
		t.Errorf("pushMax = %v, want 40", m)
	}
}

func TestVersionAppsCapped(t *testing.T) {
	// MaxVersionApps+5 apps; app-00007 and app-00030 ran mixed (30 s and 10 s), so they
	// are kept first; the rest fill up by name: app-00000 … and the 5 last are dropped.
	s := &record.StagingSummary{}
	n := MaxVersionApps + 5
	for i := 0; i < n; i++ {
		a := record.AppStaging{ProcessGUID: fmt.Sprintf("app-%05d", i), Lifecycle: "docker", DigestsAtEnd: map[string]int{"d1": 1}}
		switch i {
		case 7:
			a.MixedVersions, a.MixedSeconds = true, 30
		case n - 1:
			a.MixedVersions, a.MixedSeconds = true, 10
		}
		s.Apps = append(s.Apps, a)
	}
	apps, omitted := staging(s).versionApps()
	if len(apps) != MaxVersionApps || omitted != 5 {
		t.Fatalf("%d apps, %d omitted; want %d and 5", len(apps), omitted, MaxVersionApps)
	}
	if apps[len(apps)-1].App != fmt.Sprintf("app-%05d", n-1) || apps[len(apps)-2].App != fmt.Sprintf("app-%05d", MaxVersionApps-2) {
		t.Errorf("kept apps end with %s, %s", apps[len(apps)-2].App, apps[len(apps)-1].App)
	}
	spec := versionsChart("v", staging(s), chartScale{})
	if !strings.Contains(spec.Option, fmt.Sprintf("the %d apps mixed longest of %d", MaxVersionApps, n)) {
		t.Errorf("versions chart does not say apps were left out")
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ x, want float64 }{
		{0, 0}, {-1, 0}, {1, 1}, {1.2, 1.2}, {1.3, 1.5}, {2.1, 2.5}, {3.5, 4}, {7, 8}, {8.5, 10}, {16.49, 20}, {1216e6, 1500e6}, {0.03, 0.03}, {0.031, 0.04},
	} {
		if got := niceCeil(tc.x); got != tc.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

// TestSettingsTable: settings show as one row each, not as one JSON string.
func TestSettingsTable(t *testing.T) {
	run := &record.Run{Summary: &record.Summary{Scenario: "s", Settings: map[string]any{
		"b_flag": true, "a_num": 0.25, "c_text": "x<y", "d_list": []any{1.0, "z"}}},
		Cells: []record.CellRow{{CellID: "c1", Zone: "z1"}}}
	d, err := Compute(run, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{{"a_num", "0.25"}, {"b_flag", "true"}, {"c_text", "x<y"}, {"d_list", `[1,"z"]`}}
	if diff := cmp.Diff(want, d.Header.SettingList); diff != "" {
		t.Errorf("setting list (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := RenderRun(&buf, d, Asset{}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if !strings.Contains(html, `<th>a_num</th><td><code>0.25</code></td>`) || !strings.Contains(html, "x&lt;y") {
		t.Errorf("settings are not a key/value table with escaped values")
	}
	if strings.Contains(html, d.Header.Settings) || strings.Contains(html, "&#34;a_num&#34;") {
		t.Errorf("the page still shows the settings as one JSON string")
	}
}

// TestCacheRunsNotReplications: the same scenario and seed with the cache off and on
// are two configurations (summary settings carry docker_cache), not seed replications;
// two runs with the cache off are.
func TestCacheRunsNotReplications(t *testing.T) {
	base := t.TempDir()
	var runs []*RunData
	for i, cache := range []string{"false", "true", "false"} {
		d, err := Load(simRun(t, filepath.Join(base, fmt.Sprint(i)), "docker-unpredictable-scaling", "docker_cache="+cache))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, d)
	}
	if runs[0].Header.Settings == runs[1].Header.Settings || !strings.Contains(runs[1].Header.Settings, `"docker_cache":true`) {
		t.Fatalf("settings %s vs %s: want docker_cache to tell the runs apart", runs[0].Header.Settings, runs[1].Header.Settings)
	}
	c := Compare(runs)
	if len(c.Groups) != 1 || !cmp.Equal(c.Groups[0].Runs, []int{0, 2}) || !strings.HasSuffix(c.Groups[0].Key, "docker cache off") {
		t.Errorf("groups = %+v; want one group of runs 0 and 2 (cache off)", c.Groups)
	}
	sc := scaleOf(runs)
	// Shared axes: push totals 16.49 s (off) and 12.89 s (on) -> 20 s; bytes: the
	// largest bar is 1,216 MB pulled from the public registry -> 1,500 MB; 12 instances.
	if sc.PushSeconds != 20 || sc.Bytes != 1500e6 || sc.Instances != 12 || !cmp.Equal(sc.Staged, []string{"image_copy"}) || len(sc.Digests) != 2 {
		t.Errorf("scale = %+v", sc)
	}
}
