package rep

// The rep's test harness: a fake executor (no root, no runc), a fake BBS on an
// httptest server at 127.0.0.1 that records every report in order and answers as the
// test says, and a rep between them with short timers.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

const testToken = "rep-test-token"

// ---- fake executor ----

// fakeExec is an Executor whose containers are records: Create can be made slow or
// failing, Start can fail, a process exits when the test says so.
type fakeExec struct {
	mu     sync.Mutex
	cts    map[string]*fakeCt // every container ever created, by id
	events []string           // "create ID", "create-failed ID", "start ID", "stop ID", "destroy ID", "cleanup"
	// create runs before a container is made (it may block); an error fails Create.
	create func(spec executor.ContainerSpec) error
	// start runs in Start; an error fails it.
	start func(c *fakeCt) error
	// addr is the host address HostAddr gives (default 127.0.0.1:61000+n).
	addr func(c *fakeCt) string
	// cleanups counts Cleanup calls (and Recover's, which cleans up too).
	cleanups int
	// crashed makes Cleanup do nothing, as when the rep dies without cleaning up
	// (kill -9): its containers stay for the next rep's Recover.
	crashed bool
}

func newFakeExec() *fakeExec { return &fakeExec{cts: map[string]*fakeCt{}} }

func (f *fakeExec) event(s string) {
	f.mu.Lock()
	f.events = append(f.events, s)
	f.mu.Unlock()
}

func (f *fakeExec) Create(ctx context.Context, spec executor.ContainerSpec) (Container, error) {
	f.mu.Lock()
	hook := f.create
	f.mu.Unlock()
	if hook != nil {
		if err := hook(spec); err != nil {
			f.event("create-failed " + spec.ID)
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		f.event("create-failed " + spec.ID)
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.cts[spec.ID]; dup {
		return nil, fmt.Errorf("container %s exists", spec.ID)
	}
	c := &fakeCt{ex: f, spec: spec, n: len(f.cts), exited: make(chan struct{})}
	f.cts[spec.ID] = c
	f.events = append(f.events, "create "+spec.ID)
	return c, nil
}

// Cleanup destroys every container left, as the runc executor does with a previous
// life's.
func (f *fakeExec) Cleanup(ctx context.Context) error {
	f.mu.Lock()
	if f.crashed {
		f.mu.Unlock()
		return nil
	}
	f.cleanups++
	var left []*fakeCt
	for _, id := range sortedKeys(f.cts) {
		if c := f.cts[id]; !c.isDestroyed() {
			left = append(left, c)
		}
	}
	f.events = append(f.events, "cleanup")
	f.mu.Unlock()
	for _, c := range left {
		_ = c.Destroy(ctx)
	}
	return nil
}

// Recover offers the running containers a previous rep left (alive, started, with
// a Meta) to adopt, as the runc executor does, and destroys the others.
func (f *fakeExec) Recover(ctx context.Context, adopt executor.Adopt) ([]Container, error) {
	f.mu.Lock()
	f.crashed = false
	var prev []*fakeCt
	for _, id := range sortedKeys(f.cts) {
		if c := f.cts[id]; !c.isDestroyed() {
			prev = append(prev, c)
		}
	}
	f.mu.Unlock()
	var out []Container
	for _, c := range prev {
		c.mu.Lock()
		running := c.started && !c.finished
		c.mu.Unlock()
		if running && len(c.spec.Meta) > 0 {
			if _, ok := adopt(c.spec.ID, c.spec.Meta); ok {
				f.event("adopt " + c.spec.ID)
				out = append(out, c)
				continue
			}
		}
		_ = c.Destroy(ctx)
	}
	f.mu.Lock()
	f.cleanups++
	f.events = append(f.events, "cleanup")
	f.mu.Unlock()
	return out, nil
}

func (f *fakeExec) setCrashed() {
	f.mu.Lock()
	f.crashed = true
	f.mu.Unlock()
}

// ct returns the container id, nil when none was created.
func (f *fakeExec) ct(id string) *fakeCt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cts[id]
}

// eventsOf returns the events of container id ("create", "start", ...), in order.
func (f *fakeExec) eventsOf(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		if op, cid, ok := strings.Cut(e, " "); ok && cid == id {
			out = append(out, op)
		}
	}
	return out
}

