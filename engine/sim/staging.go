package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/stage"
	"github.com/diegolab/diegolab/scenarios"
)

// stagingWorld is the simulated world of pushes and images (docs/staging.md). It is
// built only for scenarios where some app is pushed; otherwise s.stg is nil and no
// hook does anything, so those scenarios run exactly as before.
type stagingWorld struct {
	net      network
	netTimer engine.Handle
	onFlow   map[int32]func(now time.Duration) // flow id -> what to do when it ends

	regs            []simRegistry
	pub, priv, blob int
	images          []*simImage
	layerBytes      map[string]float64
	digestLayers    map[string][]string
	privateHas      map[string]bool
	cellLinks       []int32 // per cell index
	cellCache       []map[string]cacheEntry
	flowWaiters     map[int32][]ctRef

	stager    *stage.Stager
	resources *stage.ResourceCache
	jobs      map[string]*stagingJob // by staging guid
	apps      map[int32]*stagedApp   // by app id
	appOrder  []int32
	pulls     map[int32]*pullJob // by container id
	ctDigest  map[int32]ctRef    // container -> digest (ref.digest)

	m stagingMetrics
}

type ctRef struct {
	id     int32
	gen    uint32
	digest string
}

// pullJob is an instance start waiting for its image.
type pullJob struct {
	gen     uint32
	delay   time.Duration // the sampled container start time, after the pull
	pending int
	from    stage.Registry
}

// setupStaging builds the staging world when the scenario pushes apps.
func (s *Sim) setupStaging() {
	if !s.sc.Staged() {
		return
	}
	w := &stagingWorld{
		onFlow: map[int32]func(time.Duration){}, layerBytes: map[string]float64{},
		digestLayers: map[string][]string{}, privateHas: map[string]bool{},
		flowWaiters: map[int32][]ctRef{}, stager: stage.NewStager(), resources: stage.NewResourceCache(),
		jobs: map[string]*stagingJob{}, apps: map[int32]*stagedApp{}, pulls: map[int32]*pullJob{},
		ctDigest: map[int32]ctRef{},
	}
	w.m.init()
	for _, r := range s.sc.Registries {
		link := w.net.addLink(r.Name, mbps(r.BandwidthMbps))
		w.regs = append(w.regs, simRegistry{Registry: r, link: link})
		switch r.Kind {
		case scenarios.RegistryPrivate:
			w.priv = len(w.regs) - 1
		case scenarios.RegistryBlobstore:
			w.blob = len(w.regs) - 1
		}
	}
	pub, _ := s.sc.RegistryOf(scenarios.RegistryPublic)
	for i, r := range w.regs {
		if r.Name == pub.Name {
			w.pub = i
		}
	}
	for _, im := range s.sc.Images {
		si := &simImage{Image: im}
		for i, r := range w.regs {
			if r.Name == im.Registry {
				si.reg = i
			}
		}
		w.newVersion(si, im.LayersMB, 0)
		w.images = append(w.images, si)
	}
	s.stg = w
	s.rStage = s.k.Stream("staging")
}

// cellLink returns cell ci's NIC link, creating links for cells added since.
func (w *stagingWorld) cellLink(s *Sim, ci int) int32 {
	for len(w.cellLinks) <= ci {
		c := s.cells[len(w.cellLinks)]
		w.cellLinks = append(w.cellLinks, w.net.addLink(c.ID, mbps(s.sc.Network.CellMbps)))
		w.cellCache = append(w.cellCache, map[string]cacheEntry{})
	}
	return w.cellLinks[ci]
}

// startFlow begins a flow and reschedules the network's completion event.
func (s *Sim) startFlow(now time.Duration, bytes, limit float64, done func(time.Duration), links ...int32) (int32, uint32) {
	w := s.stg
	id := w.net.start(now, bytes, limit, flowOwner{}, links...)
	w.onFlow[id] = done
	s.netReschedule()
	return id, w.net.flows[id].gen
}

func (s *Sim) netReschedule() {
	w := s.stg
	s.k.Cancel(w.netTimer)
	w.netTimer = engine.Handle{}
	if at, ok := w.net.next(); ok {
		w.netTimer = s.k.Schedule(max(at, s.k.Now()), s, engine.Payload{Kind: kNet})
	}
}

