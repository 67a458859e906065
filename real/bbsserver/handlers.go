package bbsserver

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/stage"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/hostnet"
	"github.com/diegolab/diegolab/real/metrics"
	"github.com/diegolab/diegolab/real/sqlstore"
)

// Spec kinds kept in the store next to the BBS's own tables.
const (
	specApp      = "app"      // app name -> api.App
	specRun      = "run"      // process guid or task guid -> api.RunInfo
	specTaskApp  = "task-app" // task guid -> taskMeta
	specTaskDone = "task-done"
)

type taskMeta struct {
	App     string `json:"app"`
	Command string `json:"command"`
	// Cell ran the task (the BBS clears a task's cell when it completes, as
	// Diego's does; `tasks` still shows it).
	Cell string `json:"cell,omitempty"`
}

// Limits of request bodies.
const (
	maxBlob = 512 << 20
	maxPush = 8 << 20
)

var (
	appName  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func (s *Server) routes() http.Handler {
	client := http.NewServeMux()
	rep := http.NewServeMux()
	both := http.NewServeMux()

	both.HandleFunc("GET /v1/health", s.health)
	both.HandleFunc("GET /v1/blobs/{sha}", s.getBlob)

	rep.HandleFunc("POST /v1/presence", s.heartbeat)
	rep.HandleFunc("DELETE /v1/presence/{cell}", s.leave)
	rep.HandleFunc("POST /v1/actual/{op}", s.actualReport)
	rep.HandleFunc("POST /v1/tasks/{guid}/start", s.taskStart)
	rep.HandleFunc("POST /v1/tasks/{guid}/complete", s.taskComplete)
	rep.HandleFunc("GET /v1/cells/{cell}/actual", s.cellActual)
	rep.HandleFunc("GET /v1/cells/{cell}/tasks", s.cellTasks)
	rep.HandleFunc("GET /v1/run/{guid}", s.runInfo)
	rep.HandleFunc("PUT /v1/droplets/{sha}", s.putBlob)

	client.HandleFunc("POST /v1/blobs/missing", s.blobsMissing)
	client.HandleFunc("PUT /v1/blobs/{sha}", s.putBlob)
	client.HandleFunc("POST /v1/apps/{name}/push", s.push)
	client.HandleFunc("GET /v1/apps", s.listApps)
	client.HandleFunc("GET /v1/apps/{name}", s.getApp)
	client.HandleFunc("POST /v1/apps/{name}/scale", s.scale)
	client.HandleFunc("POST /v1/apps/{name}/stop", s.stopApp)
	client.HandleFunc("POST /v1/apps/{name}/start", s.startApp)
	client.HandleFunc("DELETE /v1/apps/{name}", s.deleteApp)
	client.HandleFunc("POST /v1/apps/{name}/tasks", s.runTask)
	client.HandleFunc("GET /v1/tasks", s.listTasks)
	client.HandleFunc("GET /v1/tasks/{guid}", s.getTask)
	client.HandleFunc("DELETE /v1/tasks/{guid}", s.cancelTask)
	client.HandleFunc("GET /v1/cells", s.listCells)
	client.HandleFunc("GET /v1/record", s.serveRecord)
	client.HandleFunc("GET /v1/apps/{name}/logs", s.streamLogs)
	client.HandleFunc("GET /v1/apps/{name}/logs/stats", s.logStats)
	client.Handle("GET /metrics", metrics.Handler(s.metrics.Registry))

	// Client requests are rate limited after authentication (an unauthenticated
	// flood costs a token comparison and takes no client's budget).
	limited := s.rate.limitRate(client)

	router := http.NewServeMux()
	router.HandleFunc("GET /v1/events", s.serveEvents)
	router.HandleFunc("GET /v1/routes", s.serveRoutes)

	mux := http.NewServeMux()
	mux.Handle("/v1/events", api.RequireToken(router, s.cfg.RouterToken))
	mux.Handle("/v1/routes", api.RequireToken(router, s.cfg.RouterToken))
	mux.HandleFunc("/v1/logs", s.ingestLogs)
	mux.Handle("/v1/health", api.RequireToken(both, s.cfg.Token, s.cfg.RepToken))
	mux.Handle("/v1/blobs/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			api.RequireToken(both, s.cfg.Token, s.cfg.RepToken).ServeHTTP(w, r)
			return
		}
		api.RequireToken(limited, s.cfg.Token).ServeHTTP(w, r)
	}))
	for _, p := range []string{"/v1/presence", "/v1/presence/", "/v1/actual/", "/v1/cells/", "/v1/run/", "/v1/droplets/"} {
		mux.Handle(p, api.RequireToken(rep, s.cfg.RepToken))
	}
	// Exact paths, so that ServeMux does not redirect them to the rep-only subtrees.
	mux.Handle("/v1/cells", api.RequireToken(limited, s.cfg.Token))
	mux.Handle("/v1/tasks", api.RequireToken(limited, s.cfg.Token))
	mux.Handle("/v1/tasks/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/start") || strings.HasSuffix(r.URL.Path, "/complete")) {
			api.RequireToken(rep, s.cfg.RepToken).ServeHTTP(w, r)
			return
		}
		api.RequireToken(limited, s.cfg.Token).ServeHTTP(w, r)
	}))
	mux.Handle("/", api.RequireToken(limited, s.cfg.Token))
	return mux
}

