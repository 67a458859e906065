package rep

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/buildpacks"
	"github.com/diegolab/diegolab/real/executor"
	"github.com/diegolab/diegolab/real/metrics"
)

// appPort is the container port every LRP listens on ($PORT).
const appPort = 8080

func (r *Rep) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) { api.WriteJSON(w, http.StatusOK, r.State()) })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { api.WriteJSON(w, http.StatusOK, struct{}{}) })
	mux.HandleFunc("POST /work", r.work)
	mux.HandleFunc("POST /stop", r.stopReq)
	mux.HandleFunc("POST /cancel", r.cancelReq)
	mux.Handle("GET /metrics", metrics.Handler(r.metrics.Registry))
	return metrics.Measure(api.RequireToken(mux, r.cfg.Token), r.metrics.RequestLatency)
}

func (r *Rep) work(w http.ResponseWriter, req *http.Request) {
	var wk api.Work
	if code, err := api.Decode(w, req, &wk, 0); err != nil {
		api.WriteError(w, code, err)
		return
	}
	for i, l := range wk.LRPs {
		if l.ProcessGUID == "" || l.InstanceGUID == "" || l.Index < 0 {
			api.WriteError(w, http.StatusUnprocessableEntity, fmt.Errorf("lrps[%d]: process_guid and instance_guid must be set, index >= 0", i))
			return
		}
		if err := l.Resource.Validate(fmt.Sprintf("lrps[%d].resource", i)); err != nil {
			api.WriteError(w, http.StatusUnprocessableEntity, err)
			return
		}
	}
	for i, t := range wk.Tasks {
		if t.TaskGUID == "" {
			api.WriteError(w, http.StatusUnprocessableEntity, fmt.Errorf("tasks[%d]: task_guid must be set", i))
			return
		}
		if err := t.Resource.Validate(fmt.Sprintf("tasks[%d].resource", i)); err != nil {
			api.WriteError(w, http.StatusUnprocessableEntity, err)
			return
		}
	}
	r.mu.Lock()
	for _, l := range wk.LRPs {
		if _, dup := r.lrps[l.InstanceGUID]; dup {
			continue
		}
		c := &lrpC{key: model.ActualLRPKey{ProcessGUID: l.ProcessGUID, Index: l.Index},
			ik: model.InstanceKey{InstanceGUID: l.InstanceGUID, CellID: r.cfg.CellID}, res: l.Resource, state: stReserved, born: time.Now()}
		r.lrps[l.InstanceGUID] = c
		r.goTracked(func() { r.runLRP(c) })
	}
	for _, t := range wk.Tasks {
		if _, dup := r.tasks[t.TaskGUID]; dup {
			continue
		}
		c := &taskC{guid: t.TaskGUID, res: t.Resource, state: stReserved, born: time.Now()}
		r.tasks[t.TaskGUID] = c
		r.goTracked(func() { r.runTask(c) })
	}
	r.mu.Unlock()
	api.WriteJSON(w, http.StatusOK, struct{}{})
}

func (r *Rep) report(op string, c *lrpC, reason string) error {
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	return r.bbs.Do(ctx, http.MethodPost, "/v1/actual/"+op, api.LRPReport{Key: c.key, Instance: c.ik, Address: c.addr, Reason: reason}, nil)
}

func (r *Rep) forgetLRP(c *lrpC) {
	r.mu.Lock()
	if r.lrps[c.ik.InstanceGUID] == c {
		delete(r.lrps, c.ik.InstanceGUID)
	}
	r.mu.Unlock()
}

func (r *Rep) destroy(ct *executor.Container) {
	if ct == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ct.Destroy(ctx); err != nil {
		r.log.Warn("destroy", "container", ct.ID(), "err", err)
	}
}

func (r *Rep) stopping(c *lrpC) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.stopping
}

