package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diegolab/diegolab/model/stage"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/live"
	"github.com/diegolab/diegolab/real/registry"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
	"github.com/diegolab/diegolab/scenarios/behave"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Pushed apps live (docs/staging.md, "Live"). An app group with a lifecycle is
// pushed at its start_at, as the simulator pushes it, instead of before t0:
//
//   - docker_image: `push --docker-image` of the scenario's image as built here
//     (image.go) from the upstream registry, with the group's docker_cache and
//     credentials, and the workload's configuration of the app as start command;
//   - buildpack: the workload program with the binary buildpack (the scenario's
//     package and droplet sizes and its staging time are not reproduced).
//
// Timeline events: push-image builds the next version of the image (before t0: only
// its upload happens at the event) and pushes it under the tag; registry-outage turns
// the upstream's outage switch on (a public registry) or the cache's (a private one)
// and off after its duration. A private image's repository is made private at the
// upstream with the image's credentials.
//
// What instances run is watched while the scenario plays: each app's CELL log lines
// say which digest a start pulled for which instance, and the app's RUNNING
// instances, polled, give the running instances per digest, written as version
// events as the simulator writes them. The summary's staging part is filled from
// these, the pushes and docker.json (the reps' pull counters, the registries'
// counters).

// watchEvery is how often an app's instances are polled for their digests.
const watchEvery = 500 * time.Millisecond

type dockerDriver struct {
	reg    *api.Client
	images map[string]*liveImage // by name:tag
	base   []v1.Layer
	apps   []*stagedApp // in push order
	mu     sync.Mutex   // apps
	watch  sync.WaitGroup
	stop   context.CancelFunc
	wctx   context.Context
	bin    []byte // the workload program (buildpack apps)
	// baseBytes is the compressed size of the stack and workload layers every image
	// has (not the scenario's); creds0 the upstream's credential uses (valid and
	// refused) before t0, and credsOwn those of the driver's own pushes since
	// (push-image).
	baseBytes        int64
	creds0, credsOwn int64
}

// liveImage is one scenario image: its versions' layers and prebuilt next versions.
type liveImage struct {
	im         scenarios.Image
	user, pass string
	fillers    []filler
	versions   int
	// next holds the image each push-image event (by event index) pushes.
	next map[int]v1.Image
	// digests are the versions' digests in push order.
	digests []string
}

// stagedApp is one pushed app of a group with a lifecycle.
type stagedApp struct {
	guid     string
	g        *scenarios.AppGroup
	pushedAt float64

	mu      sync.Mutex
	staged  bool
	seconds *float64
	failure string
	digest  string
	// byInstance is the digest each instance guid pulled; counts the running
	// instances per digest as last written.
	byInstance map[string]string
	counts     map[string]int
	mixed      bool
	mixedSince float64
	mixedTotal float64
}

// credentials splits "user:password".
func credentials(s string) (user, pass string) {
	u, p, _ := strings.Cut(s, ":")
	return u, p
}

// needRegistries reports whether sc needs the cluster's registries: an app group
// runs an image, or the scenario declares images or registry events.
func needRegistries(sc *scenarios.Scenario) bool {
	if len(sc.Images) > 0 {
		return true
	}
	for _, g := range sc.Apps {
		if g.Staging != nil && g.Staging.Lifecycle == stage.Docker {
			return true
		}
	}
	for _, ev := range sc.Events {
		if ev.Action == scenarios.ActionPushImage || ev.Action == scenarios.ActionRegistryOutage {
			return true
		}
	}
	return false
}

// CheckImages refuses images too large to build live at scale (the fraction of
// their sizes the live images have, --image-scale), naming the scale that fits.
func CheckImages(sc *scenarios.Scenario, scale float64) error {
	if scale <= 0 || scale > 1 {
		return fmt.Errorf("image scale %v: want a number in (0, 1] (--image-scale)", scale)
	}
	var errs []error
	for i, im := range sc.Images {
		sum := 0.0
		for _, mb := range im.LayersMB {
			sum += mb
		}
		for _, ev := range sc.Events {
			if ev.Action == scenarios.ActionPushImage && imageRefOf(ev.Image) == im.Ref() {
				s := 0.0
				for _, mb := range ev.LayersMB {
					s += mb
				}
				sum = max(sum, s)
			}
		}
		if sum*scale > maxImageMB {
			errs = append(errs, fmt.Errorf("%s:%d: images[%d] (%s): %v MB is beyond the %d MB an image built live may have (its layers are built in memory); scale the images down, e.g. --image-scale %.3g",
				sc.Path, im.Line, i, im.Ref(), sum*scale, maxImageMB, maxImageMB/sum))
		}
	}
	return errors.Join(errs...)
}

