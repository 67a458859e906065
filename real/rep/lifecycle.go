package rep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/diegolab/diegolab/model"
	mrep "github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/buildpacks"
	"github.com/diegolab/diegolab/real/executor"
)

// This file is the real driver of model/rep: every decision about a container is the
// state machine's, taken under r.mu; what runs here is only its I/O (runc through the
// executor, HTTP to the BBS), each container's in a goroutine of its own that feeds
// the results back.

// lrpC is one LRP container. The embedded state machine, ct, addr and app are guarded
// by Rep.mu.
type lrpC struct {
	mrep.Container
	key  model.ActualLRPKey
	ik   model.InstanceKey
	res  model.Resource
	born time.Time
	ct   Container
	addr string
	app  string // the app's name (its log stream), once the run info is known
	hc   api.HealthCheck
	// reporting lets one report about the container go to the BBS at a time (taken
	// without Rep.mu), so that a report decided later (a stop's remove) cannot overtake
	// one still on its way (a start): see reportLRP.
	reporting sync.Mutex
}

// taskC is one task container; the same fields are guarded by Rep.mu.
type taskC struct {
	mrep.Container
	guid string
	res  model.Resource
	born time.Time
	ct   Container
}

// state is the container's state as GET /state and the metrics show it.
func state(c *mrep.Container) string { return c.Phase().String() }

// driveLRP carries out st for c and everything that follows from it: the executor's
// answers (created, healthy, exited) and the BBS's (claim, start, evacuation) are fed
// back to the state machine until it asks for nothing more. It returns when the
// container is finished with, or runs with nothing to do but be supervised (which the
// goroutine that started it does).
func (r *Rep) driveLRP(c *lrpC, st mrep.Step) {
	for st.Any() {
		next := r.execLRP(c, st.Exec)
		if st.Report != mrep.ReportNone {
			reply, sent := r.reportLRP(c, st)
			if sent && st.Report.Answered() {
				if r.stopping() {
					return // no answer to act on: see stopping
				}
				r.mu.Lock()
				after := c.Reply(st.Report, reply)
				r.mu.Unlock()
				if after.Any() {
					st = after
					continue
				}
				if st.Report == mrep.ReportStart && reply.OK {
					next = r.supervise(c)
				}
			}
		}
		st = next
	}
	r.mu.Lock()
	done := c.Done()
	r.mu.Unlock()
	if done {
		r.forgetLRP(c)
	}
}

// stopping says the rep itself is stopping. A report it sent then was cut short by its
// own context, so the failure is no answer from the BBS: taking it for a refusal would
// destroy a container the BBS may well have started (its start reached the BBS, the
// answer did not reach the rep). Nothing more is done for the container: a clean stop's
// Cleanup removes it, and after a crash the next life of the rep re-adopts it.
func (r *Rep) stopping() bool { return r.ctx.Err() != nil }

// execLRP runs an executor command for c and returns the step that its outcome leads
// to (nothing for a stop or a destroy).
func (r *Rep) execLRP(c *lrpC, e mrep.Exec) mrep.Step {
	switch e {
	case mrep.ExecCreate:
		ct, err := r.createLRP(c)
		r.mu.Lock()
		var st mrep.Step
		var pull pullError
		switch {
		case err == nil:
			c.ct = ct
			st = c.Created(true)
		case errors.As(err, &pull):
			// Diego fetches the image in Garden's create, after the executor took the
			// run: the container fails (INITIALIZING -> COMPLETED, failed) and the
			// instance crashes, with the crash backoff, as the simulator's does.
			st = c.Exited(pull.err.Error()) // "failed to pull image REF: ..."
		default:
			st = c.Created(false)
		}
		r.mu.Unlock()
		if err != nil {
			r.log.Warn("container create failed", "lrp", c.key.String(), "instance", c.ik.InstanceGUID, "err", err)
		}
		return st
	case mrep.ExecRun:
		return r.runLRP(c)
	case mrep.ExecStop, mrep.ExecDestroy:
		r.mu.Lock()
		ct := c.ct
		r.mu.Unlock()
		if ct == nil {
			return mrep.Step{} // still being created: destroyed when its creation returns
		}
		if e == mrep.ExecStop {
			r.cell(c, "stopping instance %s", c.ik.InstanceGUID)
			ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StopGrace+10*time.Second)
			_, _ = ct.Stop(ctx, r.cfg.StopGrace)
			cancel()
		}
		r.destroyLogged(c, ct)
	}
	return mrep.Step{}
}

