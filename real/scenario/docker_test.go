package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/live"
	"github.com/diegolab/diegolab/scenarios"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The same scenario image builds the same digest; a new version keeps its shared
// layers byte for byte and changes the others; sizes follow the scale.
func TestImagesAreDeterministic(t *testing.T) {
	base, err := workloadLayer([]byte("#!/bin/sh\n"), map[string][]byte{"web-1": []byte("{}"), "web-0": []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	v0, err := fillers("acme/web:latest", 0, []float64{2, 1, 0.5}, nil, 0, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if v0[0].bytes != 1_000_000 || v0[1].bytes != 500_000 || v0[2].bytes != 250_000 {
		t.Errorf("sizes at scale 0.5: %+v", v0)
	}
	v1f, err := fillers("acme/web:latest", 1, []float64{2, 1, 0.6}, v0, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if v1f[0] != v0[0] || v1f[1] != v0[1] || v1f[2] == v0[2] || v1f[2].bytes != 300_000 {
		t.Errorf("version 1 %+v of version 0 %+v: want the first two kept, the third new", v1f, v0)
	}
	digest := func(fs []filler) (string, []v1.Hash) {
		img, err := buildImage([]v1.Layer{base}, fs)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var hs []v1.Hash
		for _, l := range ls {
			h, _ := l.Digest()
			hs = append(hs, h)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cf.Config.Entrypoint, " "); got != "/workload/workload" {
			t.Errorf("entrypoint %q", got)
		}
		return d.String(), hs
	}
	a, la := digest(v0)
	b, _ := digest(v0)
	c, lc := digest(v1f)
	if a != b {
		t.Errorf("the same image built twice: %s, %s", a, b)
	}
	if a == c {
		t.Error("version 1 has version 0's digest")
	}
	for i := range 3 {
		if (la[i] == lc[i]) != (i < 3) { // base + 2 shared layers
			t.Errorf("layer %d: %v vs %v", i, la[i], lc[i])
		}
	}
	if la[3] == lc[3] {
		t.Error("the changed layer has the same digest")
	}
	if _, err := fillers("x:1", 0, []float64{5000}, nil, 0, 1); err == nil || !strings.Contains(err.Error(), "--image-scale") {
		t.Errorf("a 5 GB layer: %v", err)
	}
	if got := startCommand("web-0"); got != "/workload/workload -config /workload/apps/web-0.json" {
		t.Errorf("start command %q", got)
	}
}

// Images too large to build in memory are refused with the scale that fits.
func TestCheckImages(t *testing.T) {
	sc, err := scenarios.Parse("big.toml", []byte(base+`
[[images]]
name = "acme/big"
layers = [900, 300]
`))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckImages(sc, 1)
	if err == nil || !strings.Contains(err.Error(), "1200 MB is beyond the 1024 MB") || !strings.Contains(err.Error(), "--image-scale 0.853") {
		t.Errorf("a 1200 MB image: %v", err)
	}
	if err := CheckImages(sc, 0.5); err != nil {
		t.Errorf("at scale 0.5: %v", err)
	}
	if err := CheckImages(sc, 0); err == nil {
		t.Error("scale 0 accepted")
	}
}

// The four Docker scenarios run live within the limits a command line can set;
// docker-pull-cost's scale to 500 instances is beyond any machine limit of this host
// and is refused with the limit.
func TestCheckDockerScenarios(t *testing.T) {
	hour := Limits{Cells: 8, Instances: 60, Duration: time.Hour}
	for _, tc := range []struct {
		file      string
		overrides []string
		refuse    string
	}{
		{"docker-unpredictable-scaling", nil, ""},
		{"registry-outage", []string{"cells.cell.count=8"}, ""},
		{"private-image", nil, ""},
		{"docker-pull-cost", []string{"cells.cell.count=8"}, "500 instances at once is beyond this machine's limit of 60 containers"},
	} {
		sc, err := scenarios.Load("../../scenarios/"+tc.file+".toml", tc.overrides...)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(sc, hour)
		switch {
		case tc.refuse == "" && err != nil:
			t.Errorf("%s refused: %v", tc.file, err)
		case tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), tc.refuse)):
			t.Errorf("%s: %v, want %q", tc.file, err, tc.refuse)
		}
		if err := CheckImages(sc, 1); err != nil {
			t.Errorf("%s images: %v", tc.file, err)
		}
	}
}

// The stack and workload layers come off the bytes pulled: once downloaded per cell,
// cached at each later pull.
func TestScenarioBytes(t *testing.T) {
	const base = 6_000_000
	dr := &live.DockerRecord{Cells: []live.DockerCell{
		{Cell: "cell-0", BytesPulled: map[string]int64{"public": 32_000_000}, Pulls: map[string]int64{"ok": 1}},
		{Cell: "cell-1", BytesPulled: map[string]int64{"public": 33_000_000, "cell_cache": 30_000_000}, Pulls: map[string]int64{"ok": 2}},
		{Cell: "cell-2", BytesPulled: map[string]int64{"public": 500, "private": 31_000_000, "cell_cache": 36_000_000}, Pulls: map[string]int64{"ok": 3, "failed": 4}},
		{Cell: "cell-3", Pulls: map[string]int64{"failed": 2}},
	}}
	got := scenarioBytes(dr, base)
	want := map[string]int64{"public": 26_000_000 + 27_000_000 + 500, "private": 25_000_000, "cell_cache": 24_000_000 + 24_000_000}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d", k, got[k], v)
		}
	}
}