// status maps an operation's error to an HTTP status.
func status(err error) int {
	switch {
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, model.ErrExists), errors.Is(err, model.ErrInvalidTransition):
		return http.StatusConflict
	case errors.Is(err, model.ErrInvalid), errors.Is(err, errRequest), errors.Is(err, errLimit):
		return http.StatusUnprocessableEntity
	case errors.Is(err, errNotActive):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func reply(w http.ResponseWriter, err error, v any) {
	if errors.Is(err, errNotActive) {
		writeNotActive(w, err)
		return
	}
	if err != nil {
		api.WriteError(w, status(err), err)
		return
	}
	if v == nil {
		v = struct{}{}
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func decode(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	if code, err := api.Decode(w, r, v, limit); err != nil {
		api.WriteError(w, code, err)
		return false
	}
	return true
}

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errRequest}, args...)...)
}

// read runs fn under the lock without a transaction (reads only).
func (s *Server) read(fn func(now time.Duration) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fatal != nil {
		return s.fatal
	}
	if !s.lease.active {
		return s.notActive()
	}
	return fn(s.now())
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	var h api.Health
	err := s.read(func(now time.Duration) error {
		h = api.Health{Now: now.Seconds(), Cells: len(s.plane.PresentCells())}
		return nil
	})
	reply(w, err, h)
}

// --- rep side ---

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var p api.Presence
	if !decode(w, r, &p, 0) {
		return
	}
	if err := s.validatePresence(&p); err != nil {
		reply(w, err, nil)
		return
	}
	err := s.do(func(now time.Duration) error {
		if _, known := s.cells[p.CellID]; !known {
			if err := atMost("cell_id", "max-cells", "cells", len(s.cells)+1, s.limits.MaxCells); err != nil {
				return err
			}
		}
		s.cells[p.CellID] = &cellEntry{Presence: p, lastSeen: now}
		s.plane.Heartbeat(now, p.CellID)
		// Kept in the database too, so that a BBS taking over knows the cells.
		return s.store.PutPresence(p.CellID, p, now+s.plane.Config().PresenceTTL)
	})
	reply(w, err, nil)
}

func (s *Server) validatePresence(p *api.Presence) error {
	if err := checkID("cell_id", p.CellID); err != nil {
		return err
	}
	if len(p.Zone) > maxZone {
		return badf("zone: %d bytes, at most %d", len(p.Zone), maxZone)
	}
	if err := p.Capacity.Validate("capacity"); err != nil {
		return err
	}
	if p.Capacity.MemoryMB <= 0 || p.Capacity.DiskMB <= 0 || p.Capacity.Containers <= 0 {
		return badf("capacity: memory_mb, disk_mb and containers must be > 0")
	}
	l := &s.limits
	if err := errors.Join(
		atMost("capacity.memory_mb", "max-cell-memory-mb", "MB per cell", p.Capacity.MemoryMB, l.MaxCellMemoryMB),
		atMost("capacity.disk_mb", "max-cell-disk-mb", "MB per cell", p.Capacity.DiskMB, l.MaxCellDiskMB),
		atMost("capacity.containers", "max-cell-containers", "containers per cell", p.Capacity.Containers, l.MaxCellContainers),
	); err != nil {
		return err
	}
	if p.Index < 0 || p.Index > maxIndex {
		return badf("index: must be in [0, %d], got %d", maxIndex, p.Index)
	}
	if len(p.RootFSProviders) > maxRootFS {
		return badf("rootfs_providers: %d entries, at most %d", len(p.RootFSProviders), maxRootFS)
	}
	for i, r := range p.RootFSProviders {
		if len(r) > maxGUID {
			return badf("rootfs_providers[%d]: %d bytes, at most %d", i, len(r), maxGUID)
		}
	}
	u, err := url.Parse(p.RepURL)
	want := "http"
	if s.cfg.TLS != nil {
		want = "https" // mutual TLS: reps listen with TLS too
	}
	if err != nil || u.Scheme != want || u.Port() == "" || !hostnet.AllowedHostPort(u.Host) {
		return badf("rep_url: %q must be %s://127.0.0.1:PORT (or an address of %s)", p.RepURL, want, hostnet.Subnet)
	}
	return nil
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	cell := r.PathValue("cell")
	err := s.do(func(now time.Duration) error { s.plane.Leave(now, cell); return s.store.DeletePresence(cell) })
	reply(w, err, nil)
}