// alive returns the ids of containers created and not destroyed, sorted.
func (f *fakeExec) alive() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range sortedKeys(f.cts) {
		if !f.cts[id].isDestroyed() {
			out = append(out, id)
		}
	}
	return out
}

func (f *fakeExec) setCreate(fn func(executor.ContainerSpec) error) {
	f.mu.Lock()
	f.create = fn
	f.mu.Unlock()
}

func (f *fakeExec) setStart(fn func(*fakeCt) error) {
	f.mu.Lock()
	f.start = fn
	f.mu.Unlock()
}

// fakeCt is one fake container.
type fakeCt struct {
	ex     *fakeExec
	spec   executor.ContainerSpec
	n      int
	exited chan struct{}

	mu                          sync.Mutex
	exit                        executor.Exit
	started, finished, destroyd bool
	grace                       time.Duration
}

func (c *fakeCt) ID() string { return c.spec.ID }

func (c *fakeCt) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.destroyd {
		c.mu.Unlock()
		return errors.New("container destroyed")
	}
	c.mu.Unlock()
	c.ex.mu.Lock()
	hook := c.ex.start
	c.ex.mu.Unlock()
	if hook != nil {
		if err := hook(c); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	c.ex.event("start " + c.spec.ID)
	return nil
}

func (c *fakeCt) Exited() <-chan struct{} { return c.exited }

func (c *fakeCt) Wait(ctx context.Context) (executor.Exit, error) {
	select {
	case <-c.exited:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.exit, nil
	case <-ctx.Done():
		return executor.Exit{}, ctx.Err()
	}
}

// finish ends the process with x unless it already ended.
func (c *fakeCt) finish(x executor.Exit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	c.finished, c.exit = true, x
	close(c.exited)
}

// exitWith makes the process exit by itself.
func (c *fakeCt) exitWith(code int, oom bool) {
	c.finish(executor.Exit{Code: code, OOMKilled: oom, Reason: "exited with status " + strconv.Itoa(code)})
}

func (c *fakeCt) Stop(ctx context.Context, grace time.Duration) (executor.Exit, error) {
	c.mu.Lock()
	c.grace = grace
	c.mu.Unlock()
	c.ex.event("stop " + c.spec.ID)
	c.finish(executor.Exit{Code: 143, Stopped: true, Reason: "stopped"})
	return c.Wait(ctx)
}

func (c *fakeCt) Destroy(ctx context.Context) error {
	c.mu.Lock()
	already := c.destroyd
	c.destroyd = true
	c.mu.Unlock()
	if already {
		return nil
	}
	c.ex.event("destroy " + c.spec.ID)
	c.finish(executor.Exit{Code: 137, Stopped: true, Reason: "destroyed"})
	return nil
}

func (c *fakeCt) isDestroyed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.destroyd
}

func (c *fakeCt) HostAddr(port int) (string, error) {
	if port != appPort {
		return "", fmt.Errorf("port %d is not mapped", port)
	}
	c.ex.mu.Lock()
	fn := c.ex.addr
	c.ex.mu.Unlock()
	if fn != nil {
		return fn(c), nil
	}
	return "127.0.0.1:" + strconv.Itoa(61000+c.n), nil
}

// Info has pid 0: the port check (which reads /proc/PID/net/tcp) never passes, so
// tests use the process or http check unless they test the port check failing.
func (c *fakeCt) Info() executor.Info { return executor.Info{ID: c.spec.ID, MemoryMB: c.spec.MemoryMB} }

