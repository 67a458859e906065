package rep

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

// GET /state: what is available is the capacity less every container's resources;
// a container that has not reached RUNNING counts as starting; the evacuating flag.
func TestState(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.running("pg", 0, "ig-a")
	g := newGate(t)
	var entered atomic.Bool
	e.ex.setCreate(func(executor.ContainerSpec) error { entered.Store(true); <-g.ch; return nil })
	e.work("pg", 1, "ig-b")
	e.waitFor("ig-b's creation", entered.Load)

	var st api.CellState
	if code := e.do(http.MethodGet, "/state", nil, &st); code != http.StatusOK {
		t.Fatalf("GET /state: %d", code)
	}
	// 1024 MB, 4096 MB disk, 8 containers, less two of 128 MB and 256 MB disk.
	want := model.Resources{MemoryMB: 1024 - 2*128, DiskMB: 4096 - 2*256, Containers: 6}
	if st.Available != want || st.Total != e.rep.cfg.Capacity {
		t.Errorf("available %+v total %+v, want %+v of %+v", st.Available, st.Total, want, e.rep.cfg.Capacity)
	}
	if st.Starting != 1 {
		t.Errorf("starting = %d, want 1 (ig-b)", st.Starting)
	}
	if st.CellID != "cell-0" || st.Zone != "z1" || st.Evacuating || len(st.RootFSProviders) != 1 || st.RootFSProviders[0] != api.Rootfs {
		t.Errorf("state = %+v", st)
	}
	if len(st.LRPs) != 2 {
		t.Fatalf("state lrps = %+v, want 2", st.LRPs)
	}
	a, b := st.LRPs[0], st.LRPs[1]
	if a.InstanceGUID != "ig-a" || a.State != "RUNNING" || a.Address != "127.0.0.1:61000" || a.Index != 0 || a.ProcessGUID != "pg" {
		t.Errorf("ig-a = %+v, want RUNNING at 127.0.0.1:61000", a)
	}
	if b.InstanceGUID != "ig-b" || b.State != "INITIALIZING" || b.Address != "" {
		t.Errorf("ig-b = %+v, want INITIALIZING without an address", b)
	}
	g.open()
	e.waitOps("ig-b", "claim", "start")
	e.do(http.MethodGet, "/state", nil, &st)
	if st.Starting != 0 {
		t.Errorf("starting = %d once both run, want 0", st.Starting)
	}

	e.bbs.setLRPAnswer(func(string, api.LRPReport) (bool, bool) { return true, true })
	e.rep.Drain()
	e.waitFor("the state to say evacuating", func() bool {
		var s api.CellState
		e.do(http.MethodGet, "/state", nil, &s)
		return s.Evacuating
	})
}