func (s *Server) actualReport(w http.ResponseWriter, r *http.Request) {
	var rep api.LRPReport
	if !decode(w, r, &rep, 0) {
		return
	}
	if err := checkReport(&rep, s.limits.MaxReason); err != nil {
		reply(w, err, nil)
		return
	}
	var fn func(now time.Duration) error
	switch op := r.PathValue("op"); op {
	case "claim":
		fn = func(now time.Duration) error { return s.plane.ClaimLRP(now, rep.Key, rep.Instance) }
	case "start":
		if err := loopbackAddr(rep.Address); err != nil {
			reply(w, err, nil)
			return
		}
		fn = func(now time.Duration) error { return s.plane.StartLRP(now, rep.Key, rep.Instance, rep.Address) }
	case "crash":
		fn = func(now time.Duration) error { return s.plane.CrashLRP(now, rep.Key, rep.Instance, rep.Reason) }
	case "remove":
		fn = func(now time.Duration) error { return s.plane.RemoveActualLRP(now, rep.Key, rep.Instance) }
	case "remove-evacuating":
		fn = func(now time.Duration) error { return s.plane.RemoveEvacuating(now, rep.Key, rep.Instance) }
	case "evacuate-claimed", "evacuate-running":
		s.evacuateReport(w, op, rep)
		return
	default:
		api.WriteError(w, http.StatusNotFound, fmt.Errorf("unknown operation %q (want claim, start, crash, remove, remove-evacuating, evacuate-claimed or evacuate-running)", op))
		return
	}
	reply(w, s.do(fn), nil)
}

// evacuateReport answers an evacuating rep's report about one of its instances with
// whether it keeps the container (DIEGO.md §6.5). Like Diego's, the answer carries
// keep_container even when the call failed, so the reply is 200 with the error inside
// for the BBS's refusals; a store failure is still an error.
func (s *Server) evacuateReport(w http.ResponseWriter, op string, rep api.LRPReport) {
	state := model.Claimed
	if op == "evacuate-running" {
		if err := loopbackAddr(rep.Address); err != nil {
			reply(w, err, nil)
			return
		}
		state = model.Running
	}
	var keep bool
	err := s.do(func(now time.Duration) error {
		var err error
		keep, err = s.plane.Evacuate(now, rep.Key, rep.Instance, state, rep.Address)
		return err
	})
	out := api.EvacuateReply{KeepContainer: keep}
	if err != nil {
		if isStoreError(err) && !keep {
			reply(w, err, nil)
			return
		}
		out.Error = err.Error()
	}
	reply(w, nil, out)
}

func loopbackAddr(a string) error {
	if ap, err := netip.ParseAddrPort(a); err != nil || ap.Port() == 0 || !hostnet.AllowedHostPort(a) {
		return badf("address: %q must be 127.0.0.1:PORT (or an address of %s)", a, hostnet.Subnet)
	}
	return nil
}

func (s *Server) taskStart(w http.ResponseWriter, r *http.Request) {
	var rep api.TaskReport
	if !decode(w, r, &rep, 0) {
		return
	}
	if err := errors.Join(checkID("task guid", r.PathValue("guid")), checkID("cell_id", rep.CellID)); err != nil {
		reply(w, err, nil)
		return
	}
	var ok bool
	err := s.do(func(now time.Duration) error {
		var err error
		ok, err = s.plane.StartTask(now, r.PathValue("guid"), rep.CellID)
		if err != nil || !ok {
			return err
		}
		var meta taskMeta
		found, err := s.store.GetSpec(specTaskApp, r.PathValue("guid"), &meta)
		if err != nil || !found {
			return err
		}
		meta.Cell = rep.CellID
		return s.store.PutSpec(specTaskApp, r.PathValue("guid"), meta)
	})
	reply(w, err, api.StartTaskReply{Start: ok})
}

func (s *Server) taskComplete(w http.ResponseWriter, r *http.Request) {
	var rep api.TaskReport
	if !decode(w, r, &rep, 0) {
		return
	}
	if err := errors.Join(checkID("task guid", r.PathValue("guid")), checkID("cell_id", rep.CellID)); err != nil {
		reply(w, err, nil)
		return
	}
	rep.Reason = truncate(rep.Reason, s.limits.MaxReason)
	if len(rep.Result) > s.limits.MaxResult {
		// As Diego's executor: a result beyond the limit fails the task (the
		// report is not refused, so the task is not left running forever).
		rep.Failed, rep.Result = true, ""
		rep.Reason = fmt.Sprintf("task result exceeds %d bytes (bbs --max-result)", s.limits.MaxResult)
	}
	err := s.do(func(now time.Duration) error {
		return s.plane.CompleteTask(now, r.PathValue("guid"), rep.CellID, rep.Failed, rep.Reason, rep.Result)
	})
	reply(w, err, nil)
}

func (s *Server) cellActual(w http.ResponseWriter, r *http.Request) {
	var out []model.ActualLRP
	err := s.read(func(time.Duration) error {
		var err error
		out, err = s.store.ListActualLRPsByCell(r.PathValue("cell"))
		return err
	})
	reply(w, err, out)
}

func (s *Server) cellTasks(w http.ResponseWriter, r *http.Request) {
	cell := r.PathValue("cell")
	out := []model.Task{}
	err := s.read(func(time.Duration) error {
		all, err := s.store.ListTasks()
		for _, t := range all {
			if t.CellID == cell {
				out = append(out, t)
			}
		}
		return err
	})
	reply(w, err, out)
}

func (s *Server) runInfo(w http.ResponseWriter, r *http.Request) {
	var ri api.RunInfo
	err := s.read(func(time.Duration) error {
		ok, err := s.store.GetSpec(specRun, r.PathValue("guid"), &ri)
		if err == nil && !ok {
			err = &model.NotFoundError{Kind: "run info", Key: r.PathValue("guid")}
		}
		return err
	})
	reply(w, err, ri)
}