var _ Executor = (*fakeExec)(nil)
var _ Container = (*fakeCt)(nil)

// ---- fake BBS ----

// lrpCall is one LRP report the BBS received.
type lrpCall struct {
	Op string
	R  api.LRPReport
}

// taskCall is one task report ("start-task" or "complete-task").
type taskCall struct {
	Op string
	R  api.TaskReport
}

// fakeBBS serves the endpoints the rep calls and records every call in order.
type fakeBBS struct {
	srv *httptest.Server

	mu        sync.Mutex
	calls     []string // "METHOD PATH" of every request, in order
	lrps      []lrpCall
	tasks     []taskCall
	presences []api.Presence
	left      []string // cells whose presence was deleted
	logLines  []api.LogLine
	runInfo   map[string]api.RunInfo
	blobs     map[string][]byte
	actual    []model.ActualLRP // GET /v1/cells/{cell}/actual
	cellTasks []model.Task      // GET /v1/cells/{cell}/tasks

	// lrpAnswer decides an LRP report's reply (nil: accepted, not kept); it may block.
	lrpAnswer func(op string, r api.LRPReport) (ok, keep bool)
	// taskStart decides a task start (nil: start); it may block.
	taskStart func(guid string) bool
}

func newFakeBBS(t *testing.T) *fakeBBS {
	b := &fakeBBS{runInfo: map[string]api.RunInfo{}, blobs: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/presence", func(w http.ResponseWriter, r *http.Request) {
		var p api.Presence
		if !b.decode(w, r, &p) {
			return
		}
		b.mu.Lock()
		b.presences = append(b.presences, p)
		b.mu.Unlock()
		api.WriteJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("DELETE /v1/presence/{cell}", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.left = append(b.left, r.PathValue("cell"))
		b.mu.Unlock()
		api.WriteJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("POST /v1/actual/{op}", func(w http.ResponseWriter, r *http.Request) {
		var rep api.LRPReport
		if !b.decode(w, r, &rep) {
			return
		}
		op := r.PathValue("op")
		switch op {
		case "claim", "start", "crash", "remove", "remove-evacuating", "evacuate-claimed", "evacuate-running":
		default:
			api.WriteError(w, http.StatusNotFound, fmt.Errorf("unknown operation %q", op))
			return
		}
		b.mu.Lock()
		b.lrps = append(b.lrps, lrpCall{op, rep})
		answer := b.lrpAnswer
		b.mu.Unlock()
		ok, keep := true, false
		if answer != nil {
			ok, keep = answer(op, rep)
		}
		switch {
		case op == "evacuate-claimed" || op == "evacuate-running":
			out := api.EvacuateReply{KeepContainer: keep}
			if !ok {
				out.Error = "refused by the test"
			}
			api.WriteJSON(w, http.StatusOK, out)
		case !ok:
			api.WriteError(w, http.StatusConflict, fmt.Errorf("%s refused by the test", op))
		default:
			api.WriteJSON(w, http.StatusOK, struct{}{})
		}
	})
	mux.HandleFunc("POST /v1/tasks/{guid}/start", func(w http.ResponseWriter, r *http.Request) {
		var rep api.TaskReport
		if !b.decode(w, r, &rep) {
			return
		}
		b.mu.Lock()
		b.tasks = append(b.tasks, taskCall{"start-task", rep})
		answer := b.taskStart
		b.mu.Unlock()
		start := true
		if answer != nil {
			start = answer(r.PathValue("guid"))
		}
		api.WriteJSON(w, http.StatusOK, api.StartTaskReply{Start: start})
	})
	mux.HandleFunc("POST /v1/tasks/{guid}/complete", func(w http.ResponseWriter, r *http.Request) {
		var rep api.TaskReport
		if !b.decode(w, r, &rep) {
			return
		}
		b.mu.Lock()
		b.tasks = append(b.tasks, taskCall{"complete-task", rep})
		b.mu.Unlock()
		api.WriteJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("GET /v1/cells/{cell}/actual", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		out := append([]model.ActualLRP{}, b.actual...)
		b.mu.Unlock()
		api.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /v1/cells/{cell}/tasks", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		out := append([]model.Task{}, b.cellTasks...)
		b.mu.Unlock()
		api.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /v1/run/{guid}", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		ri, ok := b.runInfo[r.PathValue("guid")]
		b.mu.Unlock()
		if !ok {
			api.WriteError(w, http.StatusNotFound, fmt.Errorf("no run info for %s", r.PathValue("guid")))
			return
		}
		api.WriteJSON(w, http.StatusOK, ri)
	})
	mux.HandleFunc("GET /v1/blobs/{sha}", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		blob, ok := b.blobs[r.PathValue("sha")]
		b.mu.Unlock()
		if !ok {
			api.WriteError(w, http.StatusNotFound, fmt.Errorf("no blob %s", r.PathValue("sha")))
			return
		}
		_, _ = w.Write(blob)
	})
	mux.HandleFunc("PUT /v1/droplets/{sha}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			api.WriteError(w, http.StatusBadRequest, err)
			return
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != r.PathValue("sha") {
			api.WriteError(w, http.StatusBadRequest, errors.New("droplet sha256 mismatch"))
			return
		}
		b.mu.Lock()
		b.blobs[r.PathValue("sha")] = body
		b.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, r *http.Request) {
		dec := json.NewDecoder(r.Body)
		var lines []api.LogLine
		for {
			var l api.LogLine
			if err := dec.Decode(&l); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				api.WriteError(w, http.StatusBadRequest, err)
				return
			}
			lines = append(lines, l)
		}
		b.mu.Lock()
		b.logLines = append(b.logLines, lines...)
		b.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	rec := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.calls = append(b.calls, r.Method+" "+r.URL.Path)
		b.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
	b.srv = httptest.NewServer(api.RequireToken(rec, testToken))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *fakeBBS) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if code, err := api.Decode(w, r, v, 0); err != nil {
		api.WriteError(w, code, err)
		return false
	}
	return true
}

// lrpOps returns the ops reported for instance guid, in order.
func (b *fakeBBS) lrpOps(guid string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, c := range b.lrps {
		if c.R.Instance.InstanceGUID == guid {
			out = append(out, c.Op)
		}
	}
	return out
}

// lrpCall returns the last report op about instance guid.
func (b *fakeBBS) lrpCall(guid, op string) (lrpCall, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.lrps) - 1; i >= 0; i-- {
		if c := b.lrps[i]; c.R.Instance.InstanceGUID == guid && c.Op == op {
			return c, true
		}
	}
	return lrpCall{}, false
}