// The rep's API wants the token; /health and /metrics answer.
func TestAPIAuthAndEndpoints(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.rep.URL() + "/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /state without the token: %d, want 401", resp.StatusCode)
	}
	if code := e.do(http.MethodGet, "/health", nil, nil); code != http.StatusOK {
		t.Errorf("GET /health: %d", code)
	}
	var buf bytes.Buffer
	if err := e.client.DoRaw(t.Context(), http.MethodGet, "/metrics", nil, "", &buf); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"diegolab_rep_containers", "diegolab_rep_bulk_sync_duration_seconds"} {
		if !strings.Contains(buf.String(), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// The heartbeat describes the cell.
	e.bbs.mu.Lock()
	p := e.bbs.presences[0]
	e.bbs.mu.Unlock()
	if p.CellID != "cell-0" || p.Zone != "z1" || p.RepURL != e.rep.URL() || p.Capacity != e.rep.cfg.Capacity {
		t.Errorf("presence = %+v", p)
	}
}

// POST /work checks every item before it takes any; a duplicate is taken once.
func TestWorkValidation(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	res := model.Resource{MemoryMB: 1, DiskMB: 1}
	for _, tc := range []struct {
		name string
		work api.Work
		want string
	}{
		{"no process guid", api.Work{LRPs: []api.WorkLRP{{InstanceGUID: "i", Resource: res}}}, "lrps[0]: process_guid and instance_guid must be set"},
		{"no instance guid", api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "p", Resource: res}}}, "lrps[0]: process_guid and instance_guid must be set"},
		{"negative index", api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "p", InstanceGUID: "i", Index: -1, Resource: res}}}, "index >= 0"},
		{"negative memory", api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "p", InstanceGUID: "i", Resource: model.Resource{MemoryMB: -5}}}}, "lrps[0].resource"},
		{"no task guid", api.Work{Tasks: []api.WorkTask{{Resource: res}}}, "tasks[0]: task_guid must be set"},
		{"negative task disk", api.Work{Tasks: []api.WorkTask{{TaskGUID: "t", Resource: model.Resource{DiskMB: -1}}}}, "tasks[0].resource"},
		{"second item bad", api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "p", InstanceGUID: "i", Resource: res}, {ProcessGUID: "p"}}}, "lrps[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.client.Do(t.Context(), http.MethodPost, "/work", tc.work, nil)
			if api.StatusOf(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("POST /work: %v, want 422 naming %q", err, tc.want)
			}
		})
	}
	e.bbs.mu.Lock()
	n := len(e.bbs.lrps)
	e.bbs.mu.Unlock()
	if n != 0 {
		t.Errorf("refused work was claimed: %d reports", n)
	}
	// Malformed JSON and unknown fields are 400s.
	for _, body := range []string{`{"lrps": [`, `{"lrps": [], "bogus": 1}`} {
		err := e.client.DoRaw(t.Context(), http.MethodPost, "/work", strings.NewReader(body), "application/json", nil)
		if api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("POST /work %s: %v, want 400", body, err)
		}
	}
	// The same instance twice, in one request and in two: one claim.
	w := api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "pg", InstanceGUID: "ig", Resource: res}, {ProcessGUID: "pg", InstanceGUID: "ig", Resource: res}}}
	e.do(http.MethodPost, "/work", w, nil)
	e.do(http.MethodPost, "/work", w, nil)
	e.waitOps("ig", "claim", "start")
	e.settle("ig", "claim", "start")
}

// New refuses a configuration it cannot run with, naming the field.
func TestConfigValidation(t *testing.T) {
	ok := Config{CellID: "c", Capacity: model.Resources{MemoryMB: 1, DiskMB: 1, Containers: 1}, Listen: "127.0.0.1:0"}
	for _, tc := range []struct {
		name  string
		tweak func(*Config)
		want  string
	}{
		{"no cell id", func(c *Config) { c.CellID = "" }, "cell-id"},
		{"no memory", func(c *Config) { c.Capacity.MemoryMB = 0 }, "capacity"},
		{"negative containers", func(c *Config) { c.Capacity.Containers = -1 }, "capacity"},
		{"listen on every address", func(c *Config) { c.Listen = "0.0.0.0:0" }, "listen"},
		{"listen without a port", func(c *Config) { c.Listen = "127.0.0.1" }, "listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			cfg.Dir = t.TempDir()
			tc.tweak(&cfg)
			_, err := NewWithExecutor(cfg, newFakeExec())
			var ve *model.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewWithExecutor: %v, want a validation error naming %q", err, tc.want)
			}
		})
	}
	if _, err := NewWithExecutor(ok, nil); err == nil {
		t.Errorf("NewWithExecutor with a nil executor: no error")
	}
}

// New clears a previous life: the executor's containers and staging directories.
func TestNewCleansUp(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "tasks", "old-task")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	ex := newFakeExec()
	cfg := Config{CellID: "c", Capacity: model.Resources{MemoryMB: 1, DiskMB: 1, Containers: 1}, Listen: "127.0.0.1:0", Dir: dir}
	r, err := NewWithExecutor(cfg, ex)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ln.Close(); r.ship.Close() })
	if ex.cleanups != 1 {
		t.Errorf("executor cleanups = %d, want 1", ex.cleanups)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a previous life's staging directory survived: %v", err)
	}
}