// --- blobs ---

func (s *Server) blobPath(sha string) string { return filepath.Join(s.blobs, sha) }

func (s *Server) blobsMissing(w http.ResponseWriter, r *http.Request) {
	var req api.BlobsMissing
	if !decode(w, r, &req, 0) {
		return
	}
	out := api.BlobsMissing{SHA256: []string{}}
	for _, sh := range req.SHA256 {
		if !sha256Re.MatchString(sh) {
			reply(w, badf("sha256: %q is not 64 lowercase hex digits", sh), nil)
			return
		}
		if _, err := os.Stat(s.blobPath(sh)); err != nil {
			out.SHA256 = append(out.SHA256, sh)
		}
	}
	reply(w, nil, out)
}

func (s *Server) putBlob(w http.ResponseWriter, r *http.Request) {
	sh := r.PathValue("sha")
	if !sha256Re.MatchString(sh) {
		reply(w, badf("sha256: %q is not 64 lowercase hex digits", sh), nil)
		return
	}
	tmp, err := os.CreateTemp(s.blobs, ".upload-")
	if err != nil {
		reply(w, err, nil)
		return
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), http.MaxBytesReader(w, r.Body, maxBlob))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			api.WriteError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("blob exceeds %d bytes", int64(maxBlob)))
			return
		}
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("reading the blob: %w", err))
		return
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sh {
		reply(w, badf("blob content has sha256 %s, not %s", got, sh), nil)
		return
	}
	if err := os.Rename(tmp.Name(), s.blobPath(sh)); err != nil {
		reply(w, err, nil)
		return
	}
	reply(w, nil, nil)
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request) {
	sh := r.PathValue("sha")
	if !sha256Re.MatchString(sh) {
		reply(w, badf("sha256: %q is not 64 lowercase hex digits", sh), nil)
		return
	}
	f, err := os.Open(s.blobPath(sh))
	if err != nil {
		reply(w, &model.NotFoundError{Kind: "blob", Key: sh}, nil)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = io.Copy(w, f)
}

// --- apps ---

func (s *Server) appOf(name string) (api.App, error) {
	var a api.App
	if !appName.MatchString(name) {
		return a, badf("app name %q: want lowercase letters, digits and dashes, at most 40", name)
	}
	ok, err := s.store.GetSpec(specApp, name, &a)
	if err == nil && !ok {
		err = &model.NotFoundError{Kind: "app", Key: name}
	}
	return a, err
}

func validPath(p string) bool {
	return p != "" && !strings.HasPrefix(p, "/") && path.Clean(p) == p && p != "." && p != ".." && !strings.HasPrefix(p, "../")
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req api.PushRequest
	if !decode(w, r, &req, maxPush) {
		return
	}
	if err := validatePush(name, &req); err != nil {
		reply(w, err, nil)
		return
	}
	if err := s.limits.checkPush(&req); err != nil {
		reply(w, err, nil)
		return
	}
	if err := validateAround(name, &req); err != nil {
		reply(w, err, nil)
		return
	}
	for _, f := range req.Files {
		if _, err := os.Stat(s.blobPath(f.SHA256)); err != nil {
			reply(w, badf("files: %s (%s) was not uploaded", f.Path, f.SHA256), nil)
			return
		}
	}
	manifest, _ := json.Marshal(req.Files)
	sum := sha256.Sum256(manifest)
	pkg := hex.EncodeToString(sum[:])
	if err := writeFileAtomic(s.blobs, pkg, manifest); err != nil {
		reply(w, err, nil)
		return
	}
	var app api.App
	err := s.do(func(now time.Duration) error {
		old, err := s.appOf(name)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			return err
		}
		if err != nil { // a new app
			if err := s.checkAppCount(); err != nil {
				return err
			}
		} else if old.State == api.AppStaging && old.StagingTask != "" {
			// One staging task per app: the previous one would only be ignored.
			if err := s.plane.CancelTask(now, old.StagingTask); err != nil && isStoreError(err) {
				return err
			}
		}
		for _, h := range append([]string{name + ".localhost"}, req.Routes...) {
			owner, err := s.routeOwner(name, h)
			if err != nil {
				return err
			}
			if owner != "" {
				return &model.ExistsError{Kind: "route", Key: h + " (app " + owner + ")"}
			}
		}
		app = api.App{Routes: req.Routes, HealthCheck: req.HealthCheck, Drains: req.Drains, Name: name, State: api.AppStaging, Version: old.Version + 1, ProcessGUID: old.ProcessGUID,
			Instances: req.Instances, MemoryMB: req.MemoryMB, DiskMB: req.DiskMB, Buildpack: req.Buildpack,
			Command: req.Command, Package: pkg, DropletSHA: old.DropletSHA}
		app.StagingTask = fmt.Sprintf("stage-%s-v%d", name, app.Version)
		ri := api.RunInfo{Kind: api.KindStaging, Package: pkg, App: name, Buildpack: req.Buildpack, Command: req.Command}
		what := req.Buildpack
		if req.Docker != nil {
			if ri, app.Docker, err = s.dockerStaging(name, app.Version, req.Docker); err != nil {
				return err
			}
			app.Package, app.DropletSHA, what = "", "", "docker"
		}
		if err := s.store.PutSpec(specRun, app.StagingTask, ri); err != nil {
			return err
		}
		if err := s.store.PutSpec(specTaskApp, app.StagingTask, taskMeta{App: name, Command: "staging (" + what + ")"}); err != nil {
			return err
		}
		if err := s.store.PutSpec(specApp, name, app); err != nil {
			return err
		}
		// Sized like the app, not Diego's max(app, 1024 MB / 4096 MB) minimums
		// (model/stage): a live cluster's cells are laptop-sized (1024 MB by default)
		// and the busybox buildpacks need little.
		return s.plane.DesireTask(now, model.Task{GUID: app.StagingTask, Domain: api.StagingDomain, State: model.TaskPending,
			MemoryMB: max(req.MemoryMB, 64), DiskMB: req.DiskMB, RootFS: api.Rootfs, CreatedAt: now, UpdatedAt: now})
	})
	if err == nil {
		if derr := s.logs.SetDrains(name, req.Drains); derr != nil {
			s.log.Warn("drains", "app", name, "err", derr)
		}
	}
	reply(w, err, app)
}