// taskOps returns the reports about task guid ("start-task", "complete-task").
func (b *fakeBBS) taskOps(guid string) []taskCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []taskCall
	for _, c := range b.tasks {
		if c.R.TaskGUID == guid {
			out = append(out, c)
		}
	}
	return out
}

func (b *fakeBBS) setLRPAnswer(fn func(op string, r api.LRPReport) (ok, keep bool)) {
	b.mu.Lock()
	b.lrpAnswer = fn
	b.mu.Unlock()
}

func (b *fakeBBS) setTaskStart(fn func(guid string) bool) {
	b.mu.Lock()
	b.taskStart = fn
	b.mu.Unlock()
}

// addDroplet stores a droplet (a .tgz of files) and returns its sha256.
func (b *fakeBBS) addDroplet(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	sha := hex.EncodeToString(sum[:])
	b.mu.Lock()
	b.blobs[sha] = buf.Bytes()
	b.mu.Unlock()
	return sha
}

func (b *fakeBBS) setRunInfo(guid string, ri api.RunInfo) {
	b.mu.Lock()
	b.runInfo[guid] = ri
	b.mu.Unlock()
}

// gate is a channel a fake answer blocks on until the test opens it (or the test ends,
// so that no handler outlives the httptest server).
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{ch: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// ---- the rep under test ----

type env struct {
	t      *testing.T
	cfg    Config
	ex     *fakeExec
	bbs    *fakeBBS
	rep    *Rep
	cancel context.CancelFunc
	// served is closed when Serve returns, with serveErr its error.
	served   chan struct{}
	serveErr error
	sha      string // the default droplet
	client   *api.Client
}

// newEnv starts a rep between a fake executor and a fake BBS. Its timers are short;
// the bulk sync and heartbeat run once at the start (tests call bulkSync themselves).
func newEnv(t *testing.T, tweak ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t, ex: newFakeExec(), bbs: newFakeBBS(t), served: make(chan struct{})}
	e.sha = e.bbs.addDroplet(t, map[string]string{"app/run.sh": "#!/bin/sh\nexec httpd\n", "app/index.html": "hi\n"})
	cfg := Config{CellID: "cell-0", Zone: "z1", Index: 0, Capacity: model.Resources{MemoryMB: 1024, DiskMB: 4096, Containers: 8},
		BBSURL: e.bbs.srv.URL, Token: testToken, Dir: t.TempDir(), StackDir: t.TempDir(), Listen: "127.0.0.1:0",
		Heartbeat: time.Hour, BulkSync: time.Hour, StartTimeout: 2 * time.Second, StopGrace: 50 * time.Millisecond,
		CheckInterval: 20 * time.Millisecond, EvacuationTimeout: 10 * time.Second, EvacuationPoll: 20 * time.Millisecond}
	for _, f := range tweak {
		f(&cfg)
	}
	e.cfg = cfg
	e.start()
	return e
}