// maxImageMB bounds an image built live (its layers are built in memory).
const maxImageMB = 1024

// setupDocker builds every image of the scenario (each version a push-image event
// will push as well), makes private repositories private and pushes each image's
// first version to the upstream.
func (d *driver) setupDocker(ctx context.Context) error {
	if !d.sc.Staged() && !needRegistries(d.sc) {
		return nil
	}
	bin, err := os.ReadFile(d.o.Workload)
	if err != nil {
		return err
	}
	dd := &dockerDriver{images: map[string]*liveImage{}, bin: bin}
	dd.wctx, dd.stop = context.WithCancel(context.Background())
	d.docker = dd
	if !needRegistries(d.sc) {
		return nil
	}
	reg, addrs, err := live.RegistryClient(d.dir)
	if err != nil {
		return err
	}
	dd.reg = reg
	st, err := live.ReadState(d.dir)
	if err != nil {
		return err
	}
	stack, err := registry.LayerFromDir(st.Stack)
	if err != nil {
		return err
	}
	configs := map[string][]byte{}
	for gi := range d.sc.Apps {
		g := &d.sc.Apps[gi]
		if g.Staging == nil || g.Staging.Lifecycle != stage.Docker {
			continue
		}
		for _, guid := range g.ProcessGUIDs() {
			w := behave.NewWorkload(d.sc, g, guid)
			w.StartOverhead = d.o.StartOverhead
			configs[guid], _ = json.MarshalIndent(w, "", "  ")
		}
	}
	wl, err := workloadLayer(bin, configs)
	if err != nil {
		return err
	}
	dd.base = []v1.Layer{stack, wl}
	for _, l := range dd.base {
		n, err := l.Size()
		if err != nil {
			return err
		}
		dd.baseBytes += n
	}
	scale := d.o.ImageScale
	for _, im := range d.sc.Images {
		li := &liveImage{im: im, next: map[int]v1.Image{}}
		li.user, li.pass = credentials(im.Credentials)
		if li.fillers, err = fillers(im.Ref(), 0, im.LayersMB, nil, 0, scale); err != nil {
			return err
		}
		dd.images[im.Ref()] = li
	}
	// The versions push-image events push, in the events' time order.
	order := make([]int, len(d.sc.Events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(d.sc.Events[a].At - d.sc.Events[b].At) })
	latest := map[string][]filler{}
	for ref, li := range dd.images {
		latest[ref] = li.fillers
	}
	version := map[string]int{}
	for _, i := range order {
		ev := &d.sc.Events[i]
		if ev.Action != scenarios.ActionPushImage {
			continue
		}
		ref := imageRefOf(ev.Image)
		li := dd.images[ref]
		if li == nil {
			return fmt.Errorf("%s:%d: push-image %s: no such image", d.sc.Path, ev.Line, ev.Image)
		}
		version[ref]++
		shared := ev.SharedLayers
		if shared < 0 {
			shared = 0
		}
		fs, err := fillers(ref, version[ref], ev.LayersMB, latest[ref], shared, scale)
		if err != nil {
			return err
		}
		latest[ref] = fs
		img, err := buildImage(dd.base, fs)
		if err != nil {
			return err
		}
		if _, err := img.Digest(); err != nil {
			return err
		}
		li.next[i] = img
	}
	refs := slices.Sorted(maps.Keys(dd.images))
	for _, ref := range refs {
		li := dd.images[ref]
		repo, _, _ := strings.Cut(ref, ":")
		if li.im.Private {
			if err := reg.Do(ctx, http.MethodPost, "/private", live.PrivateRequest{Repository: repo, User: li.user, Password: li.pass}, nil); err != nil {
				return fmt.Errorf("image %s: private repository: %w", ref, err)
			}
		}
		img, err := buildImage(dd.base, li.fillers)
		if err != nil {
			return err
		}
		dg, err := registry.Push(ctx, img, addrs.Upstream+"/"+ref, li.user, li.pass)
		if err != nil {
			return err
		}
		li.digests = append(li.digests, dg)
		d.logf("image %s: %s (%d MB of layers, scale %g)", ref, dg, int(total(li.fillers)/1e6), scale)
	}
	rs, err := d.registryStats(ctx)
	dd.creds0 = credentialUses(rs)
	return err
}

