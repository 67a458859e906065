package stage_test

import (
	"errors"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/stage"
	"github.com/google/go-cmp/cmp"
)

func app(guid string, mem, disk int) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: guid, Domain: "cf-apps", Instances: 3, MemoryMB: mem, DiskMB: disk, RootFS: "preloaded:cflinuxfs4"}
}

func bpRequest(guid string) stage.Request {
	return stage.Request{StagingGUID: guid + "-staging", App: app(guid, 256, 512), Lifecycle: stage.Buildpack, Stack: "cflinuxfs4", Buildpack: "go_buildpack"}
}

func TestTaskFor(t *testing.T) {
	tests := []struct {
		name           string
		mem, disk      int
		wantMem, wantD int
	}{
		// max(app, 1024 MB) and max(app, 4096 MB): CC's minimum staging sizes.
		{"small app gets the minimums", 256, 512, 1024, 4096},
		{"large app keeps its own", 2048, 8192, 2048, 8192},
		{"mixed", 4096, 1024, 4096, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bpRequest("web")
			r.App.MemoryMB, r.App.DiskMB = tt.mem, tt.disk
			task, err := stage.TaskFor(&r)
			if err != nil {
				t.Fatal(err)
			}
			if task.Domain != "cf-app-staging" || task.MemoryMB != tt.wantMem || task.DiskMB != tt.wantD || task.RootFS != "preloaded:cflinuxfs4" {
				t.Errorf("task = %+v, want domain cf-app-staging, %d MB / %d MB, preloaded:cflinuxfs4", task, tt.wantMem, tt.wantD)
			}
		})
	}
	bad := bpRequest("web")
	bad.Buildpack = ""
	if _, err := stage.TaskFor(&bad); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("buildpack request without a buildpack: err = %v, want ErrInvalid", err)
	}
	if r := bpRequest("web"); r.TimeoutOrDefault() != 15*time.Minute {
		t.Errorf("default timeout %s, want 15m", r.TimeoutOrDefault())
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ reason, id, msg string }{
		{"Exited with status 222", "BUILDPACK_DETECT_FAILED", "staging failed"},
		{"Exited with status 223", "BUILDPACK_COMPILE_FAILED", "staging failed"},
		{"Exited with status 224", "BUILDPACK_RELEASE_FAILED", "staging failed"},
		{"insufficient resources: memory", "INSUFFICIENT_RESOURCES", "insufficient resources: memory"},
		{"found no compatible cell for required rootfs", "NO_COMPATIBLE_CELL", "found no compatible cell for required rootfs"},
		{"unable to communicate to compatible cells", "CELL_COMMUNICATION_ERROR", "unable to communicate to compatible cells"},
		{"unable to communicate to compatible cells!", "STAGING_ERROR", "staging failed"},
		{"staging timed out", "STAGING_ERROR", "staging failed"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			got := stage.Sanitize(tt.reason)
			if got.ID != tt.id || got.Message != tt.msg || got.Reason != tt.reason {
				t.Errorf("Sanitize(%q) = %+v, want %s / %q", tt.reason, got, tt.id, tt.msg)
			}
		})
	}
}