func validatePush(name string, req *api.PushRequest) error {
	if !appName.MatchString(name) {
		return badf("app name %q: want lowercase letters, digits and dashes, at most 40", name)
	}
	if req.Docker != nil {
		if err := validateDockerPush(req); err != nil {
			return err
		}
	}
	switch {
	case req.Instances < 0:
		return badf("instances: must be >= 0, got %d", req.Instances)
	case req.MemoryMB <= 0:
		return badf("memory_mb: must be > 0, got %d", req.MemoryMB)
	case req.DiskMB < 0:
		return badf("disk_mb: must be >= 0, got %d", req.DiskMB)
	case req.Docker == nil && req.Buildpack != "static" && req.Buildpack != "binary":
		return badf("buildpack: %q, want static or binary", req.Buildpack)
	case req.Docker == nil && len(req.Files) == 0:
		return badf("files: the app directory is empty")
	}
	seen := map[string]bool{}
	for i, f := range req.Files {
		if !validPath(f.Path) || seen[f.Path] {
			return badf("files[%d].path: %q must be a clean relative path, listed once", i, f.Path)
		}
		seen[f.Path] = true
		if !sha256Re.MatchString(f.SHA256) {
			return badf("files[%d].sha256: %q is not 64 lowercase hex digits", i, f.SHA256)
		}
		if f.Mode&^0o777 != 0 {
			return badf("files[%d].mode: %o has bits beyond 0777", i, f.Mode)
		}
	}
	return nil
}

// callback handles a completed task: a staging result desires the app's LRP; every
// task is then remembered for `tasks`. The drain then resolves and deletes it (Diego's
// callback answered).
func (s *Server) callback(now time.Duration, t model.Task) error {
	var meta taskMeta
	if _, err := s.store.GetSpec(specTaskApp, t.GUID, &meta); err != nil {
		return err
	}
	var ri api.RunInfo
	if _, err := s.store.GetSpec(specRun, t.GUID, &ri); err != nil {
		return err
	}
	if (ri.Kind == api.KindStaging || ri.Kind == api.KindDockerStaging) && meta.App != "" {
		if err := s.staged(now, meta.App, t); err != nil {
			return err
		}
	}
	done := api.TaskInfo{GUID: t.GUID, App: meta.App, Command: meta.Command, State: model.TaskCompleted.String(),
		CellID: cmp.Or(t.CellID, meta.Cell), Failed: t.Failed, FailureReason: t.FailureReason, Result: t.Result, CompletedAt: now.Seconds()}
	if err := s.store.PutSpec(specTaskDone, t.GUID, done); err != nil {
		return err
	}
	if err := s.pruneDoneTasks(now); err != nil {
		return err
	}
	// The drain answers the callback (Plane.TaskCallbackAnswered): resolving, then deleted.
	return s.store.DeleteSpec(specRun, t.GUID)
}

func (s *Server) staged(now time.Duration, name string, t model.Task) error {
	app, err := s.appOf(name)
	if errors.Is(err, model.ErrNotFound) || err == nil && app.StagingTask != t.GUID {
		return nil // deleted or re-pushed meanwhile
	}
	if err != nil {
		return err
	}
	var res api.StagingResult
	if !t.Failed {
		if err := json.Unmarshal([]byte(t.Result), &res); err != nil || (res.Docker == nil) != (app.Docker == nil) ||
			res.Docker == nil && !sha256Re.MatchString(res.DropletSHA) {
			t.Failed, t.FailureReason = true, fmt.Sprintf("staging result %q is not a droplet", t.Result)
		}
	}
	var dockerRI api.RunInfo
	if !t.Failed && res.Docker != nil {
		var err error
		if app, dockerRI, err = s.stagedDocker(app, t, res.Docker); err != nil {
			if isStoreError(err) {
				return err
			}
			t.Failed, t.FailureReason = true, "staging: "+err.Error()
		}
	}
	if t.Failed {
		// Diego's error ids, as Cloud Controller reports them (DIEGO.md §7.1).
		f := stage.Sanitize(t.FailureReason)
		app.State, app.StagingError = api.AppStagingFailed, f.Error()
		if f.Message == f.Reason {
			app.StagingError = f.ID + ": " + f.Message // said once, not "X: m (m)"
		}
		return s.store.PutSpec(specApp, name, app)
	}
	oldGUID := app.ProcessGUID
	app.DropletSHA = res.DropletSHA
	if app.Command == "" {
		app.Command = res.StartCommand
	}
	app.ProcessGUID = fmt.Sprintf("%s-v%d", name, app.Version)
	app.State, app.StagingError = api.AppStarted, ""
	ri := api.RunInfo{Kind: api.KindLRP, DropletSHA: app.DropletSHA, App: name,
		Command: app.Command, Ports: []int{8080}, StartTimeout: startTimeout(&app), HealthCheck: app.HealthCheck}
	if res.Docker != nil {
		ri = dockerRI
	}
	if err := s.store.PutSpec(specRun, app.ProcessGUID, ri); err != nil {
		return err
	}
	if err := s.store.PutSpec(specApp, name, app); err != nil {
		return err
	}
	if err := s.plane.DesireLRP(now, desiredFor(&app, app.Instances)); err != nil {
		return err
	}
	if oldGUID != "" && oldGUID != app.ProcessGUID {
		if err := s.plane.RemoveLRP(now, oldGUID); err != nil && isStoreError(err) {
			return err
		}
	}
	return nil
}