// pullError is a create that failed on the instance's image (pull, resolve, unpack).
type pullError struct{ err error }

func (e pullError) Error() string { return e.err.Error() }
func (e pullError) Unwrap() error { return e.err }

// createLRP fetches the instance's run info and droplet and creates its container.
func (r *Rep) createLRP(c *lrpC) (Container, error) {
	var ri api.RunInfo
	if err := r.getRunInfo(c.key.ProcessGUID, &ri); err != nil {
		return nil, err
	}
	r.mu.Lock()
	c.app, c.hc = ri.App, ri.HealthCheck
	r.mu.Unlock()
	appDir := ""
	if ri.Docker == nil {
		var err error
		if appDir, err = r.droplet(ri.DropletSHA); err != nil {
			return nil, err
		}
	}
	timeout := r.cfg.StartTimeout
	if ri.StartTimeout > 0 && ri.StartTimeout < timeout {
		timeout = ri.StartTimeout
	}
	r.mu.Lock()
	c.hc.StartTimeout = timeout
	r.mu.Unlock()
	spec := executor.ContainerSpec{
		ID: "l-" + c.key.ProcessGUID + "-" + strconv.Itoa(c.key.Index) + "-" + c.ik.InstanceGUID, MemoryMB: max(c.res.MemoryMB, 1),
		DiskMB: c.res.DiskMB, MaxPids: c.res.MaxPids, AppDir: appDir, Command: ri.Command, Ports: []int{appPort},
		Env: []string{"INSTANCE_INDEX=" + strconv.Itoa(c.key.Index), "INSTANCE_GUID=" + c.ik.InstanceGUID, "CF_INSTANCE_INDEX=" + strconv.Itoa(c.key.Index)},
		Log: r.sink(ri.App, api.SourceApp, c.key.Index),
	}
	release, digest := func() {}, ""
	if ri.Docker != nil {
		// The image's env first: the instance's own variables win.
		spec.Env = append(append([]string(nil), ri.Env...), spec.Env...)
		if len(ri.Ports) > 0 {
			spec.Ports = ri.Ports[:1]
		}
		var err error
		if digest, release, err = r.pullFor(ri.Docker, &spec, func(m string) { r.cell(c, "%s", m) }); err != nil {
			r.cell(c, "failed to create container for instance %s: %v", c.ik.InstanceGUID, err)
			return nil, pullError{err}
		}
	}
	spec.Meta = r.lrpMeta(c, digest, spec.Layers)
	r.cell(c, "creating container for instance %s", c.ik.InstanceGUID)
	ct, err := r.ex.Create(r.ctx, spec)
	if err != nil {
		release()
		r.cell(c, "failed to create container for instance %s: %v", c.ik.InstanceGUID, err)
		return nil, err
	}
	if ri.Docker != nil {
		ct = imageContainer{Container: ct, release: release}
	}
	r.cell(c, "successfully created container for instance %s", c.ik.InstanceGUID)
	return ct, nil
}

// runLRP starts the created container's process and waits for its first passing
// health check: Healthy, or Exited with why it never became healthy.
func (r *Rep) runLRP(c *lrpC) mrep.Step {
	r.mu.Lock()
	ct, hc := c.ct, c.hc
	r.mu.Unlock()
	if err := ct.Start(r.ctx); err != nil {
		return r.exited(c, "failed to start: "+err.Error())
	}
	check := checkerFor(hc, ct)
	r.health(c, api.StreamOut, "Starting health monitoring of container")
	timeout := hc.StartTimeout
	if timeout <= 0 {
		timeout = r.cfg.StartTimeout
	}
	healthy, why := r.waitHealthy(ct, check, timeout)
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
		return r.exited(c, reason)
	}
	r.health(c, api.StreamOut, "Container became healthy")
	addr, _ := ct.HostAddr(portOf(ct))
	r.mu.Lock()
	c.addr = addr
	st := c.Healthy()
	r.mu.Unlock()
	return st
}

// exited feeds an exit of c's process to the state machine.
func (r *Rep) exited(c *lrpC, reason string) mrep.Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.Exited(reason)
}

