package bbsserver

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

// startedApp stores app "web" STARTED with a droplet and desires its LRP.
func startedApp(t *testing.T, s *Server, instances int) {
	t.Helper()
	a := api.App{Name: "web", State: api.AppStarted, Version: 1, ProcessGUID: "web-v1", Instances: instances, MemoryMB: 64,
		DiskMB: 64, DropletSHA: helloSHA}
	err := s.do(func(now time.Duration) error {
		if err := s.store.PutSpec(specApp, "web", a); err != nil {
			return err
		}
		return s.plane.DesireLRP(now, desiredFor(&a, instances))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

const presenceC1 = `{"cell_id":"c1","zone":"z","index":0,"rep_url":"http://127.0.0.1:1","capacity":{"memory_mb":1024,"disk_mb":4096,"containers":10},"rootfs_providers":["preloaded:busybox"]}`

// TestScaleResources: scale must change something; a memory change on a started
// app is a new process version at the new size, the old one removed.
func TestScaleResources(t *testing.T) {
	s, h := handlerServer(t, Limits{RequestRate: 1e6, RequestBurst: 1e6})
	startedApp(t, s, 2)
	if code, body := call(h, "POST", "/v1/apps/web/scale", "client-token", `{}`); code != 422 || !strings.Contains(body, "set at least one") {
		t.Fatalf("empty scale: %d %s", code, body)
	}
	code, body := call(h, "POST", "/v1/apps/web/scale", "client-token", `{"memory_mb":128}`)
	if code != 200 {
		t.Fatalf("scale -m: %d %s", code, body)
	}
	a := decodeJSON[api.App](t, body)
	if a.ProcessGUID != "web-v2" || a.MemoryMB != 128 || a.Instances != 2 {
		t.Fatalf("after scale -m: %+v", a)
	}
	ds, err := locked(s, s.store.ListDesiredLRPs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].ProcessGUID != "web-v2" || ds[0].MemoryMB != 128 || ds[0].Instances != 2 {
		t.Fatalf("desired after scale -m: %+v", ds)
	}
	if code, body := call(h, "POST", "/v1/apps/web/scale", "client-token", `{"instances":3}`); code != 200 || decodeJSON[api.App](t, body).ProcessGUID != "web-v2" {
		t.Fatalf("scale -i keeps the process: %d %s", code, body)
	}
}

// TestCrashedInstanceRestartTime: after its third crash an instance is CRASHED and
// `app` says when its backoff (30 s) ends; the cell shows what it holds.
func TestCrashedInstanceRestartTime(t *testing.T) {
	s, h := handlerServer(t, Limits{RequestRate: 1e6, RequestBurst: 1e6})
	if code, body := call(h, "POST", "/v1/presence", "rep-token", presenceC1); code != 200 {
		t.Fatalf("presence: %d %s", code, body)
	}
	startedApp(t, s, 1)
	report := func(op, guid string) (int, string) {
		return call(h, "POST", "/v1/actual/"+op, "rep-token", `{"key":{"process_guid":"web-v1","index":0},"instance":{"instance_guid":"`+guid+`","cell_id":"c1"},"address":"127.0.0.1:5000","reason":"APP/PROC/WEB: Exited with status 1"}`)
	}
	for i := range 3 {
		g := "i-" + string(rune('a'+i))
		for _, op := range []string{"claim", "start"} {
			if code, body := report(op, g); code != 200 {
				t.Fatalf("crash %d, %s: %d %s", i+1, op, code, body)
			}
		}
		if i == 0 {
			code, body := call(h, "GET", "/v1/cells", "client-token", "")
			cells := decodeJSON[[]api.CellInfo](t, body)
			if code != 200 || len(cells) != 1 || cells[0].Used != (model.Resources{MemoryMB: 64, DiskMB: 64, Containers: 1}) {
				t.Fatalf("cells with one running instance: %d %+v", code, cells)
			}
		}
		if code, body := report("crash", g); code != 200 {
			t.Fatalf("crash %d: %d %s", i+1, code, body)
		}
	}
	code, body := call(h, "GET", "/v1/apps/web", "client-token", "")
	d := decodeJSON[api.AppDetail](t, body)
	if code != 200 || len(d.InstancesDetail) != 1 {
		t.Fatalf("app: %d %s", code, body)
	}
	in := d.InstancesDetail[0]
	if in.State != "CRASHED" || in.CrashCount != 3 || in.RestartIn == nil || *in.RestartIn < 25 || *in.RestartIn > 30 ||
		!strings.Contains(in.CrashReason, "Exited with status 1") {
		t.Fatalf("crashed instance: %+v (restart_in %v)", in, in.RestartIn)
	}
	code, body = call(h, "GET", "/v1/cells", "client-token", "")
	if cells := decodeJSON[[]api.CellInfo](t, body); code != 200 || cells[0].Used != (model.Resources{}) {
		t.Fatalf("cells with a crashed instance: %d %+v", code, cells)
	}
}

// TestCompletedTasks: a completed task is listed with its cell and result, and
// for two minutes only.
func TestCompletedTasks(t *testing.T) {
	s, h := handlerServer(t, Limits{RequestRate: 1e6, RequestBurst: 1e6})
	if err := s.store.PutSpec(specApp, "ready", api.App{Name: "ready", State: api.AppStopped, Version: 1, ProcessGUID: "ready-v1",
		Instances: 1, MemoryMB: 64, DropletSHA: helloSHA}); err != nil {
		t.Fatal(err)
	}
	code, body := call(h, "POST", "/v1/apps/ready/tasks", "client-token", `{"command":"echo hi"}`)
	if code != 200 {
		t.Fatalf("run-task: %d %s", code, body)
	}
	guid := decodeJSON[api.TaskInfo](t, body).GUID
	// The desire started an auction in the background; with no cell present it rejects
	// the task (RUNNING or PENDING -> PENDING, as Diego's RejectTask). Let it end first,
	// or it could undo the start below (1-2 runs in 40 failed so).
	s.wg.Wait()
	if code, body := call(h, "POST", "/v1/tasks/"+guid+"/start", "rep-token", `{"task_guid":"`+guid+`","cell_id":"c1"}`); code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	if code, body := call(h, "POST", "/v1/tasks/"+guid+"/complete", "rep-token", `{"task_guid":"`+guid+`","cell_id":"c1","result":"42"}`); code != 200 {
		t.Fatalf("complete: %d %s", code, body)
	}
	code, body = call(h, "GET", "/v1/tasks/"+guid, "client-token", "")
	ti := decodeJSON[api.TaskInfo](t, body)
	if code != 200 || ti.State != "COMPLETED" || ti.CellID != "c1" || ti.Result != "42" || ti.Failed {
		t.Fatalf("task: %d %+v", code, ti)
	}
	now := time.Duration(ti.CompletedAt * float64(time.Second))
	if expired(now+model.DefaultTaskExpireCompleted, ti) || !expired(now+model.DefaultTaskExpireCompleted+time.Second, ti) {
		t.Fatal("a completed task must be listed for exactly 2 minutes")
	}
	if err := s.do(func(time.Duration) error { return s.pruneDoneTasks(now + 3*time.Minute) }); err != nil {
		t.Fatal(err)
	}
	if code, body := call(h, "GET", "/v1/tasks", "client-token", ""); code != 200 || strings.Contains(body, guid) {
		t.Fatalf("tasks after the expiry: %d %s", code, body)
	}
}