func desiredFor(app *api.App, n int) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: app.ProcessGUID, Domain: api.AppsDomain, Instances: n, MemoryMB: app.MemoryMB,
		DiskMB: app.DiskMB, RootFS: api.Rootfs, StartTimeout: startTimeout(app)}
}

// startTimeout is the app's health check start timeout (Diego's default 60 s).
func startTimeout(app *api.App) time.Duration {
	if app.HealthCheck.StartTimeout > 0 {
		return app.HealthCheck.StartTimeout
	}
	return model.DefaultStartTimeout
}

func (s *Server) withRunning(a api.App) api.App {
	if a.ProcessGUID == "" {
		return a
	}
	rows, _ := s.store.ListActualLRPsByProcess(a.ProcessGUID)
	for _, r := range rows {
		if r.Presence == model.Ordinary && r.State == model.Running {
			a.Running++
		}
	}
	return a
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	var out []api.App
	err := s.read(func(time.Duration) error {
		apps, err := sqlstore.ListSpecs[api.App](s.store, specApp)
		for _, a := range apps {
			out = append(out, s.withRunning(a))
		}
		return err
	})
	if out == nil {
		out = []api.App{}
	}
	reply(w, err, out)
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	var d api.AppDetail
	err := s.read(func(now time.Duration) error {
		a, err := s.appOf(r.PathValue("name"))
		if err != nil {
			return err
		}
		d.App = s.withRunning(a)
		d.InstancesDetail = []api.Instance{}
		if a.ProcessGUID == "" {
			return nil
		}
		rows, err := s.store.ListActualLRPsByProcess(a.ProcessGUID)
		for _, x := range rows {
			in := api.Instance{Index: x.Index, State: x.State.String(),
				Presence: x.Presence.String(), CellID: x.CellID, InstanceGUID: x.InstanceGUID, Address: x.Address,
				Since: x.Since.Seconds(), CrashCount: x.CrashCount, CrashReason: x.CrashReason, PlacementError: x.PlacementError}
			if x.State == model.Crashed {
				if delay, ok := model.RestartDelay(x.CrashCount); ok {
					in.RestartIn = new(max(0, (x.Since + delay - now).Seconds()))
				} else {
					in.NeverRestarts = true
				}
			}
			d.InstancesDetail = append(d.InstancesDetail, in)
		}
		return err
	})
	reply(w, err, d)
}

func (s *Server) scale(w http.ResponseWriter, r *http.Request) {
	var req api.ScaleRequest
	if !decode(w, r, &req, 0) {
		return
	}
	if err := s.checkScale(&req); err != nil {
		reply(w, err, nil)
		return
	}
	s.setApp(w, r.PathValue("name"), func(now time.Duration, a *api.App) error {
		resized := req.MemoryMB != nil && *req.MemoryMB != a.MemoryMB || req.DiskMB != nil && *req.DiskMB != a.DiskMB
		if req.Instances != nil {
			a.Instances = *req.Instances
		}
		if req.MemoryMB != nil {
			a.MemoryMB = *req.MemoryMB
		}
		if req.DiskMB != nil {
			a.DiskMB = *req.DiskMB
		}
		if a.State != api.AppStarted {
			return nil
		}
		if resized {
			// As Cloud Controller does: new resources are a new process (the
			// instances restart with them), the previous one goes.
			return s.redesire(now, a)
		}
		return s.plane.ScaleLRP(now, a.ProcessGUID, a.Instances)
	})
}

