package bbsserver

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/sqlstore"
)

// The fuzz targets, one per API handler family, send arbitrary bodies and path
// values through the whole handler chain (authentication, rate limit, decoding,
// validation, the plane and the store) of one BBS per fuzzing process. Whatever the
// input: no panic and no 5xx (there is no injected store failure here, so a 5xx is a
// bug: a refusal that reached the store as a failure, or a crash of the handler).
// FuzzDesiredLRPs keeps SQLite under the handlers (the store path: a refused push or
// scale must roll its transaction back there); the others run over sqlstore.Mem, the
// same tables and transaction rules in memory, so that an execution costs the
// handlers' time rather than a SQLite transaction's (about 20 times as many
// executions a second).
// Seed corpora: testdata/fuzz/Fuzz*/.
//
//	go test -run '^$' -fuzz FuzzDesiredLRPs -fuzztime 5m ./real/bbsserver/

// fuzzLimits keeps the limits small so that the fuzzer reaches them, and the rate
// unlimited so that it does not only see 429.
var fuzzLimits = Limits{MaxInstances: 8, MaxMemoryMB: 1024, MaxDiskMB: 1024, MaxApps: 8, MaxTasks: 8, MaxCommand: 256,
	MaxRoutes: 3, MaxDrains: 2, MaxFiles: 8, MaxCells: 4, MaxCellContainers: 64, MaxCellMemoryMB: 1 << 16,
	MaxCellDiskMB: 1 << 16, MaxReason: 128, MaxResult: 256, RequestRate: 1e12, RequestBurst: 1 << 30}

// fuzzServer is a handler server with one blob ("hello") and an app "ready" with
// a droplet, stopped, so that tasks and scale have something to act on.
// Its state is in st (nil: SQLite in a temporary directory).
func fuzzServer(f *testing.F, st Store) (*Server, func(method, path, token, body string) (int, string)) {
	s, do, _ := fuzzServerCtx(f, st)
	return s, do
}

// fuzzServerCtx also returns a caller whose requests carry a context (for streams).
func fuzzServerCtx(f *testing.F, st Store) (*Server, func(method, path, token, body string) (int, string),
	func(ctx context.Context, method, path, token, body string) (int, string)) {
	s, h := handlerServerOn(f, fuzzLimits, st)
	if err := s.store.PutSpec(specApp, "ready", api.App{Name: "ready", State: api.AppStopped, Version: 1,
		ProcessGUID: "ready-v1", Instances: 1, MemoryMB: 64, DropletSHA: helloSHA}); err != nil {
		f.Fatal(err)
	}
	if code, body := call(h, "PUT", "/v1/blobs/"+helloSHA, "client-token", "hello"); code != 200 {
		f.Fatalf("put blob: %d %s", code, body)
	}
	return s, func(method, path, token, body string) (int, string) { return call(h, method, path, token, body) },
		func(ctx context.Context, method, path, token, body string) (int, string) {
			return callCtx(ctx, h, method, path, token, body)
		}
}

const helloSHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

// seg makes a fuzzed string usable as one path segment.
func seg(s string) string {
	if s == "" {
		return "x"
	}
	return url.PathEscape(s)
}

// check fails the run on a 5xx.
func check(t *testing.T, method, path string, code int, body string) {
	if code >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, code, body)
	}
}

func FuzzDesiredLRPs(f *testing.F) {
	_, do := fuzzServer(f, nil)
	push := `{"files":[{"path":"index.html","sha256":"` + helloSHA + `","mode":420}],"buildpack":"static","instances":2,"memory_mb":64,"disk_mb":64}`
	f.Add(uint8(0), "web", push)
	f.Add(uint8(0), "web", `{"files":[],"buildpack":"binary","instances":1000000000000,"memory_mb":64,"disk_mb":0}`)
	f.Add(uint8(1), "ready", `{"instances":3}`)
	f.Add(uint8(1), "ready", `{"instances":1000000000000}`)
	f.Add(uint8(2), "ready", ``)
	f.Add(uint8(5), "web", ``)
	f.Fuzz(func(t *testing.T, op uint8, name, body string) {
		ops := []struct{ method, path string }{
			{"POST", "/v1/apps/%s/push"}, {"POST", "/v1/apps/%s/scale"}, {"POST", "/v1/apps/%s/stop"},
			{"POST", "/v1/apps/%s/start"}, {"GET", "/v1/apps/%s"}, {"DELETE", "/v1/apps/%s"}, {"GET", "/v1/apps"},
		}
		o := ops[int(op)%len(ops)]
		p := strings.Replace(o.path, "%s", seg(name), 1)
		code, rb := do(o.method, p, "client-token", body)
		check(t, o.method, p, code, rb)
	})
}

