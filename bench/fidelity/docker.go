package fidelity

import (
	"strings"

	"github.com/diegolab/diegolab/record"
)

// Docker metrics: what the seed's three claims are about, from the summary's staging
// part (the simulator's bookkeeping; a live run's driver fills the same fields from
// what it watched, the reps' pull counters and the registries' counters, see
// real/scenario/docker.go), so both modes are read alike:
//
//	docker.digests_at_end.GUID   digests the app's running instances run at the end
//	docker.mixed_seconds.GUID    seconds two or more digests ran at once
//	docker.outage_start_failures instance starts that failed on their image
//	docker.credential_uses       credentials presented to the upstream (public) registry
//	docker.pushes_failed         pushes whose staging failed
//	docker.mb_pulled.SOURCE      MB instance starts pulled: public, private, cell_cache
//	docker.staging_seconds_p50   median staging time of the pushes
func measureDocker(s *record.Summary, v map[string]float64) {
	st := s.Staging
	if st == nil {
		return
	}
	docker := false
	for _, a := range st.Apps {
		if a.Lifecycle != "docker" {
			continue
		}
		docker = true
		n := 0
		for _, c := range a.DigestsAtEnd {
			if c > 0 {
				n++
			}
		}
		v["docker.digests_at_end."+a.ProcessGUID] = float64(n)
		v["docker.mixed_seconds."+a.ProcessGUID] = a.MixedSeconds
	}
	if docker {
		v["docker.outage_start_failures"] = float64(st.OutageStartFailures)
		v["docker.credential_uses"] = float64(st.CredentialUses)
		for _, k := range []string{"public", "private", "cell_cache"} {
			v["docker.mb_pulled."+k] = float64(st.BytesPulled[k]) / 1e6
		}
	}
	v["docker.pushes_failed"] = float64(st.Pushes.Failed)
	if st.Pushes.StagingSeconds.Count > 0 {
		v["docker.staging_seconds_p50"] = st.Pushes.StagingSeconds.P50
	}
}

// dockerTolerance is the tolerance of a docker.* metric (docs/fidelity.md).
func dockerTolerance(name string) Tolerance {
	switch {
	case strings.HasPrefix(name, "docker.digests_at_end."), name == "docker.outage_start_failures",
		name == "docker.credential_uses", name == "docker.pushes_failed":
		return Tolerance{Why: "issue goal: identical counts"}
	case strings.HasPrefix(name, "docker.mixed_seconds."):
		return Tolerance{Rel: 0.10, Abs: 3, Why: "within max(10 %, 3 s) of the real mean: the new digest's first start, live, includes a real pull and unpack"}
	case strings.HasPrefix(name, "docker.mb_pulled."):
		return Tolerance{Rel: 0.10, Abs: 1, Why: "within max(10 %, 1 MB): the same layers pulled by the same cells; layer headers and gzip framing add a little live"}
	case name == "docker.staging_seconds_p50":
		return Tolerance{Rel: 0.5, Abs: 1, Why: "within max(50 %, 1 s): the simulator's staging_time against a live resolve (and copy) over loopback"}
	}
	return Tolerance{Info: true, Why: "no goal: shown for calibration"}
}