// supervise watches a RUNNING instance: its exit, and its health check every interval.
// It returns the step for a crash, or nothing once the rep itself stopped it.
func (r *Rep) supervise(c *lrpC) mrep.Step {
	r.mu.Lock()
	ct, hc := c.ct, c.hc
	r.mu.Unlock()
	r.log.Info("running", "lrp", c.key.String(), "instance", c.ik.InstanceGUID, "address", c.addr)
	interval := hc.Interval
	if interval <= 0 {
		interval = r.cfg.CheckInterval
	}
	check := checkerFor(hc, ct)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return mrep.Step{}
		case <-ct.Exited():
			x, _ := ct.Wait(context.Background())
			return r.exited(c, exitReason(x))
		case <-t.C:
			ctx, cancel := context.WithTimeout(r.ctx, checkTimeout)
			err := check(ctx)
			cancel()
			if err == nil {
				continue
			}
			select {
			case <-ct.Exited(): // the check failed because the process is gone
				x, _ := ct.Wait(context.Background())
				return r.exited(c, exitReason(x))
			default:
			}
			r.metrics.HealthCheckFailures.Inc()
			r.health(c, api.StreamErr, "Container became unhealthy: "+err.Error())
			return r.exited(c, "Instance became unhealthy: "+err.Error())
		}
	}
}

func exitReason(x executor.Exit) string {
	if x.OOMKilled {
		return fmt.Sprintf("APP/PROC/WEB: Exited with status %d (out of memory)", x.Code)
	}
	return fmt.Sprintf("APP/PROC/WEB: Exited with status %d", x.Code)
}

// reportLRP sends the state machine's report about c to the BBS and returns its answer.
// A container's reports go out one at a time. One that expects an answer (a start, an
// evacuation) is not sent (sent is false) when the container ended after it was
// decided: whoever ended it reports the end, and a start or evacuation arriving after
// that removal would bring back a row for a container that is gone.
func (r *Rep) reportLRP(c *lrpC, st mrep.Step) (reply mrep.Reply, sent bool) {
	c.reporting.Lock()
	defer c.reporting.Unlock()
	r.mu.Lock()
	addr, stale := c.addr, st.Report.Answered() && c.Done()
	r.mu.Unlock()
	if stale {
		return mrep.Reply{}, false
	}
	return r.reportRow(c.key, c.ik, addr, st), true
}

// reportRow sends a report about an ActualLRP row (of a container, or of none: the bulk
// sync's repairs) to the BBS.
func (r *Rep) reportRow(key model.ActualLRPKey, ik model.InstanceKey, addr string, st mrep.Step) mrep.Reply {
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	var out api.EvacuateReply
	err := r.bbs.Do(ctx, http.MethodPost, "/v1/actual/"+st.Report.String(),
		api.LRPReport{Key: key, Instance: ik, Address: addr, Reason: st.Reason}, &out)
	if err != nil && r.ctx.Err() == nil {
		r.log.Info("report refused", "op", st.Report.String(), "lrp", key.String(), "instance", ik.InstanceGUID, "err", err)
	}
	return mrep.Reply{OK: err == nil, Keep: out.KeepContainer}
}

func (r *Rep) forgetLRP(c *lrpC) {
	r.mu.Lock()
	if r.lrps[c.ik.InstanceGUID] == c {
		delete(r.lrps, c.ik.InstanceGUID)
	}
	r.mu.Unlock()
}

func (r *Rep) stopReq(w http.ResponseWriter, req *http.Request) {
	var sr api.StopRequest
	if code, err := api.Decode(w, req, &sr, 0); err != nil {
		api.WriteError(w, code, err)
		return
	}
	r.mu.Lock()
	c, ok := r.lrps[sr.Instance.InstanceGUID]
	var st mrep.Step
	if ok {
		st = c.Stop()
	}
	r.mu.Unlock()
	if !ok {
		api.WriteError(w, http.StatusNotFound, &model.NotFoundError{Kind: "instance", Key: sr.Instance.InstanceGUID})
		return
	}
	if st.Any() {
		r.goTracked(func() { r.driveLRP(c, st) })
	}
	api.WriteJSON(w, http.StatusOK, struct{}{})
}

func (r *Rep) getRunInfo(guid string, ri *api.RunInfo) error {
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	return r.bbs.Do(ctx, http.MethodGet, "/v1/run/"+guid, nil, ri)
}

// ---- tasks ----