// runLRP carries one instance from RESERVED to RUNNING and supervises it.
func (r *Rep) runLRP(c *lrpC) {
	log := r.log.With("lrp", c.key.String(), "instance", c.ik.InstanceGUID)
	if err := r.report("claim", c, ""); err != nil {
		log.Info("claim refused: dropping the reservation", "err", err)
		r.forgetLRP(c)
		return
	}
	var ri api.RunInfo
	err := r.getRunInfo(c.key.ProcessGUID, &ri)
	r.mu.Lock()
	c.app = ri.App
	r.mu.Unlock()
	var appDir string
	if err == nil {
		appDir, err = r.droplet(ri.DropletSHA)
	}
	var ct *executor.Container
	if err == nil && !r.stopping(c) {
		r.cell(c, "creating container for instance %s", c.ik.InstanceGUID)
		ct, err = r.ex.Create(r.ctx, executor.ContainerSpec{
			ID: "l-" + c.key.ProcessGUID + "-" + strconv.Itoa(c.key.Index) + "-" + c.ik.InstanceGUID, MemoryMB: max(c.res.MemoryMB, 1),
			DiskMB: c.res.DiskMB, MaxPids: c.res.MaxPids, AppDir: appDir, Command: ri.Command, Ports: []int{appPort},
			Env: []string{"INSTANCE_INDEX=" + strconv.Itoa(c.key.Index), "INSTANCE_GUID=" + c.ik.InstanceGUID, "CF_INSTANCE_INDEX=" + strconv.Itoa(c.key.Index)},
			Log: r.sink(ri.App, api.SourceApp, c.key.Index),
		})
		if err == nil {
			r.cell(c, "successfully created container for instance %s", c.ik.InstanceGUID)
		} else {
			r.cell(c, "failed to create container for instance %s: %v", c.ik.InstanceGUID, err)
		}
	}
	if err == nil {
		r.mu.Lock()
		c.ct, c.state = ct, stCreated
		r.mu.Unlock()
		err = ct.Start(r.ctx)
	}
	if err != nil || r.stopping(c) {
		// RESERVED and the run failed: remove the ActualLRP (harmonizing table).
		if err != nil {
			log.Warn("run failed", "err", err)
		}
		if ct != nil {
			r.destroyLogged(c, ct)
		}
		_ = r.report("remove", c, "")
		r.forgetLRP(c)
		return
	}
	timeout := r.cfg.StartTimeout
	if ri.StartTimeout > 0 && ri.StartTimeout < timeout {
		timeout = ri.StartTimeout
	}
	check := checkerFor(ri.HealthCheck, ct)
	r.health(c, api.StreamOut, "Starting health monitoring of container")
	healthy, why := r.waitHealthy(ct, check, timeout)
	if r.stopping(c) {
		return // the stop request finishes the job
	}
	if !healthy {
		reason := fmt.Sprintf("Instance never healthy after %v: %s", timeout, why)
		select {
		case <-ct.Exited():
			x, _ := ct.Wait(context.Background())
			reason = exitReason(x)
		default:
			r.metrics.HealthCheckFailures.Inc()
			r.health(c, api.StreamErr, "Container became unhealthy: "+reason)
		}
		r.destroyLogged(c, ct)
		_ = r.report("crash", c, reason)
		r.forgetLRP(c)
		return
	}
	r.health(c, api.StreamOut, "Container became healthy")
	addr, _ := ct.HostAddr(appPort)
	r.mu.Lock()
	c.state, c.addr = stRunning, addr
	r.mu.Unlock()
	if err := r.report("start", c, ""); err != nil {
		log.Info("start refused: stopping the container", "err", err)
		r.mu.Lock()
		c.stopping = true
		r.mu.Unlock()
		r.destroyLogged(c, ct)
		r.forgetLRP(c)
		return
	}
	log.Info("running", "address", addr)
	reason, crashed := r.supervise(c, ct, check, ri.HealthCheck.Interval)
	if !crashed {
		return
	}
	r.mu.Lock()
	c.state = stCompleted
	r.mu.Unlock()
	log.Info("crashed", "reason", reason)
	// COMPLETED, crashed: crash the ActualLRP, then delete the container.
	_ = r.report("crash", c, reason)
	r.destroyLogged(c, ct)
	r.forgetLRP(c)
}