func TestParseImageRef(t *testing.T) {
	tests := []struct {
		in   string
		want stage.ImageRef
		bad  bool
	}{
		{in: "acme/web:1.2", want: stage.ImageRef{Repo: "acme/web", Tag: "1.2"}},
		{in: "acme/web", want: stage.ImageRef{Repo: "acme/web", Tag: "latest"}},
		{in: "reg.local:5000/acme/web", want: stage.ImageRef{Repo: "reg.local:5000/acme/web", Tag: "latest"}},
		{in: "reg.local:5000/acme/web:v2", want: stage.ImageRef{Repo: "reg.local:5000/acme/web", Tag: "v2"}},
		{in: "acme/web@sha256:abc", want: stage.ImageRef{Repo: "acme/web", Digest: "sha256:abc"}},
		{in: "", bad: true},
		{in: "acme/web:", bad: true},
		{in: "acme/web@md5:1", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := stage.ParseImageRef(tt.in)
			if tt.bad {
				if !errors.Is(err, model.ErrInvalid) {
					t.Errorf("ParseImageRef(%q) err = %v, want ErrInvalid", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseImageRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// world is a BBS plus a stager, driven the way a driver does: desire the staging
// task, run it (or not) on a cell, hand each completion callback to the stager.
type world struct {
	t  *testing.T
	b  *bbs.BBS
	st *stage.Stager
}

func newWorld(t *testing.T) *world {
	return &world{t: t, b: bbs.New(bbs.NewMemStore(), bbs.DefaultConfig()), st: stage.NewStager()}
}

func (w *world) stage(now time.Duration, r stage.Request) {
	w.t.Helper()
	task, err := w.st.Stage(now, r)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.b.DesireTask(now, task); err != nil {
		w.t.Fatal(err)
	}
}

// callbacks delivers the completion callbacks to the stager and returns the outcomes.
func (w *world) callbacks(now time.Duration) []stage.Outcome {
	w.t.Helper()
	var out []stage.Outcome
	for _, cb := range w.b.Ready().Callbacks {
		if cb.Domain != stage.Domain {
			continue
		}
		o, err := w.st.Completed(now, cb)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func one(t *testing.T, outs []stage.Outcome) stage.Outcome {
	t.Helper()
	if len(outs) != 1 {
		t.Fatalf("got %d outcomes, want 1: %+v", len(outs), outs)
	}
	return outs[0]
}

func TestStagingLifecycle(t *testing.T) {
	const s = time.Second
	t.Run("buildpack success desires the LRP", func(t *testing.T) {
		w := newWorld(t)
		w.stage(0, bpRequest("web"))
		if ok, err := w.b.StartTask(1*s, "web-staging", "cell-1"); !ok || err != nil {
			t.Fatalf("StartTask = %v, %v", ok, err)
		}
		if err := w.b.CompleteTask(90*s, "web-staging", "cell-1", false, "", stage.EncodeResult(stage.Result{Digest: "sha256:d1"})); err != nil {
			t.Fatal(err)
		}
		o := one(t, w.callbacks(90*s))
		if o.Failure != nil || o.Desire == nil {
			t.Fatalf("outcome %+v, want a DesiredLRP", o)
		}
		want := app("web", 256, 512)
		if diff := cmp.Diff(want, *o.Desire); diff != "" {
			t.Errorf("desired LRP (-want +got):\n%s", diff)
		}
		if o.Duration != 90*s || o.Droplet.Pull().From != stage.Blobstore {
			t.Errorf("duration %s, pull %+v; want 1m30s from the blobstore", o.Duration, o.Droplet.Pull())
		}
		if r, _ := w.st.Get("web-staging"); r.State != stage.Staged {
			t.Errorf("state %s, want STAGED", r.State)
		}
	})
	t.Run("compile failure", func(t *testing.T) {
		w := newWorld(t)
		w.stage(0, bpRequest("web"))
		_, _ = w.b.StartTask(s, "web-staging", "cell-1")
		_ = w.b.CompleteTask(40*s, "web-staging", "cell-1", true, stage.ExitReason(stage.CompileFailCode), "")
		o := one(t, w.callbacks(40*s))
		if o.Desire != nil || o.Failure == nil || o.Failure.ID != stage.ErrBuildpackCompileFailed || o.Failure.Message != "staging failed" {
			t.Errorf("outcome %+v, want BUILDPACK_COMPILE_FAILED and no LRP", o)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		w := newWorld(t)
		w.stage(0, bpRequest("web"))
		_, _ = w.b.StartTask(s, "web-staging", "cell-1")
		// The executor's Timeout action fires 15 min after the task started running.
		if w.st.TimedOut("web-staging", s, 15*time.Minute) {
			t.Fatal("timed out 1s early")
		}
		if !w.st.TimedOut("web-staging", s, 15*time.Minute+s) {
			t.Fatal("not timed out after 15 min of running")
		}
		_ = w.b.CompleteTask(15*time.Minute+s, "web-staging", "cell-1", true, stage.ReasonTimedOut, "")
		o := one(t, w.callbacks(15*time.Minute+s))
		if o.Failure == nil || o.Failure.ID != stage.ErrStagingError || o.Failure.Reason != stage.ReasonTimedOut {
			t.Errorf("outcome %+v, want STAGING_ERROR with the timeout reason", o)
		}
	})
	t.Run("placement failure is INSUFFICIENT_RESOURCES", func(t *testing.T) {
		w := newWorld(t)
		w.stage(0, bpRequest("web"))
		// The auction rejects the task each round; the 4th rejection (max_task_retries 3)
		// fails it with the auction's reason.
		for i := 1; i <= 4; i++ {
			if err := w.b.RejectTask(time.Duration(i)*30*s, "web-staging", "insufficient resources: memory"); err != nil {
				t.Fatal(err)
			}
			if i < 4 && len(w.callbacks(0)) != 0 {
				t.Fatalf("staging completed after %d rejections, want 4", i)
			}
		}
		o := one(t, w.callbacks(120*s))
		if o.Failure == nil || o.Failure.ID != stage.ErrInsufficientResources || o.Failure.Message != "insufficient resources: memory" {
			t.Errorf("outcome %+v, want INSUFFICIENT_RESOURCES", o)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		w := newWorld(t)
		w.stage(0, bpRequest("web"))
		_, _ = w.b.StartTask(s, "web-staging", "cell-1")
		if err := w.st.Cancel(5*s, "web-staging"); err != nil {
			t.Fatal(err)
		}
		if err := w.b.CancelTask(5*s, "web-staging"); err != nil {
			t.Fatal(err)
		}
		ready := w.b.Ready()
		if got := ready.CancelTasks; len(got) != 1 || got[0].CellID != "cell-1" {
			t.Errorf("cancel requests %+v, want one to cell-1", got)
		}
		if len(ready.Callbacks) != 1 {
			t.Fatalf("callbacks %+v, want one", ready.Callbacks)
		}
		o, err := w.st.Completed(5*s, ready.Callbacks[0])
		if err != nil {
			t.Fatal(err)
		}
		if o.Failure == nil || o.Failure.ID != stage.ErrStagingCancelled || o.Desire != nil {
			t.Errorf("outcome %+v, want STAGING_CANCELLED", o)
		}
		if r, _ := w.st.Get("web-staging"); r.State != stage.Cancelled {
			t.Errorf("state %s, want CANCELLED", r.State)
		}
		if err := w.st.Cancel(6*s, "web-staging"); !errors.Is(err, model.ErrInvalidTransition) {
			t.Errorf("second cancel: %v, want ErrInvalidTransition", err)
		}
	})
	t.Run("double stage and unknown completion are refused", func(t *testing.T) {
		w := newWorld(t)
		w.stage(0, bpRequest("web"))
		if _, err := w.st.Stage(s, bpRequest("web")); !errors.Is(err, model.ErrExists) {
			t.Errorf("second Stage: %v, want ErrExists", err)
		}
		if _, err := w.st.Completed(s, model.Task{GUID: "nope", State: model.TaskCompleted}); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("unknown completion: %v, want ErrNotFound", err)
		}
	})
}

func dockerRequest(cache bool) stage.Request {
	a := app("img", 512, 1024)
	a.RootFS = "docker:///acme/web:latest"
	return stage.Request{StagingGUID: "img-staging", App: a, Lifecycle: stage.Docker,
		Image: stage.ImageRef{Repo: "acme/web", Tag: "latest"}, Credentials: "u:p", Cache: cache}
}

// The cache policy: cache on pins the digest in the private registry and drops the
// credentials; cache off resolves the tag at every start with the credentials.
func TestDockerCachePolicy(t *testing.T) {
	for _, cache := range []bool{true, false} {
		w := newWorld(t)
		w.stage(0, dockerRequest(cache))
		_, _ = w.b.StartTask(time.Second, "img-staging", "cell-1")
		res := stage.Result{}
		if cache {
			res = stage.Result{Digest: "sha256:v1", CachedImage: "private:8080/img-0"}
		}
		_ = w.b.CompleteTask(20*time.Second, "img-staging", "cell-1", false, "", stage.EncodeResult(res))
		o := one(t, w.callbacks(20*time.Second))
		if o.Droplet == nil {
			t.Fatalf("cache=%v: outcome %+v", cache, o)
		}
		p := o.Droplet.Pull()
		if cache {
			want := stage.Pull{From: stage.Private, Ref: stage.ImageRef{Repo: "private:8080/img-0", Digest: "sha256:v1"}}
			if p != want || o.Droplet.Credentials != "" || o.Desire.RootFS != "docker:///private:8080/img-0" {
				t.Errorf("cache on: pull %+v creds %q rootfs %s; want %+v, none, the cached image", p, o.Droplet.Credentials, o.Desire.RootFS, want)
			}
		} else {
			want := stage.Pull{From: stage.Public, Ref: stage.ImageRef{Repo: "acme/web", Tag: "latest"}, ResolveAtStart: true, Credentials: "u:p"}
			if p != want {
				t.Errorf("cache off: pull %+v, want %+v", p, want)
			}
		}
	}
	// Cache on but the result lacks the digest: a staging error, not a silent unpinned app.
	w := newWorld(t)
	w.stage(0, dockerRequest(true))
	_, _ = w.b.StartTask(time.Second, "img-staging", "cell-1")
	_ = w.b.CompleteTask(2*time.Second, "img-staging", "cell-1", false, "", "")
	if o := one(t, w.callbacks(2*time.Second)); o.Failure == nil || o.Failure.ID != stage.ErrStagingError {
		t.Errorf("outcome %+v, want STAGING_ERROR", o)
	}
}

func TestResourceMatching(t *testing.T) {
	c := stage.NewResourceCache()
	p, err := stage.SyntheticPackage("web", 10, 1003)
	if err != nil {
		t.Fatal(err)
	}
	if p.Bytes() != 1003 || p[0].Bytes != 101 || p[9].Bytes != 100 {
		t.Fatalf("package sizes %v, want 1003 bytes with the 3 remainder bytes on the first files", p)
	}
	miss, n := c.Match(p)
	if len(miss) != 10 || n != 1003 {
		t.Errorf("first push uploads %d files / %d bytes, want 10 / 1003", len(miss), n)
	}
	c.Store(miss)
	// A re-push of the same code uploads nothing; a package with 2 new files uploads them.
	if miss, n := c.Match(p); len(miss) != 0 || n != 0 {
		t.Errorf("re-push uploads %d files / %d bytes, want 0", len(miss), n)
	}
	q := append(stage.Package{{Hash: "new1", Bytes: 7}, {Hash: "new2", Bytes: 5}, {Hash: "new1", Bytes: 7}}, p...)
	if miss, n := c.Match(q); len(miss) != 2 || n != 12 {
		t.Errorf("changed push uploads %d files / %d bytes, want 2 / 12 (duplicates once)", len(miss), n)
	}
	if _, err := stage.SyntheticPackage("x", 0, 1); err == nil {
		t.Error("a package of 0 files was accepted")
	}
}