// credentialUses counts the credentials presented to the upstream, as the simulator
// counts them: accepted (a private repository's manifest requests) or refused (wrong
// ones, as a staging with a typo presents).
func credentialUses(rs live.RegistryStats) int64 {
	return rs.Upstream.CredentialUses + rs.Upstream.Unauthorized
}

func (d *driver) registryStats(ctx context.Context) (live.RegistryStats, error) {
	var st live.RegistryStats
	err := d.docker.reg.Do(ctx, http.MethodGet, "/stats", nil, &st)
	return st, err
}

func total(fs []filler) float64 {
	t := 0.0
	for _, f := range fs {
		t += float64(f.bytes)
	}
	return t
}

// imageRefOf is "name:tag" of a reference as an event names it.
func imageRefOf(s string) string {
	r, err := stage.ParseImageRef(s)
	if err != nil {
		return s
	}
	return r.Repo + ":" + r.Tag
}

// pushStaged pushes the group's apps (its start_at), without waiting for them.
func (d *driver) pushStaged(ctx context.Context, g *scenarios.AppGroup) error {
	dd := d.docker
	for _, guid := range g.ProcessGUIDs() {
		a := &stagedApp{guid: guid, g: g, pushedAt: d.now(), byInstance: map[string]string{}, counts: map[string]int{}}
		if g.Staging.Lifecycle == stage.Docker {
			user, pass := credentials(g.Staging.Credentials)
			cache := g.Staging.DockerCache
			_, err := live.Push(ctx, d.cl, guid, "", live.PushOptions{Instances: g.Instances, MemoryMB: g.MemoryMB, DiskMB: g.DiskMB,
				Command: startCommand(guid), NoWait: true,
				Docker: &api.DockerPush{Image: g.Staging.DockerImage.Repo + ":" + g.Staging.DockerImage.Tag, Username: user, Password: pass, Cache: &cache}})
			if err != nil {
				return fmt.Errorf("push %s: %w", guid, err)
			}
		} else if err := d.push(ctx, g, guid, dd.bin, g.Instances, true); err != nil {
			return err
		}
		dd.mu.Lock()
		dd.apps = append(dd.apps, a)
		dd.mu.Unlock()
		dd.watch.Add(1)
		go func() {
			defer dd.watch.Done()
			d.watchApp(dd.wctx, a)
		}()
	}
	return nil
}

// pulled matches a rep's CELL line of a successful pull; creating the line that
// names the instance the pull was for.
var (
	pulled   = regexp.MustCompile(`Pulled \S+ \((sha256:[0-9a-f]{64})\)`)
	creating = regexp.MustCompile(`creating container for instance (\S+)$`)
)

// watchApp follows a pushed app until the run ends: its staging, then (Docker) the
// digests of its running instances.
func (d *driver) watchApp(ctx context.Context, a *stagedApp) {
	docker := a.g.Staging.Lifecycle == stage.Docker
	if docker {
		// index -> digest of the last pull for it, bound to the instance guid when the
		// container is created.
		last := map[int]string{}
		d.docker.watch.Add(1)
		go func() {
			defer d.docker.watch.Done()
			_ = live.StreamLogs(ctx, d.cl, a.guid, live.LogOptions{Follow: true}, nil, func(l api.LogLine) {
				if l.Source != api.SourceCell {
					return
				}
				if m := pulled.FindStringSubmatch(l.Text); m != nil {
					last[l.Index] = m[1]
				} else if m := creating.FindStringSubmatch(l.Text); m != nil && last[l.Index] != "" {
					a.mu.Lock()
					a.byInstance[m[1]] = last[l.Index]
					a.mu.Unlock()
				}
			})
		}()
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ad api.AppDetail
		if err := d.cl.Do(ctx, http.MethodGet, "/v1/apps/"+a.guid, nil, &ad); err != nil {
			continue
		}
		a.mu.Lock()
		if !a.staged && ad.State != api.AppStaging {
			a.staged = true
			s := record.Round6(d.now() - a.pushedAt)
			a.seconds = &s
			if ad.State == api.AppStagingFailed {
				a.failure = ad.StagingError
			}
			if ad.Docker != nil {
				a.digest = ad.Docker.Digest
			}
			t.Reset(watchEvery)
		}
		if a.staged && docker && a.failure == "" {
			counts := map[string]int{}
			for _, in := range ad.InstancesDetail {
				if in.State == "RUNNING" && in.Presence == "ORDINARY" {
					if dg, ok := a.byInstance[in.InstanceGUID]; ok {
						counts[dg]++
					}
				}
			}
			d.versions(a, counts)
		}
		done := a.staged && (!docker || a.failure != "")
		a.mu.Unlock()
		if done {
			return
		}
	}
}