// driveTask carries out st for t and what follows from it, as driveLRP does.
func (r *Rep) driveTask(t *taskC, st mrep.Step) {
	for st.Any() {
		var next mrep.Step
		switch st.Exec {
		case mrep.ExecCreate:
			failed, reason, result := r.execTask(t)
			r.mu.Lock()
			next = t.TaskExited(failed, reason, result)
			r.mu.Unlock()
		case mrep.ExecStop, mrep.ExecDestroy:
			r.mu.Lock()
			ct := t.ct
			r.mu.Unlock()
			if ct != nil {
				r.destroy(ct)
			}
		}
		if st.Report != mrep.ReportNone {
			reply := r.reportTask(t.guid, st)
			if st.Report.Answered() {
				if r.stopping() {
					return // no answer to act on: see stopping
				}
				r.mu.Lock()
				next = t.Reply(st.Report, reply)
				r.mu.Unlock()
			}
		}
		st = next
	}
	r.mu.Lock()
	if t.Done() && r.tasks[t.guid] == t {
		delete(r.tasks, t.guid)
	}
	r.mu.Unlock()
}

// reportTask sends a report about a task to the BBS and returns its answer.
func (r *Rep) reportTask(guid string, st mrep.Step) mrep.Reply {
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	rep := api.TaskReport{TaskGUID: guid, CellID: r.cfg.CellID}
	switch st.Report {
	case mrep.ReportStartTask:
		var sr api.StartTaskReply
		err := r.bbs.Do(ctx, http.MethodPost, "/v1/tasks/"+guid+"/start", rep, &sr)
		if err != nil {
			r.log.Info("task not started", "task", guid, "err", err)
		}
		return mrep.Reply{OK: err == nil && sr.Start}
	case mrep.ReportCompleteTask:
		rep.Failed, rep.Reason, rep.Result = st.Failed, st.Reason, st.Result
		err := r.bbs.Do(ctx, http.MethodPost, "/v1/tasks/"+guid+"/complete", rep, nil)
		if err != nil && r.ctx.Err() == nil {
			r.log.Warn("complete", "task", guid, "err", err)
		}
		return mrep.Reply{OK: err == nil}
	}
	return mrep.Reply{}
}

func (r *Rep) cancelReq(w http.ResponseWriter, req *http.Request) {
	var cr api.CancelRequest
	if code, err := api.Decode(w, req, &cr, 0); err != nil {
		api.WriteError(w, code, err)
		return
	}
	r.mu.Lock()
	t, ok := r.tasks[cr.TaskGUID]
	var st mrep.Step
	if ok {
		st = t.Cancel()
	}
	r.mu.Unlock()
	if !ok {
		api.WriteError(w, http.StatusNotFound, &model.NotFoundError{Kind: "task", Key: cr.TaskGUID})
		return
	}
	if st.Any() {
		r.goTracked(func() { r.driveTask(t, st) })
	}
	api.WriteJSON(w, http.StatusOK, struct{}{})
}

// execTask runs the task's container to its end: the task's command on its droplet,
// or a staging (download the package, run the buildpack, upload the droplet).
func (r *Rep) execTask(t *taskC) (failed bool, reason, result string) {
	var ri api.RunInfo
	if err := r.getRunInfo(t.guid, &ri); err != nil {
		return true, "run info: " + err.Error(), ""
	}
	dir := filepath.Join(r.cfg.Dir, "tasks", t.guid)
	defer os.RemoveAll(dir)
	spec := executor.ContainerSpec{ID: "t-" + t.guid, MemoryMB: max(t.res.MemoryMB, 16), DiskMB: t.res.DiskMB, MaxPids: t.res.MaxPids,
		Command: ri.Command}
	if ri.Kind == api.KindStaging || ri.Kind == api.KindDockerStaging {
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
	case api.KindDockerStaging:
		return r.stageDocker(ri, func(m string) {
			spec.Log(executor.LogLine{ContainerID: spec.ID, Stream: executor.Stdout, Text: m, At: time.Now()})
		})
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
	cancelled := t.Done()
	r.mu.Unlock()
	if cancelled {
		return true, model.ReasonTaskCancelled, ""
	}
	ct, err := r.ex.Create(r.ctx, spec)
	if err != nil {
		return true, "container: " + err.Error(), ""
	}
	defer r.destroy(ct)
	r.mu.Lock()
	t.ct, cancelled = ct, t.Done()
	r.mu.Unlock()
	if cancelled { // cancelled while the container was being created
		return true, model.ReasonTaskCancelled, ""
	}
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

func (r *Rep) destroy(ct Container) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ct.Destroy(ctx); err != nil {
		r.log.Warn("destroy", "container", ct.ID(), "err", err)
	}
}