// netDue runs when the first flow finishes.
func (s *Sim) netDue(now time.Duration) {
	w := s.stg
	w.netTimer = engine.Handle{}
	n := len(w.net.active)
	ids := make([]int32, 0, n)
	for _, id := range w.net.active {
		ids = append(ids, id)
	}
	w.net.due(now)
	for _, id := range ids {
		if w.net.flows[id].live {
			continue
		}
		fn := w.onFlow[id]
		delete(w.onFlow, id)
		if fn != nil {
			fn(now)
		}
	}
	s.netReschedule()
}

// ---- instance starts: resolve, pull, then start ----

// pullStart is the hook in perform for an instance of a pushed app: the container
// resolves its image reference (one metadata round trip), pulls the layers the cell
// lacks, then starts after delay. It reports false for apps that are not pushed.
func (s *Sim) pullStart(now time.Duration, id int32, delay time.Duration) bool {
	if s.stg == nil {
		return false
	}
	ct := &s.containers.items[id]
	ap := s.stg.apps[ct.app]
	if ap == nil || ap.droplet == nil {
		return false
	}
	s.stgClaimed(now, ap, int(ct.index))
	pull := ap.droplet.Pull()
	reg := s.stg.registryFor(pull.From)
	s.stg.pulls[id] = &pullJob{gen: ct.gen, delay: delay, from: pull.From}
	ct.timer = s.k.After(reg.ResolveTime, s, engine.Payload{Kind: kResolved, A: int64(id), B: int64(ct.gen)})
	return true
}