// versions writes a version event per digest whose running count changed (a.mu held).
func (d *driver) versions(a *stagedApp, counts map[string]int) {
	now := d.now()
	for _, dg := range slices.Sorted(maps.Keys(mergeKeys(a.counts, counts))) {
		if counts[dg] == a.counts[dg] {
			continue
		}
		d.event(record.Event{T: now, Type: record.TypeVersion, ProcessGUID: a.guid, Digest: dg, Instances: counts[dg]})
	}
	for k := range a.counts {
		if counts[k] == 0 {
			delete(a.counts, k)
		}
	}
	for k, v := range counts {
		if v > 0 {
			a.counts[k] = v
		}
	}
	mixed := len(a.counts) > 1
	switch {
	case mixed && !a.mixed:
		a.mixed, a.mixedSince = true, now
	case !mixed && a.mixed:
		a.mixed = false
		a.mixedTotal += now - a.mixedSince
	}
}

func mergeKeys(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] = v
	}
	return out
}

// dockerEvent plays a push-image or registry-outage event (index i).
func (d *driver) dockerEvent(ctx context.Context, i int, ev *scenarios.Event) (string, []step, error) {
	dd := d.docker
	switch ev.Action {
	case scenarios.ActionPushImage:
		ref := imageRefOf(ev.Image)
		li := dd.images[ref]
		_, addrs, err := live.RegistryClient(d.dir)
		if err != nil {
			return "", nil, err
		}
		before, err := d.registryStats(ctx)
		if err != nil {
			return "", nil, err
		}
		dg, err := registry.Push(ctx, li.next[i], addrs.Upstream+"/"+ref, li.user, li.pass)
		if err != nil {
			return "", nil, err
		}
		after, err := d.registryStats(ctx)
		if err != nil {
			return "", nil, err
		}
		dd.credsOwn += credentialUses(after) - credentialUses(before)
		li.digests = append(li.digests, dg)
		return ref + " -> " + dg, nil, nil
	case scenarios.ActionRegistryOutage:
		which, err := d.registryOf(ev.Registry)
		if err != nil {
			return "", nil, err
		}
		if err := d.outage(ctx, which, true); err != nil {
			return "", nil, err
		}
		return ev.Registry + " for " + ev.Duration.String(), []step{{at: ev.At + ev.Duration, kind: kindOutageEnd, i: i}}, nil
	}
	return "", nil, fmt.Errorf("event %s: not a Docker event", ev.Action)
}

// registryOf maps a scenario registry to the live one: public -> upstream, private ->
// cache.
func (d *driver) registryOf(name string) (string, error) {
	for _, r := range d.sc.Registries {
		if r.Name == name {
			switch r.Kind {
			case scenarios.RegistryPublic:
				return "upstream", nil
			case scenarios.RegistryPrivate:
				return "cache", nil
			}
		}
	}
	return "", fmt.Errorf("registry %q: real mode has an outage switch for the public (upstream) and private (cache) registries only", name)
}

func (d *driver) outage(ctx context.Context, which string, on bool) error {
	if d.docker == nil || d.docker.reg == nil {
		return errors.New("registry-outage: the cluster runs no registries (no app of the scenario runs an image)")
	}
	return d.docker.reg.Do(ctx, http.MethodPost, fmt.Sprintf("/outage?registry=%s&on=%v", which, on), nil, nil)
}

// outageEnd ends the outage of event i.
func (d *driver) outageEnd(ctx context.Context, i int) error {
	ev := &d.sc.Events[i]
	which, err := d.registryOf(ev.Registry)
	if err != nil {
		return err
	}
	d.logf("registry-outage of %s ends", ev.Registry)
	return d.outage(ctx, which, false)
}

