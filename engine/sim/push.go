package sim

import (
	"math"
	"slices"
	"time"

	"github.com/diegolab/diegolab/model/stage"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// stagedApp is one pushed app: its push, droplet, versions running, and scale-ups.
type stagedApp struct {
	id     int32
	guid   string
	index  int
	group  *scenarios.AppGroup
	pushes int
	job    *stagingJob

	droplet *stage.Droplet
	failure string

	// the push (cf push): start, then the end of each phase (0 = not reached)
	pushAt, uploaded, staged, placed, running time.Duration
	pushDone, pushFailed                      bool
	claimed                                   []bool
	nClaimed                                  int

	digests     map[string]int // running containers per digest
	mixed       bool
	everMixed   bool
	mixedSince  time.Duration
	mixedTotal  time.Duration
	scaleAt     time.Duration
	scaleTarget int
	scaling     bool
}

type stagingMetrics struct {
	pulled          map[string]float64
	staging         map[string]float64
	upload, stg     []float64
	sched, start    []float64
	total, scaleUps []float64
	started, done   int
	failed          int
	failures        map[string]int
	startFailures   map[string]int
	outageFailures  int
	credentialUses  int
}

func (m *stagingMetrics) init() {
	m.pulled = map[string]float64{"public": 0, "private": 0, "blobstore": 0, "cell_cache": 0}
	m.staging = map[string]float64{}
	m.failures = map[string]int{}
	m.startFailures = map[string]int{}
}

// pushApps is the hook in desireApps for a pushed group: each app is pushed (upload,
// stage, then desire) instead of desired at once. False for other groups.
func (s *Sim) pushApps(now time.Duration, gi int) bool {
	g := &s.sc.Apps[gi]
	if s.stg == nil || g.Staging == nil {
		return false
	}
	for i := 0; i < g.Count; i++ {
		guid := g.DesiredLRP(i).ProcessGUID
		id := s.apps.id(guid)
		s.appBehaviour(id, g)
		ap := &stagedApp{id: id, guid: guid, index: i, group: g, pushAt: now, digests: map[string]int{}}
		s.stg.apps[id] = ap
		s.stg.appOrder = append(s.stg.appOrder, id)
		s.stg.m.started++
		s.upload(now, ap)
	}
	return true
}

// upload: resource matching, then the missing files go up over the developer's link to
// the blobstore; buildpack apps only (a docker push uploads nothing).
func (s *Sim) upload(now time.Duration, ap *stagedApp) {
	st := ap.group.Staging
	if st.Lifecycle != stage.Buildpack {
		ap.uploaded = now
		s.stageApp(now, ap)
		return
	}
	pkg, err := stage.SyntheticPackage(ap.group.Name, st.PackageFiles, int64(st.PackageMB*1e6))
	if err != nil {
		s.fail(err)
		return
	}
	missing, bytes := s.stg.resources.Match(pkg)
	if bytes == 0 {
		ap.uploaded = now
		s.stageApp(now, ap)
		return
	}
	w := s.stg
	s.startFlow(now, float64(bytes), mbps(s.sc.Network.ClientMbps), func(now time.Duration) {
		w.resources.Store(missing)
		w.m.staging["package_upload"] += float64(bytes)
		ap.uploaded = now
		s.stageApp(now, ap)
	}, w.regs[w.blob].link)
}

// stagingOutcome records a staging's end: the LRP is desired, or the push fails.
func (s *Sim) stagingOutcome(now time.Duration, ap *stagedApp, o stage.Outcome) {
	ap.staged = now
	if o.Failure != nil {
		ap.failure = o.Failure.ID
		ap.pushFailed = true
		s.stg.m.failed++
		s.stg.m.failures[o.Failure.ID+": "+o.Failure.Reason]++
		return
	}
	ap.droplet = o.Droplet
	ap.claimed = make([]bool, o.Desire.Instances)
	if err := s.plane.DesireLRP(now, *o.Desire); err != nil {
		s.fail(err)
		return
	}
	s.checkRunning(now, ap)
}

// stgClaimed: an instance of ap got a container (scheduling phase).
func (s *Sim) stgClaimed(now time.Duration, ap *stagedApp, index int) {
	if index < len(ap.claimed) && !ap.claimed[index] {
		ap.claimed[index] = true
		ap.nClaimed++
		if ap.nClaimed == len(ap.claimed) && ap.placed == 0 {
			ap.placed = now
		}
	}
}

// stgUp / stgDown are the hooks in containerStart and deleteContainer.
func (s *Sim) stgUp(now time.Duration, id int32) {
	if s.stg == nil {
		return
	}
	ct := &s.containers.items[id]
	ap := s.stg.apps[ct.app]
	if ap == nil {
		return
	}
	if r, ok := s.stg.ctDigest[id]; ok && r.gen == ct.gen {
		ap.digests[r.digest]++
		s.events.WriteVersion(now, ap.guid, r.digest, ap.digests[r.digest])
		s.versionsChanged(now, ap)
	}
	s.checkRunning(now, ap)
}

func (s *Sim) stgDown(now time.Duration, id int32) {
	if s.stg == nil {
		return
	}
	ct := &s.containers.items[id]
	r, ok := s.stg.ctDigest[id]
	if !ok || r.gen != ct.gen {
		return
	}
	delete(s.stg.ctDigest, id)
	ap := s.stg.apps[ct.app]
	if ap == nil || !ct.Started() {
		return
	}
	ap.digests[r.digest]--
	s.events.WriteVersion(now, ap.guid, r.digest, ap.digests[r.digest])
	if ap.digests[r.digest] == 0 {
		delete(ap.digests, r.digest)
	}
	s.versionsChanged(now, ap)
}

func (s *Sim) versionsChanged(now time.Duration, ap *stagedApp) {
	mixed := len(ap.digests) > 1
	switch {
	case mixed && !ap.mixed:
		ap.mixed, ap.everMixed, ap.mixedSince = true, true, now
	case !mixed && ap.mixed:
		ap.mixed = false
		ap.mixedTotal += now - ap.mixedSince
	}
}

// allRunning reports whether every desired index of the app has a running container.
func (s *Sim) allRunning(ap *stagedApp) bool {
	want := int(s.apps.desired[ap.id])
	run := s.apps.slots(ap.id)
	if want == 0 || len(run) < want {
		return false
	}
	for i := 0; i < want; i++ {
		if run[i].running == 0 {
			return false
		}
	}
	return true
}

// checkRunning completes the push and a pending scale-up once all instances run.
func (s *Sim) checkRunning(now time.Duration, ap *stagedApp) {
	if !s.allRunning(ap) {
		return
	}
	if ap.droplet != nil && !ap.pushDone && !ap.pushFailed {
		ap.pushDone, ap.running = true, now
		if ap.placed == 0 {
			ap.placed = now
		}
		m := &s.stg.m
		m.done++
		m.upload = append(m.upload, (ap.uploaded - ap.pushAt).Seconds())
		m.stg = append(m.stg, (ap.staged - ap.uploaded).Seconds())
		m.sched = append(m.sched, (ap.placed - ap.staged).Seconds())
		m.start = append(m.start, (ap.running - ap.placed).Seconds())
		m.total = append(m.total, (ap.running - ap.pushAt).Seconds())
	}
	if ap.scaling {
		ap.scaling = false
		s.stg.m.scaleUps = append(s.stg.m.scaleUps, (now - ap.scaleAt).Seconds())
	}
}

// stgScaled is the hook in the scale action: a scale-up of a pushed app is timed to
// all-running.
func (s *Sim) stgScaled(now time.Duration, guid string, instances int) {
	if s.stg == nil {
		return
	}
	ap := s.stg.apps[s.apps.id(guid)]
	if ap == nil || ap.droplet == nil {
		return
	}
	for len(ap.claimed) < instances {
		ap.claimed = append(ap.claimed, false)
	}
	if instances > ap.scaleTarget && !s.allRunningAt(ap, instances) {
		ap.scaling, ap.scaleAt = true, now
	}
	ap.scaleTarget = instances
}

func (s *Sim) allRunningAt(ap *stagedApp, n int) bool {
	run := s.apps.slots(ap.id)
	if len(run) < n {
		return false
	}
	for i := 0; i < n; i++ {
		if run[i].running == 0 {
			return false
		}
	}
	return true
}

// stagingTimeline carries out push-image and registry-outage; false for other actions.
func (s *Sim) stagingTimeline(now time.Duration, ev *scenarios.Event) (string, bool) {
	switch ev.Action {
	case scenarios.ActionPushImage:
		if s.stg != nil {
			ref, _ := stage.ParseImageRef(ev.Image)
			if im := s.stg.image(ref); im != nil {
				s.stg.newVersion(im, ev.LayersMB, ev.SharedLayers)
				return ev.Image + " -> " + im.current().digest, true
			}
		}
		return ev.Image, true
	case scenarios.ActionRegistryOutage:
		if s.stg != nil {
			for i := range s.stg.regs {
				if r := &s.stg.regs[i]; r.Name == ev.Registry {
					r.downUntil = max(r.downUntil, now+ev.Duration)
				}
			}
		}
		return ev.Registry + " for " + ev.Duration.String(), true
	}
	return "", false
}

// stagingSummary is summary.json's "staging" section; nil when nothing is pushed.
func (s *Sim) stagingSummary(end time.Duration) *record.StagingSummary {
	w := s.stg
	if w == nil {
		return nil
	}
	m := &w.m
	out := &record.StagingSummary{
		BytesPulled:         roundBytes(m.pulled),
		BytesStaging:        roundBytes(m.staging),
		ScaleUpSeconds:      percentiles(m.scaleUps),
		StagingFailures:     m.failures,
		StartFailures:       m.startFailures,
		OutageStartFailures: m.outageFailures,
		CredentialUses:      m.credentialUses,
		Pushes: record.PushSummary{
			Started: m.started, Completed: m.done, Failed: m.failed,
			UploadSeconds: percentiles(m.upload), StagingSeconds: percentiles(m.stg),
			SchedulingSeconds: percentiles(m.sched), StartSeconds: percentiles(m.start),
			TotalSeconds: percentiles(m.total),
		},
	}
	order := slices.Clone(w.appOrder)
	slices.SortFunc(order, func(a, b int32) int {
		ga, gb := w.apps[a].guid, w.apps[b].guid
		switch {
		case ga < gb:
			return -1
		case ga > gb:
			return 1
		}
		return 0
	})
	for _, id := range order {
		ap := w.apps[id]
		if ap.scaling {
			out.ScaleUpsUnfinished++
		}
		st := ap.group.Staging
		a := record.AppStaging{
			ProcessGUID: ap.guid, Lifecycle: st.Lifecycle.String(), DockerCache: st.DockerCache,
			DigestsAtEnd: map[string]int{}, MixedVersions: ap.everMixed, PushFailure: ap.failure,
		}
		if st.Lifecycle == stage.Docker {
			a.Image = st.DockerImage.String()
		}
		if ap.droplet != nil && ap.droplet.Cached {
			a.StagedDigest = ap.droplet.Digest
		}
		for d, n := range ap.digests {
			a.DigestsAtEnd[d] = n
		}
		mixed := ap.mixedTotal
		if ap.mixed {
			mixed += end - ap.mixedSince
		}
		a.MixedSeconds = round6(mixed.Seconds())
		if ap.pushDone {
			t := round6((ap.running - ap.pushAt).Seconds())
			a.PushSeconds = &t
		}
		out.Apps = append(out.Apps, a)
	}
	return out
}

func roundBytes(m map[string]float64) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(math.Round(v))
	}
	return out
}