// restart is a new rep on the same directory, executor and BBS (after e's rep died:
// see fakeExec.setCrashed).
func (e *env) restart() *env {
	n := &env{t: e.t, cfg: e.cfg, ex: e.ex, bbs: e.bbs, sha: e.sha, served: make(chan struct{})}
	n.start()
	return n
}

// start makes and serves the rep.
func (e *env) start() {
	t, cfg := e.t, e.cfg
	r, err := NewWithExecutor(cfg, e.ex)
	if err != nil {
		t.Fatalf("NewWithExecutor: %v", err)
	}
	e.rep = r
	e.client = api.NewClient(r.URL(), testToken, 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.serveErr = r.Serve(ctx); close(e.served) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.served:
			if e.serveErr != nil {
				t.Errorf("Serve: %v", e.serveErr)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Serve did not return within 20 s of its context's end")
		}
		if left := e.ex.alive(); len(left) > 0 {
			t.Errorf("containers left after Serve returned: %v", left)
		}
	})
	// Serve's first heartbeat says it is up.
	e.waitFor("the first heartbeat", func() bool {
		e.bbs.mu.Lock()
		defer e.bbs.mu.Unlock()
		return len(e.bbs.presences) > 0
	})
}

// waitServed waits for Serve to return by itself (the end of an evacuation).
func (e *env) waitServed() {
	e.t.Helper()
	select {
	case <-e.served:
		if e.serveErr != nil {
			e.t.Errorf("Serve: %v", e.serveErr)
		}
	case <-time.After(10 * time.Second):
		e.t.Fatalf("Serve did not return within 10 s")
	}
}

// lrpRunInfo is the run info of an LRP with the given health check.
func (e *env) lrpRunInfo(hc api.HealthCheck) api.RunInfo {
	return api.RunInfo{Kind: api.KindLRP, DropletSHA: e.sha, Command: "./app/run.sh", Ports: []int{appPort}, App: "web", HealthCheck: hc}
}

// waitFor polls cond every 2 ms for up to 10 s.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitOps waits until instance guid's reports are exactly want.
func (e *env) waitOps(guid string, want ...string) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("reports %v for %s", want, guid), func() bool { return slices.Equal(e.bbs.lrpOps(guid), want) })
}

