package reports

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/diegolab/diegolab/record"
)

// MaxVersionApps is the most apps drawn in the versions chart; above it the apps that
// ran mixed versions longest are kept (the table of pushed apps lists them all).
const MaxVersionApps = 40

// Push phases, in the order they happen (docs/staging.md "The push flow").
var pushPhases = []string{"upload", "staging", "scheduling", "start"}

// Sources of bytes_pulled and kinds of bytes_staging in display order; other keys
// follow, sorted.
var (
	pulledOrder  = []string{"public", "private", "blobstore", "cell_cache"}
	stagingOrder = []string{"package_upload", "package_download", "droplet_upload", "image_copy"}
)

// StagingData is the staging part of a run (summary.json "staging", docs/staging.md):
// pushes and their phases, the versions running per app, and the bytes moved.
type StagingData struct {
	// OverTime is the instances per digest over the run (from version events; empty
	// when the run has no events.jsonl).
	OverTime []VersionSeries `json:",omitempty"`

	PushesStarted, PushesCompleted, PushesFailed int
	// Phases are upload, staging, scheduling and start, each with its own percentiles
	// over the pushes; Total is the whole push. Percentiles of phases do not add up
	// to the percentile of the total (means do, over pushes that went through all).
	Phases []PhaseLatency
	Total  PhaseLatency
	// ScaleUp: from a scale event on a pushed app to all its instances running.
	ScaleUp            PhaseLatency
	ScaleUpsUnfinished int
	// Apps are every pushed app, sorted by process guid.
	Apps []AppVersions
	// Digests are the digests running at the end in any app, sorted.
	Digests []string
	// Pulled is what instance starts fetched by source (public, private, blobstore,
	// cell_cache = not downloaded again); Staged is what staging moved, by kind.
	Pulled []ByteCount
	Staged []ByteCount
	// StagingFailures and StartFailures count failures by reason, sorted by reason;
	// OutageStartFailures are starts that failed because the registry was down.
	StagingFailures     []ReasonCount `json:",omitempty"`
	StartFailures       []ReasonCount `json:",omitempty"`
	OutageStartFailures int
	CredentialUses      int
}

// PhaseLatency is a push phase and its percentiles, in seconds.
type PhaseLatency struct {
	Phase string
	record.Percentiles
}

// AppVersions is one pushed app and the versions (image digests) it ran at the end.
type AppVersions struct {
	App          string
	Lifecycle    string
	Image        string `json:",omitempty"`
	DockerCache  bool
	StagedDigest string        `json:",omitempty"`
	Digests      []DigestCount // running instances per digest, sorted by digest
	Running      int
	Mixed        bool
	MixedSeconds float64
	PushSeconds  *float64
	PushFailure  string `json:",omitempty"`
}

// DigestCount is a digest and how many instances ran it at the end.
type DigestCount struct {
	Digest    string
	Instances int
}

// ByteCount is a number of bytes under a name.
type ByteCount struct {
	Name  string
	Bytes int64
}

// ReasonCount is a failure reason and how often it happened.
type ReasonCount struct {
	Reason string
	Count  int
}

// staging derives StagingData from the summary's staging section (nil gives nil).
// VersionSeries is the number of instances, over all pushed apps, that run one image
// digest (or droplet), as a step function: N[i] from T[i] until T[i+1].
type VersionSeries struct {
	Digest string
	T      []float64
	N      []int
}

// MaxVersionSeries bounds the digests drawn over time (the most-used ones are kept).
const MaxVersionSeries = 8

// versionsOverTime folds the version events (per app and digest counts) into one series
// per digest, summed over apps, ending at end. Digests are ordered by first appearance.
func versionsOverTime(events []record.Event, end float64) []VersionSeries {
	perApp := map[[2]string]int{} // (app, digest) -> instances
	total := map[string]int{}
	peak := map[string]int{}
	idx := map[string]int{}
	var out []VersionSeries
	for i := range events {
		e := &events[i]
		if e.Type != record.TypeVersion {
			continue
		}
		k := [2]string{e.ProcessGUID, e.Digest}
		total[e.Digest] += e.Instances - perApp[k]
		perApp[k] = e.Instances
		j, ok := idx[e.Digest]
		if !ok {
			j = len(out)
			idx[e.Digest] = j
			out = append(out, VersionSeries{Digest: e.Digest})
		}
		v := &out[j]
		n := total[e.Digest]
		if m := len(v.T); m > 0 && v.T[m-1] == e.T {
			v.N[m-1] = n // several changes at one instant: keep the last
		} else {
			v.T, v.N = append(v.T, e.T), append(v.N, n)
		}
		peak[e.Digest] = max(peak[e.Digest], n)
	}
	for i := range out {
		v := &out[i]
		if m := len(v.T); m > 0 && v.T[m-1] < end {
			v.T, v.N = append(v.T, end), append(v.N, v.N[m-1])
		}
	}
	if len(out) > MaxVersionSeries {
		slices.SortStableFunc(out, func(a, b VersionSeries) int { return peak[b.Digest] - peak[a.Digest] })
		out = out[:MaxVersionSeries]
	}
	return out
}

