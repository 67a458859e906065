package sim_test

import (
	"fmt"
	"math"
	"testing"
)

// tagMoves: a docker app stages, its tag moves at 5m, the public registry goes down
// (at the first %s, for the second), and the app scales from 3 to 9 at 7m.
const tagMoves = `
[run]
duration = "30m"
[[cells]]
count = 6
zones = ["z1", "z2"]
memory_mb = 16384
disk_mb = 32768
[[images]]
name = "acme/web"
tag = "latest"
layers = [50, 10]
[[apps]]
name = "web"
instances = 3
memory_mb = 256
disk_mb = 512
docker_image = "acme/web:latest"
start_time = "3s"
[[events]]
at = "5m"
action = "push-image"
image = "acme/web:latest"
layers = [50, 12]
[[events]]
at = "%s"
action = "registry-outage"
duration = "%s"
[[events]]
at = "7m"
action = "scale"
app = "web-0"
instances = 9
`

// Cache on: every instance runs the staged digest although the tag moved and the
// public registry is down during the scale-up. Cache off (registry up): instances
// started after the move run the new digest.
func TestDockerCacheSemantics(t *testing.T) {
	t.Run("cache on: one digest through a tag move and an outage", func(t *testing.T) {
		sc := parse(t, fmt.Sprintf(tagMoves, "6m", "14m"), "docker_cache=true")
		_, sum := run(t, sc, true)
		st := sum.Staging
		if st == nil || len(st.Apps) != 1 {
			t.Fatalf("seed %d: staging summary %+v", sc.Seed, st)
		}
		a := st.Apps[0]
		if len(a.DigestsAtEnd) != 1 || a.DigestsAtEnd[a.StagedDigest] != 9 || a.MixedVersions {
			t.Errorf("seed %d: digests %v (staged %s), mixed %v; want 9 on the staged digest, never mixed", sc.Seed, a.DigestsAtEnd, a.StagedDigest, a.MixedVersions)
		}
		if st.OutageStartFailures != 0 || st.BytesPulled["public"] != 0 {
			t.Errorf("seed %d: %d outage failures, %d public bytes; want 0 and 0", sc.Seed, st.OutageStartFailures, st.BytesPulled["public"])
		}
		// The scale-up finished during the outage: well under its 13 minutes left.
		if st.ScaleUpSeconds.Count != 1 || st.ScaleUpSeconds.Max > 60 {
			t.Errorf("seed %d: scale-up %+v, want one under 60 s", sc.Seed, st.ScaleUpSeconds)
		}
	})
	t.Run("cache off: new starts get the new digest", func(t *testing.T) {
		// The outage is moved past the end of the scale-up (at 25m for 1m).
		sc := parse(t, fmt.Sprintf(tagMoves, "25m", "1m"), "docker_cache=false")
		_, sum := run(t, sc, true)
		a := sum.Staging.Apps[0]
		if len(a.DigestsAtEnd) != 2 || !a.MixedVersions || a.MixedSeconds <= 0 {
			t.Fatalf("seed %d: digests %v mixed %v %.0fs; want two digests, mixed", sc.Seed, a.DigestsAtEnd, a.MixedVersions, a.MixedSeconds)
		}
		counts := []int{}
		for _, n := range a.DigestsAtEnd {
			counts = append(counts, n)
		}
		if counts[0]+counts[1] != 9 || (counts[0] != 3 && counts[1] != 3) {
			t.Errorf("seed %d: digests %v, want 3 old + 6 new", sc.Seed, a.DigestsAtEnd)
		}
		// mixed from the first new instance (~7m) to the end (30m): about 23 minutes.
		if math.Abs(a.MixedSeconds-23*60) > 30 {
			t.Errorf("seed %d: mixed for %.0fs, want about %d", sc.Seed, a.MixedSeconds, 23*60)
		}
	})
	t.Run("cache off during the outage: starts fail until it ends", func(t *testing.T) {
		sc := parse(t, fmt.Sprintf(tagMoves, "6m", "14m"), "docker_cache=false")
		_, sum := run(t, sc, true)
		st := sum.Staging
		if st.OutageStartFailures == 0 {
			t.Errorf("seed %d: no start failed during the outage", sc.Seed)
		}
		// The registry returns at 20m: the scale-up from 7m cannot end before 13 min.
		if st.ScaleUpSeconds.Count != 1 || st.ScaleUpSeconds.Max < 13*60 {
			t.Errorf("seed %d: scale-up %+v, want one >= 780 s", sc.Seed, st.ScaleUpSeconds)
		}
		if sum.RunningInstances != 9 {
			t.Errorf("seed %d: running %d at the end, want 9", sc.Seed, sum.RunningInstances)
		}
	})
}