// tgz builds a .tar.gz of the given headers (regular files get body "x").
func tgz(t *testing.T, hs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, h := range hs {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = "x"
			h.Size = 1
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// extract unpacks files and directories, and refuses what would leave the droplet or
// is not a plain file.
func TestExtract(t *testing.T) {
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
		want string // error substring; "" for success
	}{
		{"files and dirs", func(t *testing.T) []byte {
			return tgz(t, tar.Header{Name: "bin", Typeflag: tar.TypeDir, Mode: 0o700}, tar.Header{Name: "bin/run", Typeflag: tar.TypeReg, Mode: 0o700})
		}, ""},
		{"escaping path", func(t *testing.T) []byte {
			return tgz(t, tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644})
		}, "escapes the droplet"},
		{"absolute path", func(t *testing.T) []byte {
			return tgz(t, tar.Header{Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o644})
		}, "escapes the droplet"},
		{"symlink", func(t *testing.T) []byte {
			return tgz(t, tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
		}, "only files and directories"},
		{"not gzip", func(*testing.T) []byte { return []byte("plain text") }, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			err := extract(bytes.NewReader(tc.data(t)), dst)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("extract: %v", err)
				}
				fi, err := os.Stat(filepath.Join(dst, "bin", "run"))
				if err != nil {
					t.Fatal(err)
				}
				// Modes are capped at 0755 and always readable: the container's user is not the owner.
				if got := fi.Mode().Perm(); got != 0o744 {
					t.Errorf("bin/run mode = %v, want 0744", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("extract: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// A droplet is fetched once per rep, whoever asks for it.
func TestDropletFetchedOnce(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	for i, ig := range []string{"ig-1", "ig-2", "ig-3"} {
		e.work("pg", i, ig)
	}
	for _, ig := range []string{"ig-1", "ig-2", "ig-3"} {
		e.waitOps(ig, "claim", "start")
	}
	e.bbs.mu.Lock()
	n := 0
	for _, c := range e.bbs.calls {
		if c == "GET /v1/blobs/"+e.sha {
			n++
		}
	}
	e.bbs.mu.Unlock()
	if n != 1 {
		t.Errorf("droplet fetched %d times, want 1", n)
	}
	if _, err := e.rep.droplet("not-a-sha"); err == nil || !strings.Contains(err.Error(), "not a sha256") {
		t.Errorf("droplet(not-a-sha): %v", err)
	}
}

// A container's output goes to the log service under its app, source and index, and
// to Config.AppLog when set.
func TestContainerOutput(t *testing.T) {
	var appLog syncBuffer
	e := newEnv(t, func(c *Config) { c.AppLog = &appLog })
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.bbs.setRunInfo("tk", e.taskRunInfo())
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.ex.setStart(func(c *fakeCt) error {
		c.spec.Log(executor.LogLine{ContainerID: c.spec.ID, Stream: executor.Stdout, Text: "hello from " + c.spec.ID, At: at})
		c.spec.Log(executor.LogLine{ContainerID: c.spec.ID, Stream: executor.Stderr, Text: "oops", At: at})
		return nil
	})
	e.running("pg", 4, "ig")
	e.workTask("tk")
	e.waitFor("the task's process", func() bool { return slices.Contains(e.ex.eventsOf("t-tk"), "start") })
	type key struct{ source, stream, text string }
	want := map[key]int{ // the index of each line
		{api.SourceApp, api.StreamOut, "hello from l-pg-4-ig"}: 4,
		{api.SourceApp, api.StreamErr, "oops"}:                 -1, // twice: index 4 and 0
		{api.SourceApp, api.StreamOut, "hello from t-tk"}:      0,
	}
	var got []api.LogLine
	e.waitFor("the containers' lines", func() bool {
		e.rep.ship.Flush()
		e.bbs.mu.Lock()
		defer e.bbs.mu.Unlock()
		got = got[:0]
		for _, l := range e.bbs.logLines {
			if l.Source == api.SourceApp {
				got = append(got, l)
			}
		}
		return len(got) >= 4
	})
	for _, l := range got {
		idx, ok := want[key{l.Source, l.Stream, l.Text}]
		if !ok || l.App != "web" || !l.At.Equal(at) || (idx >= 0 && l.Index != idx) {
			t.Errorf("unexpected line %+v", l)
		}
	}
	for _, s := range []string{"[l-pg-4-ig] OUT hello from l-pg-4-ig", "[l-pg-4-ig] ERR oops", "[t-tk] OUT hello from t-tk"} {
		if !strings.Contains(appLog.String(), s) {
			t.Errorf("AppLog lacks %q:\n%s", s, appLog.String())
		}
	}
}

// Listening reads the LISTEN sockets of a process's network namespace.
func TestListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if !Listening(os.Getpid(), port) {
		t.Errorf("Listening(self, %d) = false with a listener open", port)
	}
	ln.Close()
	if Listening(os.Getpid(), port) {
		t.Errorf("Listening(self, %d) = true after the listener closed", port)
	}
	if Listening(0, port) || Listening(-1, port) {
		t.Errorf("Listening of no process = true")
	}
}