// supervise watches a RUNNING instance: its exit, and its check every interval. It
// returns the crash reason, or crashed=false when the instance was stopped.
func (r *Rep) supervise(c *lrpC, ct *executor.Container, check checker, interval time.Duration) (string, bool) {
	if interval <= 0 {
		interval = r.cfg.CheckInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return "", false
		case <-ct.Exited():
			if r.stopping(c) {
				return "", false
			}
			x, _ := ct.Wait(context.Background())
			return exitReason(x), true
		case <-t.C:
			ctx, cancel := context.WithTimeout(r.ctx, checkTimeout)
			err := check(ctx)
			cancel()
			if err == nil {
				continue
			}
			r.mu.Lock()
			if c.stopping {
				r.mu.Unlock()
				return "", false
			}
			c.stopping = true // ours now: a stop request finds nothing more to do
			r.mu.Unlock()
			select {
			case <-ct.Exited(): // the check failed because the process is gone
				x, _ := ct.Wait(context.Background())
				return exitReason(x), true
			default:
			}
			reason := "Instance became unhealthy: " + err.Error()
			r.metrics.HealthCheckFailures.Inc()
			r.health(c, api.StreamErr, "Container became unhealthy: "+err.Error())
			return reason, true
		}
	}
}

func exitReason(x executor.Exit) string {
	if x.OOMKilled {
		return fmt.Sprintf("APP/PROC/WEB: Exited with status %d (out of memory)", x.Code)
	}
	return fmt.Sprintf("APP/PROC/WEB: Exited with status %d", x.Code)
}

// Listening reports whether a socket in pid's network namespace listens on TCP port
// (a LISTEN row, state 0A, in /proc/PID/net/tcp or tcp6).
func Listening(pid, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"tcp", "tcp6"} {
		fh, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				fh.Close()
				return true
			}
		}
		fh.Close()
	}
	return false
}

func (r *Rep) stopReq(w http.ResponseWriter, req *http.Request) {
	var sr api.StopRequest
	if code, err := api.Decode(w, req, &sr, 0); err != nil {
		api.WriteError(w, code, err)
		return
	}
	r.mu.Lock()
	c, ok := r.lrps[sr.Instance.InstanceGUID]
	if ok {
		if c.stopping {
			r.mu.Unlock()
			api.WriteJSON(w, http.StatusOK, struct{}{})
			return
		}
		c.stopping = true
	}
	r.mu.Unlock()
	if !ok {
		api.WriteError(w, http.StatusNotFound, &model.NotFoundError{Kind: "instance", Key: sr.Instance.InstanceGUID})
		return
	}
	r.goTracked(func() { r.stopLRP(c) })
	api.WriteJSON(w, http.StatusOK, struct{}{})
}

// stopLRP: COMPLETED, stopped -> remove the ActualLRP, then delete the container.
func (r *Rep) stopLRP(c *lrpC) {
	r.mu.Lock()
	ct, st := c.ct, c.state
	r.mu.Unlock()
	if ct != nil {
		r.cell(c, "stopping instance %s", c.ik.InstanceGUID)
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StopGrace+10*time.Second)
		_, _ = ct.Stop(ctx, r.cfg.StopGrace)
		cancel()
		r.destroyLogged(c, ct)
	} else if st == stReserved {
		return // runLRP sees stopping after its claim and removes the row
	}
	_ = r.report("remove", c, "")
	r.forgetLRP(c)
}