func staging(s *record.StagingSummary) *StagingData {
	if s == nil {
		return nil
	}
	p := s.Pushes
	d := &StagingData{
		PushesStarted: p.Started, PushesCompleted: p.Completed, PushesFailed: p.Failed,
		Phases: []PhaseLatency{{"upload", p.UploadSeconds}, {"staging", p.StagingSeconds},
			{"scheduling", p.SchedulingSeconds}, {"start", p.StartSeconds}},
		Total:   PhaseLatency{"total", p.TotalSeconds},
		ScaleUp: PhaseLatency{"scale-up", s.ScaleUpSeconds}, ScaleUpsUnfinished: s.ScaleUpsUnfinished,
		Pulled: byteCounts(s.BytesPulled, pulledOrder, true), Staged: byteCounts(s.BytesStaging, stagingOrder, false),
		StagingFailures: reasonCounts(s.StagingFailures), StartFailures: reasonCounts(s.StartFailures),
		OutageStartFailures: s.OutageStartFailures, CredentialUses: s.CredentialUses,
	}
	digests := map[string]bool{}
	for _, a := range s.Apps {
		v := AppVersions{App: a.ProcessGUID, Lifecycle: a.Lifecycle, Image: a.Image, DockerCache: a.DockerCache,
			StagedDigest: a.StagedDigest, Mixed: a.MixedVersions, MixedSeconds: a.MixedSeconds,
			PushSeconds: a.PushSeconds, PushFailure: a.PushFailure}
		for _, dg := range sortedKeys(a.DigestsAtEnd) {
			n := a.DigestsAtEnd[dg]
			if n <= 0 {
				continue
			}
			v.Digests = append(v.Digests, DigestCount{dg, n})
			v.Running += n
			digests[dg] = true
		}
		d.Apps = append(d.Apps, v)
	}
	sort.SliceStable(d.Apps, func(i, j int) bool { return d.Apps[i].App < d.Apps[j].App })
	d.Digests = sortedKeys(digests)
	return d
}

// byteCounts lists m in the given order, then any other key sorted. all keeps the
// ordered names even when m lacks them (as 0), so runs line up side by side.
func byteCounts(m map[string]int64, order []string, all bool) []ByteCount {
	var out []ByteCount
	known := map[string]bool{}
	for _, k := range order {
		known[k] = true
		if v, ok := m[k]; ok || all {
			out = append(out, ByteCount{k, v})
		}
	}
	for _, k := range sortedKeys(m) {
		if !known[k] {
			out = append(out, ByteCount{k, m[k]})
		}
	}
	return out
}

func reasonCounts(m map[string]int) []ReasonCount {
	var out []ReasonCount
	for _, k := range sortedKeys(m) {
		out = append(out, ReasonCount{k, m[k]})
	}
	return out
}

// versionApps returns the apps the versions chart draws: all of them up to
// MaxVersionApps, else those mixed longest (then with most digests, then by name),
// back in guid order; and how many were left out.
func (d *StagingData) versionApps() ([]AppVersions, int) {
	if len(d.Apps) <= MaxVersionApps {
		return d.Apps, 0
	}
	apps := append([]AppVersions(nil), d.Apps...)
	sort.SliceStable(apps, func(i, j int) bool {
		a, b := apps[i], apps[j]
		if a.MixedSeconds != b.MixedSeconds {
			return a.MixedSeconds > b.MixedSeconds
		}
		if len(a.Digests) != len(b.Digests) {
			return len(a.Digests) > len(b.Digests)
		}
		return a.App < b.App
	})
	apps = apps[:MaxVersionApps]
	sort.SliceStable(apps, func(i, j int) bool { return apps[i].App < apps[j].App })
	return apps, len(d.Apps) - MaxVersionApps
}