// checkScale bounds a scale request; it must change something.
func (s *Server) checkScale(req *api.ScaleRequest) error {
	if req.Instances == nil && req.MemoryMB == nil && req.DiskMB == nil {
		return badf("instances, memory_mb, disk_mb: set at least one")
	}
	l := &s.limits
	var errs []error
	if req.Instances != nil {
		if *req.Instances < 0 {
			return badf("instances: must be >= 0, got %d", *req.Instances)
		}
		errs = append(errs, atMost("instances", "max-instances", "instances per app", *req.Instances, l.MaxInstances))
	}
	if req.MemoryMB != nil {
		if *req.MemoryMB <= 0 {
			return badf("memory_mb: must be > 0, got %d", *req.MemoryMB)
		}
		errs = append(errs, atMost("memory_mb", "max-memory-mb", "MB per instance", *req.MemoryMB, l.MaxMemoryMB))
	}
	if req.DiskMB != nil {
		if *req.DiskMB < 0 {
			return badf("disk_mb: must be >= 0, got %d", *req.DiskMB)
		}
		errs = append(errs, atMost("disk_mb", "max-disk-mb", "MB per instance", *req.DiskMB, l.MaxDiskMB))
	}
	return errors.Join(errs...)
}

// redesire runs a started app's droplet as a new process version (new resources),
// removing the previous one. Called in a transaction.
func (s *Server) redesire(now time.Duration, a *api.App) error {
	old := a.ProcessGUID
	a.Version++
	a.ProcessGUID = fmt.Sprintf("%s-v%d", a.Name, a.Version)
	ri := api.RunInfo{Kind: api.KindLRP, DropletSHA: a.DropletSHA, App: a.Name,
		Command: a.Command, Ports: []int{8080}, StartTimeout: startTimeout(a), HealthCheck: a.HealthCheck}
	if a.Docker != nil && old != "" {
		// A Docker app keeps what its staging decided (image, command, env, port).
		var prev api.RunInfo
		if _, err := s.store.GetSpec(specRun, old, &prev); err != nil {
			return err
		}
		prev.StartTimeout, prev.HealthCheck = startTimeout(a), a.HealthCheck
		ri = prev
	}
	if err := s.store.PutSpec(specRun, a.ProcessGUID, ri); err != nil {
		return err
	}
	if err := s.plane.DesireLRP(now, desiredFor(a, a.Instances)); err != nil {
		return err
	}
	if old != "" {
		if err := s.plane.RemoveLRP(now, old); err != nil && isStoreError(err) {
			return err
		}
		return s.store.DeleteSpec(specRun, old)
	}
	return nil
}

func (s *Server) stopApp(w http.ResponseWriter, r *http.Request) {
	s.setApp(w, r.PathValue("name"), func(now time.Duration, a *api.App) error {
		if a.State != api.AppStarted {
			return nil
		}
		a.State = api.AppStopped
		return s.plane.ScaleLRP(now, a.ProcessGUID, 0)
	})
}

func (s *Server) startApp(w http.ResponseWriter, r *http.Request) {
	s.setApp(w, r.PathValue("name"), func(now time.Duration, a *api.App) error {
		if a.State != api.AppStopped {
			return nil
		}
		a.State = api.AppStarted
		return s.plane.ScaleLRP(now, a.ProcessGUID, a.Instances)
	})
}

func (s *Server) setApp(w http.ResponseWriter, name string, fn func(now time.Duration, a *api.App) error) {
	var app api.App
	err := s.do(func(now time.Duration) error {
		a, err := s.appOf(name)
		if err != nil {
			return err
		}
		if err := fn(now, &a); err != nil {
			return err
		}
		app = a
		return s.store.PutSpec(specApp, name, a)
	})
	reply(w, err, app)
}

func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.do(func(now time.Duration) error {
		a, err := s.appOf(name)
		if err != nil {
			return err
		}
		if a.ProcessGUID != "" {
			if err := s.plane.RemoveLRP(now, a.ProcessGUID); err != nil && !errors.Is(err, model.ErrNotFound) {
				return err
			}
			if err := s.store.DeleteSpec(specRun, a.ProcessGUID); err != nil {
				return err
			}
		}
		return s.store.DeleteSpec(specApp, name)
	})
	if err == nil {
		_ = s.logs.SetDrains(name, nil)
	}
	reply(w, err, nil)
}

// --- tasks ---

func (s *Server) runTask(w http.ResponseWriter, r *http.Request) {
	var req api.TaskRequest
	if !decode(w, r, &req, 0) {
		return
	}
	switch {
	case strings.TrimSpace(req.Command) == "":
		reply(w, badf("command: must not be empty"), nil)
		return
	case req.MemoryMB < 0 || req.DiskMB < 0:
		reply(w, badf("memory_mb, disk_mb: must be >= 0"), nil)
		return
	}
	if err := errors.Join(atMost("command", "max-command", "bytes", len(req.Command), s.limits.MaxCommand),
		s.limits.checkResources(req.MemoryMB, req.DiskMB)); err != nil {
		reply(w, err, nil)
		return
	}
	var info api.TaskInfo
	err := s.do(func(now time.Duration) error {
		a, err := s.appOf(r.PathValue("name"))
		if err != nil {
			return err
		}
		if a.DropletSHA == "" {
			return badf("app %s has no droplet yet (staging %s)", a.Name, strings.ToLower(a.State))
		}
		if err := s.checkTaskCount(); err != nil {
			return err
		}
		n := 0
		if v, ok, err := s.store.GetMeta(metaTasks); err != nil {
			return err
		} else if ok {
			n, _ = strconv.Atoi(v)
		}
		n++
		if err := s.store.PutMeta(metaTasks, strconv.Itoa(n)); err != nil {
			return err
		}
		guid := fmt.Sprintf("task-%s-%d", a.Name, n)
		mem := req.MemoryMB
		if mem == 0 {
			mem = a.MemoryMB
		}
		if err := s.store.PutSpec(specRun, guid, api.RunInfo{Kind: api.KindTask, DropletSHA: a.DropletSHA, Command: req.Command, App: a.Name}); err != nil {
			return err
		}
		if err := s.store.PutSpec(specTaskApp, guid, taskMeta{App: a.Name, Command: req.Command}); err != nil {
			return err
		}
		info = api.TaskInfo{GUID: guid, App: a.Name, Command: req.Command, State: model.TaskPending.String()}
		return s.plane.DesireTask(now, model.Task{GUID: guid, Domain: api.TasksDomain, State: model.TaskPending,
			MemoryMB: mem, DiskMB: req.DiskMB, RootFS: api.Rootfs, CreatedAt: now, UpdatedAt: now})
	})
	reply(w, err, info)
}