func (r *Rep) cancelReq(w http.ResponseWriter, req *http.Request) {
	var cr api.CancelRequest
	if code, err := api.Decode(w, req, &cr, 0); err != nil {
		api.WriteError(w, code, err)
		return
	}
	r.mu.Lock()
	t, ok := r.tasks[cr.TaskGUID]
	var ct *executor.Container
	if ok {
		t.cancelled = true
		ct = t.ct
	}
	r.mu.Unlock()
	if !ok {
		api.WriteError(w, http.StatusNotFound, &model.NotFoundError{Kind: "task", Key: cr.TaskGUID})
		return
	}
	r.goTracked(func() { r.destroy(ct) })
	api.WriteJSON(w, http.StatusOK, struct{}{})
}

func (r *Rep) getRunInfo(guid string, ri *api.RunInfo) error {
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	return r.bbs.Do(ctx, http.MethodGet, "/v1/run/"+guid, nil, ri)
}

func (r *Rep) forgetTask(t *taskC) {
	r.mu.Lock()
	if r.tasks[t.guid] == t {
		delete(r.tasks, t.guid)
	}
	r.mu.Unlock()
}

// runTask starts, runs and completes one task (staging included).
func (r *Rep) runTask(t *taskC) {
	log := r.log.With("task", t.guid)
	defer r.forgetTask(t)
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	var sr api.StartTaskReply
	err := r.bbs.Do(ctx, http.MethodPost, "/v1/tasks/"+t.guid+"/start", api.TaskReport{TaskGUID: t.guid, CellID: r.cfg.CellID}, &sr)
	cancel()
	if err != nil || !sr.Start {
		log.Info("task not started", "err", err)
		return
	}
	failed, reason, result := r.execTask(t, log)
	r.mu.Lock()
	cancelled := t.cancelled
	r.mu.Unlock()
	if cancelled {
		return // the BBS completed it already
	}
	ctx, cancel = context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	if err := r.bbs.Do(ctx, http.MethodPost, "/v1/tasks/"+t.guid+"/complete",
		api.TaskReport{TaskGUID: t.guid, CellID: r.cfg.CellID, Failed: failed, Reason: reason, Result: result}, nil); err != nil {
		log.Warn("complete", "err", err)
	}
}

func (r *Rep) execTask(t *taskC, log interface{ Warn(string, ...any) }) (failed bool, reason, result string) {
	var ri api.RunInfo
	if err := r.getRunInfo(t.guid, &ri); err != nil {
		return true, "run info: " + err.Error(), ""
	}
	dir := filepath.Join(r.cfg.Dir, "tasks", t.guid)
	defer os.RemoveAll(dir)
	spec := executor.ContainerSpec{ID: "t-" + t.guid, MemoryMB: max(t.res.MemoryMB, 16), DiskMB: t.res.DiskMB, MaxPids: t.res.MaxPids,
		Command: ri.Command}
	if ri.Kind == api.KindStaging {
		spec.Log = r.sink(ri.App, api.SourceStage, 0)
	} else {
		spec.Log = r.sink(ri.App, api.SourceApp, 0)
	}
	out := filepath.Join(dir, "output")
	switch ri.Kind {
	case api.KindStaging:
		src := filepath.Join(dir, "src")
		if err := r.fetchPackage(ri.Package, src); err != nil {
			return true, "staging: downloading the package: " + err.Error(), ""
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return true, err.Error(), ""
		}
		if err := os.Chown(out, 2000, 2000); err != nil {
			return true, err.Error(), ""
		}
		script, err := buildpacks.Script(ri.Buildpack)
		if err != nil {
			return true, "staging: " + err.Error(), ""
		}
		spec.AppDir, spec.OutputDir, spec.Command = src, out, script
		if ri.Command != "" {
			spec.Env = []string{"DIEGOLAB_START_COMMAND=" + ri.Command}
		}
	case api.KindTask:
		d, err := r.droplet(ri.DropletSHA)
		if err != nil {
			return true, "droplet: " + err.Error(), ""
		}
		spec.AppDir = d
	default:
		return true, fmt.Sprintf("run info kind %q is not a task", ri.Kind), ""
	}
	r.mu.Lock()
	if t.cancelled {
		r.mu.Unlock()
		return true, model.ReasonTaskCancelled, ""
	}
	r.mu.Unlock()
	ct, err := r.ex.Create(r.ctx, spec)
	if err != nil {
		return true, "container: " + err.Error(), ""
	}
	defer r.destroy(ct)
	r.mu.Lock()
	t.ct, t.state = ct, stRunning
	r.mu.Unlock()
	if err := ct.Start(r.ctx); err != nil {
		return true, "container: " + err.Error(), ""
	}
	x, err := ct.Wait(r.ctx)
	if err != nil {
		return true, err.Error(), ""
	}
	if x.Code != 0 || x.Stopped {
		return true, fmt.Sprintf("APP/TASK: Exited with status %d", x.Code), ""
	}
	if ri.Kind != api.KindStaging {
		return false, "", ""
	}
	cmd, err := os.ReadFile(filepath.Join(out, "start_command"))
	if err != nil {
		return true, "staging: the buildpack wrote no start_command", ""
	}
	sha, err := r.uploadDroplet(filepath.Join(out, "droplet"))
	if err != nil {
		return true, "staging: uploading the droplet: " + err.Error(), ""
	}
	res, _ := json.Marshal(api.StagingResult{DropletSHA: sha, StartCommand: strings.TrimSpace(string(cmd))})
	return false, "", string(res)
}

