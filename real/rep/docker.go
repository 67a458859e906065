package rep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
	"github.com/diegolab/diegolab/real/image"
	"github.com/diegolab/diegolab/real/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// Docker on a cell: staging resolves the image (and copies it into the cache)
// from the rep itself, as Diego's docker builder only fetched metadata; an LRP of
// a Docker app pulls its image into the cell's layer cache (real/image) and runs
// on the image's layers.

// pullTimeout bounds one image pull.
const pullTimeout = 5 * time.Minute

// dockerState is the rep's Docker side: the layer cache and what it pulled.
type dockerState struct {
	once  sync.Once
	store *image.Store
	err   error

	pulled  *prometheus.CounterVec // bytes downloaded, by registry
	cached  prometheus.Counter     // bytes found in the cell's cache
	pulls   *prometheus.CounterVec // pulls by registry and result
	pullDur prometheus.Histogram

	mu      sync.Mutex
	running map[string]int // containers by image digest
}

func (r *Rep) initDocker() {
	labels := prometheus.Labels{"cell": r.cfg.CellID}
	d := &dockerState{running: map[string]int{},
		pulled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "diegolab_rep_image_pulled_bytes_total",
			Help: "Compressed image layer bytes downloaded by instance starts, by registry.", ConstLabels: labels}, []string{"source"}),
		cached: prometheus.NewCounter(prometheus.CounterOpts{Name: "diegolab_rep_image_cell_cache_bytes_total",
			Help: "Compressed image layer bytes instance starts found in the cell's layer cache (downloads avoided).", ConstLabels: labels}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "diegolab_rep_image_pulls_total",
			Help: "Image pulls by instance starts, by registry and result (ok, failed).", ConstLabels: labels}, []string{"source", "result"}),
		pullDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "diegolab_rep_image_pull_seconds",
			Help: "Duration of an instance start's image pull (resolve, download, unpack).", ConstLabels: labels,
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}),
	}
	desc := prometheus.NewDesc("diegolab_rep_image_containers", "Containers of Docker apps on the cell, by image digest.", []string{"digest"}, labels)
	r.metrics.Registry.MustRegister(d.pulled, d.cached, d.pulls, d.pullDur, &digestCollector{desc: desc, d: d})
	r.docker = d
}

// images opens the cell's layer cache on first use.
func (r *Rep) images() (*image.Store, error) {
	d := r.docker
	d.once.Do(func() {
		shift := 0
		if h, ok := r.ex.(interface{ HostID(int) int }); ok {
			shift = h.HostID(0)
		}
		d.store, d.err = image.New(image.Config{Dir: filepath.Join(r.cfg.Dir, "layers"), MaxBytes: r.cfg.ImageCacheBytes, Shift: shift})
	})
	return d.store, d.err
}

// stageDocker is a Docker staging task: resolve, read the config, copy into the
// cache when asked.
func (r *Rep) stageDocker(ri api.RunInfo, log func(string)) (failed bool, reason, result string) {
	if ri.Docker == nil {
		return true, "staging: docker run info without an image", ""
	}
	ctx, cancel := context.WithTimeout(r.ctx, pullTimeout)
	defer cancel()
	log("Staging Docker image " + ri.Docker.Image)
	res, err := registry.Stage(ctx, registry.StageRequest{Image: ri.Docker.Image, User: ri.Docker.Username,
		Password: ri.Docker.Password, CacheRepo: ri.Docker.CacheRepo})
	if err != nil {
		log("Staging failed: " + err.Error())
		return true, "staging: " + err.Error(), ""
	}
	if res.Cached {
		log(fmt.Sprintf("Cached %s as %s (%d bytes copied)", ri.Docker.Image, res.RunImage, res.CopiedBytes))
	}
	log("Staging complete: " + res.Digest)
	c := res.Config
	out, _ := json.Marshal(api.StagingResult{Docker: &api.DockerStaged{Digest: res.Digest, RunImage: res.RunImage, Cached: res.Cached,
		Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User, Ports: c.Ports, CopiedBytes: res.CopiedBytes}})
	return false, "", string(out)
}