func (s *Server) taskInfo(t model.Task) api.TaskInfo {
	var meta taskMeta
	_, _ = s.store.GetSpec(specTaskApp, t.GUID, &meta)
	return api.TaskInfo{GUID: t.GUID, App: meta.App, Command: meta.Command, State: t.State.String(), CellID: t.CellID,
		Failed: t.Failed, FailureReason: t.FailureReason, Result: t.Result}
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	out := []api.TaskInfo{}
	err := s.read(func(now time.Duration) error {
		live, err := s.store.ListTasks()
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, t := range live {
			out = append(out, s.taskInfo(t))
			seen[t.GUID] = true
		}
		done, err := sqlstore.ListSpecs[api.TaskInfo](s.store, specTaskDone)
		for _, t := range done {
			if !seen[t.GUID] && !expired(now, t) {
				out = append(out, t)
			}
		}
		return err
	})
	reply(w, err, out)
}

// expired: a completed task is listed for model.DefaultTaskExpireCompleted (2
// minutes) after it completed, as Diego's convergence deletes completed tasks.
func expired(now time.Duration, t api.TaskInfo) bool {
	return now.Seconds()-t.CompletedAt > model.DefaultTaskExpireCompleted.Seconds()
}

// pruneDoneTasks deletes the records of tasks completed more than 2 minutes ago.
// Called in a transaction.
func (s *Server) pruneDoneTasks(now time.Duration) error {
	done, err := sqlstore.ListSpecs[api.TaskInfo](s.store, specTaskDone)
	if err != nil {
		return err
	}
	for _, t := range done {
		if expired(now, t) {
			if err := s.store.DeleteSpec(specTaskDone, t.GUID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	var info api.TaskInfo
	err := s.read(func(time.Duration) error {
		t, ok, err := s.store.GetTask(guid)
		if err != nil {
			return err
		}
		if ok {
			info = s.taskInfo(t)
			return nil
		}
		ok, err = s.store.GetSpec(specTaskDone, guid, &info)
		if err == nil && !ok {
			err = &model.NotFoundError{Kind: "task", Key: guid}
		}
		return err
	})
	reply(w, err, info)
}

func (s *Server) cancelTask(w http.ResponseWriter, r *http.Request) {
	err := s.do(func(now time.Duration) error { return s.plane.CancelTask(now, r.PathValue("guid")) })
	reply(w, err, nil)
}

func (s *Server) listCells(w http.ResponseWriter, r *http.Request) {
	out := []api.CellInfo{}
	err := s.read(func(time.Duration) error {
		used, err := s.cellUse()
		if err != nil {
			return err
		}
		for _, id := range sortedCellIDs(s.cells) {
			c := s.cells[id]
			out = append(out, api.CellInfo{Presence: c.Presence, Present: s.plane.Present(id), LastSeen: c.lastSeen.Seconds(), Used: used[id]})
		}
		return nil
	})
	reply(w, err, out)
}

// cellUse sums, per cell, what the BBS's rows place there: each actual LRP that
// holds a container (CLAIMED or RUNNING, ordinary or evacuating) at its desired
// LRP's size, and each RUNNING task. Called with mu held.
func (s *Server) cellUse() (map[string]model.Resources, error) {
	desired, err := s.store.ListDesiredLRPs()
	if err != nil {
		return nil, err
	}
	size := map[string]model.DesiredLRP{}
	for _, d := range desired {
		size[d.ProcessGUID] = d
	}
	actual, err := s.store.ListActualLRPs()
	if err != nil {
		return nil, err
	}
	used := map[string]model.Resources{}
	add := func(cell string, mem, disk int) {
		u := used[cell]
		u.MemoryMB += mem
		u.DiskMB += disk
		u.Containers++
		used[cell] = u
	}
	for _, a := range actual {
		if a.CellID == "" || a.State != model.Claimed && a.State != model.Running {
			continue
		}
		d := size[a.ProcessGUID]
		add(a.CellID, d.MemoryMB, d.DiskMB)
	}
	tasks, err := s.store.ListTasks()
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if t.CellID != "" && t.State == model.TaskRunning {
			add(t.CellID, t.MemoryMB, t.DiskMB)
		}
	}
	return used, nil
}

func writeFileAtomic(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