// stopWatching ends the apps' watchers (before the record is written).
func (d *driver) stopWatching() {
	if d.docker == nil {
		return
	}
	d.docker.stop()
	d.docker.watch.Wait()
}

// stagingSummary is the summary's staging part of a live run: the pushed apps as
// watched, bytes pulled and credential uses from the run record's docker.json (in
// raw, copied beside the summary).
func (d *driver) stagingSummary(raw string) (*record.StagingSummary, error) {
	dd := d.docker
	if dd == nil {
		return nil, nil
	}
	s := &record.StagingSummary{BytesPulled: map[string]int64{}, StagingFailures: map[string]int{}, StartFailures: map[string]int{}}
	b, err := os.ReadFile(filepath.Join(raw, live.DockerRecordFile))
	switch {
	case err == nil:
		var dr live.DockerRecord
		if err := json.Unmarshal(b, &dr); err != nil {
			return nil, fmt.Errorf("%s: %w", live.DockerRecordFile, err)
		}
		s.BytesPulled = scenarioBytes(&dr, dd.baseBytes)
		if n := dr.Pulls["failed"]; n > 0 {
			s.StartFailures["failed to pull image"] = int(n)
		}
		s.OutageStartFailures = int(dr.Pulls["failed"])
		s.CredentialUses = int(credentialUses(dr.Registries) - dd.creds0 - dd.credsOwn)
		if err := os.WriteFile(filepath.Join(d.o.Out, live.DockerRecordFile), b, 0o644); err != nil {
			return nil, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	end := d.sc.Duration.Seconds()
	var staging []float64
	dd.mu.Lock()
	apps := slices.Clone(dd.apps)
	dd.mu.Unlock()
	slices.SortFunc(apps, func(a, b *stagedApp) int { return strings.Compare(a.guid, b.guid) })
	for _, a := range apps {
		a.mu.Lock()
		as := record.AppStaging{ProcessGUID: a.guid, Lifecycle: a.g.Staging.Lifecycle.String(), DigestsAtEnd: map[string]int{}}
		if a.g.Staging.Lifecycle == stage.Docker {
			as.Image = a.g.Staging.DockerImage.Repo + ":" + a.g.Staging.DockerImage.Tag
			as.DockerCache = a.g.Staging.DockerCache
			if as.DockerCache {
				as.StagedDigest = a.digest
			}
		}
		s.Pushes.Started++
		switch {
		case a.failure != "":
			s.Pushes.Failed++
			id, _, _ := strings.Cut(a.failure, ":")
			as.PushFailure = id
			s.StagingFailures[a.failure]++
		case a.staged:
			s.Pushes.Completed++
			as.PushSeconds = a.seconds
		}
		if a.seconds != nil {
			staging = append(staging, *a.seconds)
		}
		maps.Copy(as.DigestsAtEnd, a.counts)
		mixed := a.mixedTotal
		if a.mixed {
			mixed += end - a.mixedSince
		}
		as.MixedSeconds = record.Round6(max(mixed, 0))
		as.MixedVersions = as.MixedSeconds > 0 || a.mixed
		a.mu.Unlock()
		s.Apps = append(s.Apps, as)
	}
	s.Pushes.StagingSeconds = record.PercentilesOf(staging)
	return s, nil
}

// scenarioBytes is what the pulls of a live run moved of the scenario's layers, by
// source (public, private, cell_cache): docker.json's counts less the stack and
// workload layers (base bytes per image) the simulator does not count. A cell
// downloads those once, with its first pull (counted against the source it pulled
// the most from), and finds them in its layer cache at every later pull. A rep
// restarted during the run lost its counters but not its layer cache, so its first
// pull after the restart found the base cached: then less is taken off (never below
// zero).
func scenarioBytes(dr *live.DockerRecord, base int64) map[string]int64 {
	out := map[string]int64{"public": 0, "private": 0, "cell_cache": 0}
	for _, c := range dr.Cells {
		ok := c.Pulls["ok"]
		bp := map[string]int64{}
		for _, k := range []string{"public", "private", "cell_cache"} {
			bp[k] = c.BytesPulled[k]
		}
		if ok > 0 {
			src := "public"
			if bp["private"] > bp["public"] {
				src = "private"
			}
			bp[src] = max(bp[src]-base, 0)
			bp["cell_cache"] = max(bp["cell_cache"]-(ok-1)*base, 0)
		}
		for k, v := range bp {
			out[k] += v
		}
	}
	return out
}