// pullFor pulls an LRP's image into the cell's cache and fills spec's root file
// system from it; the returned function releases the layers (at destroy).
func (r *Rep) pullFor(d *api.DockerRun, spec *executor.ContainerSpec, say func(string)) (digest string, release func(), err error) {
	store, err := r.images()
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(r.ctx, pullTimeout)
	defer cancel()
	say("Pulling Docker image " + d.Image)
	p, err := store.Pull(ctx, d.Image, registry.Auth(d.Username, d.Password))
	source := sourceOf(d.Image)
	if err != nil {
		r.docker.pulls.WithLabelValues(source, "failed").Inc()
		return "", nil, err
	}
	r.docker.pulls.WithLabelValues(p.Source, "ok").Inc()
	r.docker.pulled.WithLabelValues(p.Source).Add(float64(p.PulledBytes))
	r.docker.cached.Add(float64(p.CachedBytes))
	r.docker.pullDur.Observe(p.Elapsed.Seconds())
	say(fmt.Sprintf("Pulled %s (%s): %d bytes downloaded, %d bytes from the cell's cache in %v", d.Image, p.Digest,
		p.PulledBytes, p.CachedBytes, p.Elapsed.Round(time.Millisecond)))
	spec.Layers, spec.WorkingDir, spec.AppDir = p.Layers, d.WorkingDir, ""
	return p.Digest, r.running(store, p), nil
}

// running counts a container on p's image and returns what releases p's layers
// and the count (once) when the container is destroyed.
func (r *Rep) running(store *image.Store, p *image.Pulled) func() {
	r.docker.mu.Lock()
	r.docker.running[p.Digest]++
	r.docker.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.docker.mu.Lock()
			if r.docker.running[p.Digest]--; r.docker.running[p.Digest] <= 0 {
				delete(r.docker.running, p.Digest)
			}
			r.docker.mu.Unlock()
			store.Release(p)
		})
	}
}

// holdAdopted takes the image layers of a container a previous life of the rep
// created (its meta names them), so that they are not evicted while it runs; ct
// then releases them when destroyed. A container not on an image is returned as is.
func (r *Rep) holdAdopted(ct Container, m lrpMeta) Container {
	if m.Digest == "" {
		return ct
	}
	store, err := r.images()
	if err != nil {
		r.log.Warn("re-adopted container: layer cache", "instance", m.Instance.InstanceGUID, "err", err)
		return ct
	}
	p, ok := store.Hold(m.Digest, m.Layers)
	if !ok {
		r.log.Warn("re-adopted container: its image layers are no longer in the cell's cache", "instance", m.Instance.InstanceGUID, "digest", m.Digest)
		return ct
	}
	return imageContainer{Container: ct, release: r.running(store, p)}
}

// ImageDigests reports the cell's containers by image digest.
func (r *Rep) ImageDigests() map[string]int {
	r.docker.mu.Lock()
	defer r.docker.mu.Unlock()
	out := make(map[string]int, len(r.docker.running))
	for k, v := range r.docker.running {
		out[k] = v
	}
	return out
}

func sourceOf(ref string) string {
	if p, err := registryHost(ref); err == nil {
		return p
	}
	return "unknown"
}

func registryHost(ref string) (string, error) {
	for i := 0; i < len(ref); i++ {
		if ref[i] == '/' {
			return ref[:i], nil
		}
	}
	return "", errors.New("no registry host")
}

// imageContainer releases its image's layers when destroyed.
type imageContainer struct {
	Container
	release func()
}

func (c imageContainer) Destroy(ctx context.Context) error {
	err := c.Container.Destroy(ctx)
	c.release()
	return err
}

type digestCollector struct {
	desc *prometheus.Desc
	d    *dockerState
}

func (c *digestCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *digestCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.mu.Lock()
	keys := make([]string, 0, len(c.d.running))
	for k := range c.d.running {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]int, len(keys))
	for i, k := range keys {
		vals[i] = c.d.running[k]
	}
	c.d.mu.Unlock()
	for i, k := range keys {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(vals[i]), k)
	}
}