func FuzzTasks(f *testing.F) {
	_, do := fuzzServer(f, sqlstore.NewMem())
	f.Add(uint8(0), "ready", `{"command":"echo hi","memory_mb":32,"disk_mb":0}`)
	f.Add(uint8(0), "ready", `{"command":"x","memory_mb":1000000000000}`)
	f.Add(uint8(1), "task-ready-1", ``)
	f.Add(uint8(2), "task-ready-1", ``)
	f.Add(uint8(3), "task-ready-1", `{"task_guid":"task-ready-1","cell_id":"c1"}`)
	f.Add(uint8(4), "task-ready-1", `{"task_guid":"task-ready-1","cell_id":"c1","failed":true,"reason":"boom","result":"r"}`)
	f.Add(uint8(5), "", ``)
	f.Fuzz(func(t *testing.T, op uint8, name, body string) {
		ops := []struct{ method, path, token string }{
			{"POST", "/v1/apps/%s/tasks", "client-token"}, {"GET", "/v1/tasks/%s", "client-token"},
			{"DELETE", "/v1/tasks/%s", "client-token"}, {"POST", "/v1/tasks/%s/start", "rep-token"},
			{"POST", "/v1/tasks/%s/complete", "rep-token"}, {"GET", "/v1/tasks", "client-token"},
			{"GET", "/v1/cells/%s/tasks", "rep-token"},
		}
		o := ops[int(op)%len(ops)]
		p := strings.Replace(o.path, "%s", seg(name), 1)
		code, rb := do(o.method, p, o.token, body)
		check(t, o.method, p, code, rb)
	})
}

func FuzzCellReports(f *testing.F) {
	_, do := fuzzServer(f, sqlstore.NewMem())
	f.Add(uint8(0), "c1", `{"cell_id":"c1","zone":"z","index":0,"rep_url":"http://127.0.0.1:1","capacity":{"memory_mb":1024,"disk_mb":1024,"containers":10},"rootfs_providers":["preloaded:busybox"]}`)
	f.Add(uint8(0), "c1", `{"cell_id":"c1","zone":"z","index":0,"rep_url":"http://127.0.0.1:1","capacity":{"memory_mb":1024,"disk_mb":1024,"containers":1000000000000},"rootfs_providers":[]}`)
	f.Add(uint8(1), "claim", `{"key":{"process_guid":"ready-v1","index":0},"instance":{"instance_guid":"i-1","cell_id":"c1"}}`)
	f.Add(uint8(1), "start", `{"key":{"process_guid":"ready-v1","index":0},"instance":{"instance_guid":"i-1","cell_id":"c1"},"address":"127.0.0.1:5000"}`)
	f.Add(uint8(1), "crash", `{"key":{"process_guid":"ready-v1","index":0},"instance":{"instance_guid":"i-1","cell_id":"c1"},"reason":"exited"}`)
	f.Add(uint8(1), "remove", `{"key":{"process_guid":"ready-v1","index":1000000000000},"instance":{}}`)
	f.Add(uint8(2), "c1", ``)
	f.Add(uint8(3), "c1", ``)
	f.Add(uint8(4), "ready-v1", ``)
	f.Fuzz(func(t *testing.T, op uint8, name, body string) {
		ops := []struct{ method, path string }{
			{"POST", "/v1/presence"}, {"POST", "/v1/actual/%s"}, {"DELETE", "/v1/presence/%s"},
			{"GET", "/v1/cells/%s/actual"}, {"GET", "/v1/run/%s"}, {"GET", "/v1/health"},
		}
		o := ops[int(op)%len(ops)]
		p := strings.Replace(o.path, "%s", seg(name), 1)
		code, rb := do(o.method, p, "rep-token", body)
		check(t, o.method, p, code, rb)
	})
}

func FuzzLogs(f *testing.F) {
	_, _, doCtx := fuzzServerCtx(f, sqlstore.NewMem())
	line := `{"app":"ready","source":"APP","index":0,"stream":"OUT","text":"hello","at":"2026-01-02T03:04:05Z"}`
	f.Add(uint8(0), "ready", line+"\n"+line)
	f.Add(uint8(0), "ready", `{"app":"x","source":"APP","index":-1,"stream":"OUT","text":"\u001b]0;title\u0007","at":"2026-01-02T03:04:05Z"}`)
	f.Add(uint8(1), "ready", `{"app":"ready","source":"RTR","index":0,"stream":"OUT","text":"GET /","at":"2026-01-02T03:04:05Z"}`)
	f.Add(uint8(2), "ready", ``)
	f.Add(uint8(3), "ready", ``)
	f.Add(uint8(2), "ready?after=18446744073709551615", ``)
	f.Fuzz(func(t *testing.T, op uint8, name, body string) {
		var method, p, token string
		switch op % 4 {
		case 0:
			method, p, token = "POST", "/v1/logs", "rep-token"
		case 1:
			method, p, token = "POST", "/v1/logs", "router-token"
		case 2:
			// name may carry a query (recent, after): the stream's parameters.
			app, q, _ := strings.Cut(name, "?")
			method, p, token = "GET", "/v1/apps/"+seg(app)+"/logs?recent=1&"+url.PathEscape(q), "client-token"
		case 3:
			method, p, token = "GET", "/v1/apps/"+seg(name)+"/logs/stats", "client-token"
		}
		// A follower (follow=1 in the fuzzed query) streams until its client
		// goes: this client goes after 20 ms.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		code, rb := doCtx(ctx, method, p, token, body)
		check(t, method, p, code, rb)
	})
}