// resolved: the manifest round trip ended; fail the start or pull the missing layers.
func (s *Sim) resolved(now time.Duration, id int32, gen uint32) {
	ct := s.live(id, gen)
	w := s.stg
	pj := w.pulls[id]
	if ct == nil || pj == nil || pj.gen != gen {
		return
	}
	ct.timer = engine.Handle{}
	ap := w.apps[ct.app]
	pull := ap.droplet.Pull()
	reg := w.registryFor(pull.From)
	if reg.down(now) {
		w.m.outageFailures++
		s.pullFailed(now, id, "failed to pull image: registry "+reg.Name+" unavailable")
		return
	}
	var digest string
	switch pull.From {
	case stage.Public:
		im := w.image(pull.Ref)
		if im.Private {
			w.m.credentialUses++
			if pull.Credentials != im.Credentials {
				s.pullFailed(now, id, "failed to pull image: unauthorized")
				return
			}
		}
		digest = im.current().digest // the tag as it is now
	case stage.Private:
		digest = pull.Ref.Digest
	default:
		digest = pull.Ref.Digest
	}
	w.ctDigest[id] = ctRef{id: id, gen: gen, digest: digest}
	layers := w.digestLayers[digest]
	ci := int(ct.cell)
	link := w.cellLink(s, ci)
	cache := w.cellCache[ci]
	var missing []string
	for _, l := range layers {
		e, ok := cache[l]
		switch {
		case ok && e.present:
			w.m.pulled["cell_cache"] += w.layerBytes[l]
		case ok:
			w.flowWaiters[e.flow] = append(w.flowWaiters[e.flow], ctRef{id: id, gen: gen})
			pj.pending++
			w.m.pulled["cell_cache"] += w.layerBytes[l]
		default:
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		bytes := w.bytesOf(missing)
		src := pull.From.String()
		var fid int32
		fid, _ = s.startFlow(now, bytes, 0, func(now time.Duration) {
			w.m.pulled[src] += bytes
			if s.cells[ci].state != cellCrashed {
				for _, l := range missing {
					cache[l] = cacheEntry{present: true}
				}
			} else {
				for _, l := range missing {
					delete(cache, l)
				}
			}
			waiters := w.flowWaiters[fid]
			delete(w.flowWaiters, fid)
			for _, wr := range waiters {
				s.pullProgress(now, wr.id, wr.gen)
			}
		}, reg.link, link)
		for _, l := range missing {
			cache[l] = cacheEntry{flow: fid}
		}
		w.flowWaiters[fid] = append(w.flowWaiters[fid], ctRef{id: id, gen: gen})
		pj.pending++
	}
	if pj.pending == 0 {
		s.pullDone(id)
	}
}

// pullProgress: one awaited flow ended.
func (s *Sim) pullProgress(now time.Duration, id int32, gen uint32) {
	pj := s.stg.pulls[id]
	if s.live(id, gen) == nil || pj == nil || pj.gen != gen {
		return
	}
	pj.pending--
	if pj.pending == 0 {
		s.pullDone(id)
	}
}

// pullDone: the image is on the cell; the container starts after its start time.
func (s *Sim) pullDone(id int32) {
	ct := &s.containers.items[id]
	pj := s.stg.pulls[id]
	delete(s.stg.pulls, id)
	ct.timer = s.k.After(pj.delay, s, engine.Payload{Kind: kStart, A: int64(id), B: int64(ct.gen)})
}

// pullFailed: the container cannot get its image; the rep fails the container and
// crashes the instance (crash count and backoff apply).
func (s *Sim) pullFailed(now time.Duration, id int32, reason string) {
	delete(s.stg.pulls, id)
	s.stg.m.startFailures[reason]++
	s.crashContainer(now, id, reason)
}

// ---- staging tasks ----

// stagingJob is one staging task being carried out on a cell.
type stagingJob struct {
	guid    string
	app     *stagedApp
	req     stage.Request
	ct      int32
	ctGen   uint32
	cell    int
	seq     int64 // step counter: stale step events carry an older seq
	step    int
	started time.Duration
	flow    int32
	flowGen uint32
	result  stage.Result
	done    bool
}

// stagingRun is the hook in perform for a staging task: instead of a sampled duration,
// the lifecycle's steps run (download package, compile, upload droplet; or resolve and
// cache the image), under the staging timeout. False for other tasks.
func (s *Sim) stagingRun(now time.Duration, id int32) bool {
	if s.stg == nil {
		return false
	}
	ct := &s.containers.items[id]
	j := s.stg.jobs[ct.guid]
	if j == nil {
		return false
	}
	j.ct, j.ctGen, j.cell, j.started, j.step, j.done = id, ct.gen, int(ct.cell), now, 0, false
	j.seq++
	s.stg.cellLink(s, j.cell)
	s.k.After(j.req.TimeoutOrDefault(), s, engine.Payload{Kind: kStagingTimeout, A: s.jobIndex(j), B: j.seq})
	s.stagingStep(now, j)
	return true
}

// jobIndex names a job in an event payload: the staged app's id.
func (s *Sim) jobIndex(j *stagingJob) int64 { return int64(j.app.id) }

func (s *Sim) jobOf(a int64) *stagingJob {
	if ap := s.stg.apps[int32(a)]; ap != nil {
		return ap.job
	}
	return nil
}

// stagingEvent runs a scheduled step of job a if it is still current.
func (s *Sim) stagingEvent(now time.Duration, a, seq int64, timeout bool) {
	j := s.jobOf(a)
	if j == nil || j.done || j.seq != seq {
		return
	}
	if s.live(j.ct, j.ctGen) == nil {
		j.done = true // cancelled, or the cell died: the BBS handles the task
		s.stg.net.cancel(now, j.flow, j.flowGen)
		return
	}
	if timeout {
		s.stg.net.cancel(now, j.flow, j.flowGen)
		s.netReschedule()
		s.finishStaging(now, j, true, stage.ReasonTimedOut)
		return
	}
	s.stagingStep(now, j)
}

// after schedules the job's next step in d.
func (s *Sim) after(j *stagingJob, d time.Duration) {
	j.step++
	s.k.After(d, s, engine.Payload{Kind: kStagingStep, A: s.jobIndex(j), B: j.seq})
}

// transfer moves bytes over links for the job, then runs its next step.
func (s *Sim) transfer(now time.Duration, j *stagingJob, bytes float64, what string, links ...int32) {
	j.step++
	if bytes <= 0 {
		s.stagingStep(now, j)
		return
	}
	seq := j.seq
	j.flow, j.flowGen = s.startFlow(now, bytes, 0, func(now time.Duration) {
		s.stg.m.staging[what] += bytes
		if j.seq == seq && !j.done && s.live(j.ct, j.ctGen) != nil {
			s.stagingStep(now, j)
		}
	}, links...)
}

// stagingStep carries out step j.step of the job's lifecycle.
func (s *Sim) stagingStep(now time.Duration, j *stagingJob) {
	w := s.stg
	st := j.app.group.Staging
	cell := w.cellLinks[j.cell]
	blob := w.regs[w.blob].link
	if j.req.Lifecycle == stage.Buildpack {
		switch j.step {
		case 0: // download the app package from the blobstore
			s.transfer(now, j, st.PackageMB*1e6, "package_download", blob, cell)
		case 1: // detect + compile
			s.after(j, st.StagingTime.Sample(s.rStage))
		case 2:
			if st.StagingFailureProbability > 0 && s.rStage.Float64() < st.StagingFailureProbability {
				s.finishStaging(now, j, true, stage.ExitReason(stage.CompileFailCode))
				return
			}
			s.transfer(now, j, st.DropletMB*1e6, "droplet_upload", cell, blob)
		default:
			j.result = stage.Result{Digest: digestOf("droplet:"+j.app.guid, j.app.pushes)}
			// The droplet is one blob that cells download (and cache) like a layer.
			l := "droplet:" + j.result.Digest
			w.layerBytes[l] = st.DropletMB * 1e6
			w.digestLayers[j.result.Digest] = []string{l}
			s.finishStaging(now, j, false, "")
		}
		return
	}
	pub := &w.regs[w.pub]
	switch j.step {
	case 0: // the builder starts
		s.after(j, st.StagingTime.Sample(s.rStage))
	case 1: // fetch the image metadata
		s.after(j, pub.ResolveTime)
	case 2:
		im := w.image(j.req.Image)
		switch {
		case pub.down(now):
			s.finishStaging(now, j, true, stage.ReasonRegistryDown)
			return
		case im == nil:
			s.finishStaging(now, j, true, stage.ReasonUnknownImage)
			return
		}
		if im.Private {
			w.m.credentialUses++
			if j.req.Credentials != im.Credentials {
				s.finishStaging(now, j, true, stage.ReasonUnauthorized)
				return
			}
		}
		ver := im.current()
		if !j.req.Cache {
			// Metadata only; instances resolve the tag themselves (nothing pinned).
			j.step = 99
			s.stagingStep(now, j)
			return
		}
		size := w.bytesOf(ver.layers)
		task, _ := s.plane.BBS().Task(j.guid)
		if size > float64(task.DiskMB)*1e6 {
			s.finishStaging(now, j, true, stage.ReasonImageTooLarge)
			return
		}
		j.result = stage.Result{Digest: ver.digest, CachedImage: w.regs[w.priv].Name + ":8080/" + j.app.guid + "-" + strconv.Itoa(j.app.pushes)}
		// docker pull from the public registry and push into the private one.
		s.transfer(now, j, size, "image_copy", pub.link, cell, w.regs[w.priv].link)
	default:
		if j.req.Cache {
			w.privateHas[j.result.Digest] = true
		}
		s.finishStaging(now, j, false, "")
	}
}

// finishStaging: the task's process ends; the rep deletes the container and completes
// the task (the completion callback then reaches stagingCallback).
func (s *Sim) finishStaging(now time.Duration, j *stagingJob, failed bool, reason string) {
	if j.done {
		return
	}
	j.done = true
	j.seq++
	ct := s.live(j.ct, j.ctGen)
	if ct == nil {
		return
	}
	c := s.cells[ct.cell]
	s.deleteContainer(j.ct)
	if !c.reachable() {
		return
	}
	result := ""
	if !failed {
		result = stage.EncodeResult(j.result)
	}
	_ = s.plane.CompleteTask(now, j.guid, c.ID, failed, reason, result)
}

// stagingCallback is the hook in drain for completion callbacks: a staging task's
// outcome goes to the stager; success desires the app's LRP (nsync). False for other
// tasks.
func (s *Sim) stagingCallback(now time.Duration, t model.Task) bool {
	if s.stg == nil || t.Domain != stage.Domain {
		return false
	}
	j := s.stg.jobs[t.GUID]
	if j == nil {
		return false
	}
	j.done = true
	o, err := s.stg.stager.Completed(now, t)
	if err != nil {
		return true // a second callback for the same staging: already handled
	}
	s.stagingOutcome(now, j.app, o)
	return true
}

// stageApp starts the staging of app ap (after its upload).
func (s *Sim) stageApp(now time.Duration, ap *stagedApp) {
	st := ap.group.Staging
	ap.pushes++
	d := ap.group.DesiredLRP(ap.index)
	req := stage.Request{
		StagingGUID: ap.guid + "-staging-" + strconv.Itoa(ap.pushes), App: d, Lifecycle: st.Lifecycle,
		Buildpack: st.Buildpack, Image: st.DockerImage, Credentials: st.Credentials, Cache: st.DockerCache,
		PlacementTags: d.PlacementTags,
	}
	if st.Lifecycle == stage.Buildpack {
		req.Stack = strings.TrimPrefix(d.RootFS, "preloaded:")
	}
	task, err := s.stg.stager.Stage(now, req)
	if err != nil {
		s.fail(fmt.Errorf("stage %s: %w", ap.guid, err))
		return
	}
	j := &stagingJob{guid: task.GUID, app: ap, req: req}
	s.stg.jobs[task.GUID] = j
	ap.job = j
	if err := s.plane.DesireTask(now, task); err != nil {
		s.fail(fmt.Errorf("stage %s: %w", ap.guid, err))
	}
}