// waitGone waits until the rep no longer holds instance guid.
func (e *env) waitGone(guid string) {
	e.t.Helper()
	e.waitFor("the rep to forget "+guid, func() bool {
		e.rep.mu.Lock()
		defer e.rep.mu.Unlock()
		_, ok := e.rep.lrps[guid]
		return !ok
	})
}

// waitTaskGone waits until the rep no longer holds task guid.
func (e *env) waitTaskGone(guid string) {
	e.t.Helper()
	e.waitFor("the rep to forget task "+guid, func() bool {
		e.rep.mu.Lock()
		defer e.rep.mu.Unlock()
		_, ok := e.rep.tasks[guid]
		return !ok
	})
}

// phase returns the rep's phase of instance guid ("" when it holds none).
func (e *env) phase(guid string) string {
	e.rep.mu.Lock()
	defer e.rep.mu.Unlock()
	if c, ok := e.rep.lrps[guid]; ok {
		return c.Phase().String()
	}
	return ""
}

// settle checks that instance guid's reports stay want for a little while (nothing
// more is reported after the last one).
func (e *env) settle(guid string, want ...string) {
	e.t.Helper()
	time.Sleep(50 * time.Millisecond)
	if got := e.bbs.lrpOps(guid); !slices.Equal(got, want) {
		e.t.Fatalf("reports for %s = %v, want %v", guid, got, want)
	}
}

// do sends a request to the rep with the token and returns the status.
func (e *env) do(method, path string, in, out any) int {
	e.t.Helper()
	err := e.client.Do(context.Background(), method, path, in, out)
	if err != nil {
		if st := api.StatusOf(err); st != 0 {
			return st
		}
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return http.StatusOK
}

// work posts one LRP instance (process pg, index i, instance ig) to the rep.
func (e *env) work(pg string, i int, ig string) {
	e.t.Helper()
	w := api.Work{LRPs: []api.WorkLRP{{ProcessGUID: pg, Index: i, Domain: api.AppsDomain, InstanceGUID: ig,
		Resource: model.Resource{MemoryMB: 128, DiskMB: 256}}}}
	if st := e.do(http.MethodPost, "/work", w, nil); st != http.StatusOK {
		e.t.Fatalf("POST /work: status %d", st)
	}
}

// workTask posts one task to the rep.
func (e *env) workTask(guid string) {
	e.t.Helper()
	w := api.Work{Tasks: []api.WorkTask{{TaskGUID: guid, Domain: api.TasksDomain, Resource: model.Resource{MemoryMB: 64, DiskMB: 128}}}}
	if st := e.do(http.MethodPost, "/work", w, nil); st != http.StatusOK {
		e.t.Fatalf("POST /work: status %d", st)
	}
}

// stop asks the rep to stop instance ig of pg/i.
func (e *env) stop(pg string, i int, ig string) int {
	e.t.Helper()
	return e.do(http.MethodPost, "/stop", api.StopRequest{Key: model.ActualLRPKey{ProcessGUID: pg, Index: i},
		Instance: model.InstanceKey{InstanceGUID: ig, CellID: "cell-0"}}, nil)
}

// lrpID is the executor's container id for an LRP instance.
func lrpID(pg string, i int, ig string) string { return "l-" + pg + "-" + strconv.Itoa(i) + "-" + ig }

// waitCt waits for container id to be created.
func (e *env) waitCt(id string) *fakeCt {
	e.t.Helper()
	e.waitFor("container "+id, func() bool { return e.ex.ct(id) != nil })
	return e.ex.ct(id)
}

// waitDestroyed waits until container id is destroyed.
func (e *env) waitDestroyed(id string) {
	e.t.Helper()
	e.waitFor("container "+id+" destroyed", func() bool { c := e.ex.ct(id); return c != nil && c.isDestroyed() })
}