// Layers already on a cell are not downloaded again: one cell, 5 instances, one pull.
func TestCellCacheCostsNothing(t *testing.T) {
	sc := parse(t, `
[run]
duration = "10m"
[[cells]]
count = 1
memory_mb = 16384
disk_mb = 32768
[[images]]
name = "acme/web"
layers = [30, 20]
[[apps]]
name = "web"
instances = 5
memory_mb = 256
disk_mb = 512
docker_image = "acme/web:latest"
`)
	_, sum := run(t, sc, true)
	st := sum.Staging
	// 5 starts of a 50 MB image on one cell: 50 MB from the registry, 4 x 50 MB cached.
	if st.BytesPulled["public"] != 50e6 || st.BytesPulled["cell_cache"] != 200e6 {
		t.Errorf("seed %d: pulled %v, want public 50 MB and cell_cache 200 MB", sc.Seed, st.BytesPulled)
	}
}

// The push phases add up to the total, and the push completes only when every
// instance runs.
func TestPushPhases(t *testing.T) {
	sc := parse(t, `
[run]
duration = "20m"
[[cells]]
count = 4
memory_mb = 16384
disk_mb = 32768
[[apps]]
name = "api"
count = 3
instances = 4
memory_mb = 512
disk_mb = 1024
buildpack = "go_buildpack"
package_mb = 30
staging_time = {dist = "uniform", min = "20s", max = "60s"}
start_time = {dist = "uniform", min = "2s", max = "9s"}
`)
	_, sum := run(t, sc, true)
	p := sum.Staging.Pushes
	if p.Started != 3 || p.Completed != 3 || p.Failed != 0 {
		t.Fatalf("seed %d: pushes %+v, want 3 completed", sc.Seed, p)
	}
	phases := p.UploadSeconds.Mean + p.StagingSeconds.Mean + p.SchedulingSeconds.Mean + p.StartSeconds.Mean
	if math.Abs(phases-p.TotalSeconds.Mean) > 1e-5 {
		t.Errorf("seed %d: phase means add to %.6f, total mean %.6f", sc.Seed, phases, p.TotalSeconds.Mean)
	}
	// Upload: 30 MB at the 100 Mbit/s client link (12.5 MB/s) = 2.4 s; the three pushes
	// of the same code each upload it (none finished before the others matched).
	if p.UploadSeconds.P50 < 2.4-1e-6 || p.StagingSeconds.P50 < 20 {
		t.Errorf("seed %d: upload %+v staging %+v; want >= 2.4 s and >= 20 s", sc.Seed, p.UploadSeconds, p.StagingSeconds)
	}
	for _, a := range sum.Staging.Apps {
		if a.PushSeconds == nil {
			t.Fatalf("seed %d: push of %s unfinished", sc.Seed, a.ProcessGUID)
		}
		if a.DigestsAtEnd == nil || sumOf(a.DigestsAtEnd) != 4 {
			t.Errorf("seed %d: %s runs %v at the end, want 4 instances", sc.Seed, a.ProcessGUID, a.DigestsAtEnd)
		}
	}
	// A push whose instances cannot all run never completes: 4 instances of 10 GB on
	// cells of 16 GB (one fits per cell) with only 3 cells.
	sc2 := parse(t, `
[run]
duration = "10m"
[[cells]]
count = 3
memory_mb = 16384
disk_mb = 32768
[[apps]]
name = "big"
instances = 4
memory_mb = 10240
disk_mb = 1024
buildpack = "go_buildpack"
`)
	_, sum2 := run(t, sc2, true)
	if p := sum2.Staging.Pushes; p.Completed != 0 || sum2.Staging.Apps[0].PushSeconds != nil || sum2.RunningInstances != 3 {
		t.Errorf("seed %d: pushes %+v, running %d; want no completed push with 3 of 4 running", sc2.Seed, p, sum2.RunningInstances)
	}
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