// fetchPackage writes the package's files (manifest + blobs) under dst.
func (r *Rep) fetchPackage(pkg, dst string) error {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	var files []api.File
	if err := r.bbs.Do(ctx, http.MethodGet, "/v1/blobs/"+pkg, nil, &files); err != nil {
		return err
	}
	for _, f := range files {
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("package path %q escapes the app directory", f.Path)
		}
		p := filepath.Join(dst, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		fh, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(f.Mode|0o444)&0o755)
		if err != nil {
			return err
		}
		err = r.bbs.DoRaw(ctx, http.MethodGet, "/v1/blobs/"+f.SHA256, nil, "", fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// uploadDroplet tars and gzips dir, uploads it and returns its sha256.
func (r *Rep) uploadDroplet(dir string) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dir), "droplet-*.tgz")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(tmp, h))
	tw := tar.NewWriter(gz)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	if _, err := tmp.Seek(0, 0); err != nil {
		return "", err
	}
	defer tmp.Close()
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	return sha, r.bbs.DoRaw(ctx, http.MethodPut, "/v1/droplets/"+sha, tmp, "application/gzip", nil)
}

// droplet returns the directory holding the extracted droplet sha, downloading and
// extracting it once per rep.
func (r *Rep) droplet(sha string) (string, error) {
	if len(sha) != 64 {
		return "", fmt.Errorf("droplet %q: not a sha256", sha)
	}
	r.dropMu.Lock()
	m, ok := r.dropets[sha]
	if !ok {
		m = &sync.Mutex{}
		r.dropets[sha] = m
	}
	r.dropMu.Unlock()
	m.Lock()
	defer m.Unlock()
	dst := filepath.Join(r.cfg.Dir, "droplets", sha)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(r.cfg.Dir, "droplets"), ".x-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	go func() { pw.CloseWithError(r.bbs.DoRaw(ctx, http.MethodGet, "/v1/blobs/"+sha, nil, "", pw)) }()
	if err := extract(pr, tmp); err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("droplet %s: %w", sha[:12], err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// extract unpacks a tar.gz of regular files and directories under dst.
func extract(rd io.Reader, dst string) error {
	gz, err := gzip.NewReader(rd)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(h.Name) {
			return fmt.Errorf("entry %q escapes the droplet", h.Name)
		}
		p := filepath.Join(dst, h.Name)
		mode := os.FileMode(h.Mode&0o755) | 0o444
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, mode|0o111); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q: only files and directories are allowed", h.Name)
		}
	}
}