// dockerCache describes the image policy of a run's docker apps: "" without docker
// apps, "on", "off", or "on for k of n docker apps".
func (d *StagingData) dockerCache() string {
	if d == nil {
		return ""
	}
	n, on := 0, 0
	for _, a := range d.Apps {
		if a.Lifecycle == "docker" {
			n++
			if a.DockerCache {
				on++
			}
		}
	}
	switch {
	case n == 0:
		return ""
	case on == n:
		return "on"
	case on == 0:
		return "off"
	}
	return fmt.Sprintf("on for %d of %d docker apps", on, n)
}

// byteUnit picks MB or GB (decimal, as summary.json counts bytes) for a maximum.
func byteUnit(max float64) (string, float64) {
	if max >= 10e9 {
		return "GB", 1e9
	}
	return "MB", 1e6
}

// niceCeil rounds x > 0 up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of
// ten (0 stays 0), so shared axis maxima get round tick labels.
func niceCeil(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	e := int(math.Floor(math.Log10(x)))
	scale := func(m float64) float64 { // m * 10^e, correctly rounded for e < 0 too
		if e < 0 {
			return m / math.Pow10(-e)
		}
		return m * math.Pow10(e)
	}
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8} {
		if v := scale(m); v >= x*(1-1e-12) {
			return v
		}
	}
	return scale(10)
}

// stagingTables are the staging figures and the pushed apps of one run.
func stagingTables(d *StagingData) []table {
	fig := table{Caption: "Staging figures", Head: []string{"figure", "value"}}
	add := func(name string, v float64) { fig.Rows = append(fig.Rows, []cell{{Text: name}, numCell(v)}) }
	add("pushes started", float64(d.PushesStarted))
	add("pushes completed", float64(d.PushesCompleted))
	add("pushes failed", float64(d.PushesFailed))
	add("push total p50 (s)", d.Total.P50)
	add("push total p99 (s)", d.Total.P99)
	if d.ScaleUp.Count > 0 || d.ScaleUpsUnfinished > 0 {
		add("scale-ups", float64(d.ScaleUp.Count))
		add("scale-up p50 (s)", d.ScaleUp.P50)
		add("scale-up max (s)", d.ScaleUp.Max)
		add("scale-ups unfinished", float64(d.ScaleUpsUnfinished))
	}
	add("starts failed during a registry outage", float64(d.OutageStartFailures))
	add("credential uses", float64(d.CredentialUses))
	for _, r := range d.StagingFailures {
		add("staging failures: "+r.Reason, float64(r.Count))
	}
	for _, r := range d.StartFailures {
		add("start failures: "+r.Reason, float64(r.Count))
	}
	apps := table{Caption: fmt.Sprintf("Pushed apps (%d)", len(d.Apps)),
		Head: []string{"app", "lifecycle", "image", "docker cache", "staged digest", "running at end by digest", "mixed versions (s)", "push (s)"}}
	for _, a := range d.Apps {
		var lines []string
		for _, dg := range a.Digests {
			lines = append(lines, fmt.Sprintf("%s: %d", dg.Digest, dg.Instances))
		}
		if len(lines) == 0 {
			lines = []string{"none running"}
		}
		cache := ""
		if a.Lifecycle == "docker" {
			cache = map[bool]string{true: "on", false: "off"}[a.DockerCache]
		}
		push := cell{Text: "unfinished"}
		switch {
		case a.PushFailure != "":
			push = cell{Text: "failed: " + a.PushFailure}
		case a.PushSeconds != nil:
			push = numCell(*a.PushSeconds)
		}
		mixed := cell{Text: "no", Class: "num"}
		if a.Mixed {
			mixed = numCell(a.MixedSeconds)
		}
		apps.Rows = append(apps.Rows, []cell{{Text: a.App}, {Text: a.Lifecycle}, {Text: a.Image}, {Text: cache},
			{Text: a.StagedDigest}, {Lines: lines}, mixed, push})
	}
	return []table{fig, apps}
}

// label of a byte count in the charts.
func byteLabel(name string, staging bool) string {
	if staging {
		return "staging: " + strings.ReplaceAll(name, "_", " ")
	}
	if name == "cell_cache" {
		return "cell cache (not downloaded)"
	}
	return name
}
