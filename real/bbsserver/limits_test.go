package bbsserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// handlerServer builds a BBS whose handlers are called in-process (no Serve, no
// tick loop); everything it opened is closed when the test ends.
func handlerServer(t testing.TB, lim Limits) (*Server, http.Handler) {
	t.Helper()
	return handlerServerOn(t, lim, nil)
}

// handlerServerOn is handlerServer with its state in st (nil: SQLite in a
// temporary directory).
func handlerServerOn(t testing.TB, lim Limits, st Store) (*Server, http.Handler) {
	t.Helper()
	s, err := New(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Token: "client-token", RepToken: "rep-token",
		RouterToken: "router-token", Limits: lim, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.ln.Close()
		s.logs.Close()
		s.wg.Wait()
		s.events.Close()
		s.store.Close()
	})
	return s, s.routes()
}

// call runs one request through h.
func call(h http.Handler, method, path, token, body string) (int, string) {
	return callCtx(context.Background(), h, method, path, token, body)
}

// callCtx runs one request through h with ctx as the client's (a follower of a log
// stream returns when it ends).
func callCtx(ctx context.Context, h http.Handler, method, path, token, body string) (int, string) {
	req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// putBlob uploads content and returns its sha256.
func putBlob(t *testing.T, h http.Handler, content string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	sh := hex.EncodeToString(sum[:])
	if code, body := call(h, "PUT", "/v1/blobs/"+sh, "client-token", content); code != 200 {
		t.Fatalf("put blob: %d %s", code, body)
	}
	return sh
}

// TestLimits: every limit at its value (accepted), just above and far above
// (refused with 422 naming the limit and its flag), and the server still serving.
func TestLimits(t *testing.T) {
	lim := Limits{MaxInstances: 5, MaxMemoryMB: 512, MaxDiskMB: 1024, MaxApps: 2, MaxTasks: 2, MaxCommand: 64,
		MaxRoutes: 2, MaxDrains: 1, MaxFiles: 3, MaxCells: 2, MaxCellContainers: 10, MaxCellMemoryMB: 4096,
		MaxCellDiskMB: 8192, RequestRate: 1e6, RequestBurst: 1e6}
	s, h := handlerServer(t, lim)
	sh := putBlob(t, h, "hello")
	files := func(n int) string {
		var fs []string
		for i := range n {
			fs = append(fs, fmt.Sprintf(`{"path":"f%d","sha256":"%s","mode":420}`, i, sh))
		}
		return "[" + strings.Join(fs, ",") + "]"
	}
	push := func(inst, mem, disk, nfiles int, extra string) string {
		return fmt.Sprintf(`{"files":%s,"buildpack":"static","instances":%d,"memory_mb":%d,"disk_mb":%d%s}`, files(nfiles), inst, mem, disk, extra)
	}
	list := func(key, format string, n int) string {
		var xs []string
		for i := range n {
			xs = append(xs, fmt.Sprintf(`"`+format+`"`, i))
		}
		return fmt.Sprintf(`,"%s":[%s]`, key, strings.Join(xs, ","))
	}
	cmd := func(n int) string { return fmt.Sprintf(`,"command":"%s"`, strings.Repeat("x", n)) }
	presence := func(id string, mem, disk, containers int) string {
		return fmt.Sprintf(`{"cell_id":"%s","zone":"z","index":0,"rep_url":"http://127.0.0.1:1","capacity":{"memory_mb":%d,"disk_mb":%d,"containers":%d},"rootfs_providers":[]}`,
			id, mem, disk, containers)
	}
	// An app with a droplet, stopped (so that scale and run-task only touch the store).
	if err := s.store.PutSpec(specApp, "ready", api.App{Name: "ready", State: api.AppStopped, Version: 1, ProcessGUID: "ready-v1",
		Instances: 1, MemoryMB: 64, DropletSHA: sh}); err != nil {
		t.Fatal(err)
	}
	const far = 1_000_000_000_000
	tests := []struct {
		name, method, path, token, body string
		want                            int
		flag                            string // the refusal names it
	}{
		{"push instances at", "POST", "/v1/apps/a1/push", "client-token", push(5, 64, 0, 1, ""), 200, ""},
		{"push instances above", "POST", "/v1/apps/a1/push", "client-token", push(6, 64, 0, 1, ""), 422, "max-instances"},
		{"push instances far above", "POST", "/v1/apps/a1/push", "client-token", push(far, 64, 0, 1, ""), 422, "max-instances"},
		{"push memory at", "POST", "/v1/apps/a1/push", "client-token", push(1, 512, 0, 1, ""), 200, ""},
		{"push memory above", "POST", "/v1/apps/a1/push", "client-token", push(1, 513, 0, 1, ""), 422, "max-memory-mb"},
		{"push memory far above", "POST", "/v1/apps/a1/push", "client-token", push(1, far, 0, 1, ""), 422, "max-memory-mb"},
		{"push disk at", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 1024, 1, ""), 200, ""},
		{"push disk above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 1025, 1, ""), 422, "max-disk-mb"},
		{"push disk far above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, far, 1, ""), 422, "max-disk-mb"},
		{"push files at", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 3, ""), 200, ""},
		{"push files above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 4, ""), 422, "max-files"},
		{"push files far above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 2000, ""), 422, "max-files"},
		{"push command at", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, cmd(64)), 200, ""},
		{"push command above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, cmd(65)), 422, "max-command"},
		{"push command far above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, cmd(100_000)), 422, "max-command"},
		{"push routes at", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, list("routes", "r%d.example.test", 2)), 200, ""},
		{"push routes above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, list("routes", "r%d.example.test", 3)), 422, "max-routes"},
		{"push routes far above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, list("routes", "r%d.example.test", 1000)), 422, "max-routes"},
		{"push drains at", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, list("drains", "syslog://127.0.0.1:5%03d", 1)), 200, ""},
		{"push drains above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, list("drains", "syslog://127.0.0.1:5%03d", 2)), 422, "max-drains"},
		{"push drains far above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, list("drains", "syslog://127.0.0.1:5%03d", 500)), 422, "max-drains"},
		// "ready" and a1 exist: MaxApps = 2 is reached.
		{"apps above", "POST", "/v1/apps/a2/push", "client-token", push(1, 64, 0, 1, ""), 422, "max-apps"},
		{"re-push of an existing app at max apps", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, ""), 200, ""},
		{"scale at", "POST", "/v1/apps/ready/scale", "client-token", `{"instances":5}`, 200, ""},
		{"scale above", "POST", "/v1/apps/ready/scale", "client-token", `{"instances":6}`, 422, "max-instances"},
		{"scale far above", "POST", "/v1/apps/ready/scale", "client-token", fmt.Sprintf(`{"instances":%d}`, far), 422, "max-instances"},
		{"task command at", "POST", "/v1/apps/ready/tasks", "client-token", `{"command":"` + strings.Repeat("x", 64) + `"}`, 200, ""},
		{"task command above", "POST", "/v1/apps/ready/tasks", "client-token", `{"command":"` + strings.Repeat("x", 65) + `"}`, 422, "max-command"},
		{"task command far above", "POST", "/v1/apps/ready/tasks", "client-token", `{"command":"` + strings.Repeat("x", 500_000) + `"}`, 422, "max-command"},
		{"task memory above", "POST", "/v1/apps/ready/tasks", "client-token", `{"command":"x","memory_mb":513}`, 422, "max-memory-mb"},
		{"task disk far above", "POST", "/v1/apps/ready/tasks", "client-token", fmt.Sprintf(`{"command":"x","disk_mb":%d}`, far), 422, "max-disk-mb"},
		{"tasks at", "POST", "/v1/apps/ready/tasks", "client-token", `{"command":"x"}`, 200, ""},
		// Two tasks are not completed: MaxTasks = 2 (staging tasks do not count).
		{"tasks above", "POST", "/v1/apps/ready/tasks", "client-token", `{"command":"x"}`, 422, "max-tasks"},
		{"cell capacity at", "POST", "/v1/presence", "rep-token", presence("c1", 4096, 8192, 10), 200, ""},
		{"cell containers above", "POST", "/v1/presence", "rep-token", presence("c1", 4096, 8192, 11), 422, "max-cell-containers"},
		{"cell containers far above", "POST", "/v1/presence", "rep-token", presence("c1", 4096, 8192, far), 422, "max-cell-containers"},
		{"cell memory above", "POST", "/v1/presence", "rep-token", presence("c1", 4097, 8192, 10), 422, "max-cell-memory-mb"},
		{"cell disk far above", "POST", "/v1/presence", "rep-token", presence("c1", 4096, far, 10), 422, "max-cell-disk-mb"},
		{"cells at", "POST", "/v1/presence", "rep-token", presence("c2", 1, 1, 1), 200, ""},
		{"cells above", "POST", "/v1/presence", "rep-token", presence("c3", 1, 1, 1), 422, "max-cells"},
		{"cell id far above", "POST", "/v1/presence", "rep-token", presence(strings.Repeat("c", 100_000), 1, 1, 1), 422, ""},
		{"report index far above", "POST", "/v1/actual/claim", "rep-token", fmt.Sprintf(`{"key":{"process_guid":"x","index":%d},"instance":{"instance_guid":"i","cell_id":"c1"}}`, far), 422, ""},
		{"health check start timeout above", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, `,"health_check":{"start_timeout":181000000000}`), 422, ""},
		{"health check interval below", "POST", "/v1/apps/a1/push", "client-token", push(1, 64, 0, 1, `,"health_check":{"interval":1}`), 422, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(h, tc.method, tc.path, tc.token, tc.body)
			if code != tc.want {
				t.Fatalf("%s %s: status %d (%.300s), want %d", tc.method, tc.path, code, body, tc.want)
			}
			if tc.flag != "" && !strings.Contains(body, "--"+tc.flag) {
				t.Fatalf("refusal %q does not name the limit --%s", body, tc.flag)
			}
		})
	}
	var desired int
	for _, d := range mustList(t, s) {
		desired += d
	}
	if desired != 0 {
		t.Fatalf("a refused request desired %d instances", desired)
	}
	tasks, err := locked(s, s.store.ListTasks)
	if err != nil {
		t.Fatal(err)
	}
	staging := 0
	for _, tk := range tasks {
		if tk.Domain == api.StagingDomain && !tk.Failed {
			staging++
		}
	}
	if staging != 1 {
		t.Fatalf("%d live staging tasks after re-pushes of one app, want 1 (a re-push cancels the previous)", staging)
	}
}

func mustList(t *testing.T, s *Server) []int {
	t.Helper()
	ds, err := locked(s, s.store.ListDesiredLRPs)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, d := range ds {
		out = append(out, d.Instances)
	}
	return out
}

// TestRateLimit: beyond the burst a client gets 429 with Retry-After until the
// bucket refills; reps are not limited.
func TestRateLimit(t *testing.T) {
	s, h := handlerServer(t, Limits{RequestRate: 2, RequestBurst: 3})
	now := time.Unix(1000, 0)
	s.rate = newRateLimiter(2, 3, func() time.Time { return now })
	h = s.routes()
	for i := range 3 {
		if code, body := call(h, "GET", "/v1/apps", "client-token", ""); code != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, code, body)
		}
	}
	req := httptest.NewRequest("GET", "/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer client-token")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), "--request-rate") {
		t.Fatalf("beyond the burst: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	if code, _ := call(h, "GET", "/v1/apps", "", ""); code != 401 {
		t.Fatalf("unauthenticated: %d, want 401 before the rate limit", code)
	}
	if code, body := call(h, "POST", "/v1/presence", "rep-token", `{"cell_id":"c","zone":"z","index":0,"rep_url":"http://127.0.0.1:1","capacity":{"memory_mb":1,"disk_mb":1,"containers":1},"rootfs_providers":[]}`); code != 200 {
		t.Fatalf("rep while clients are limited: %d %s", code, body)
	}
	now = now.Add(500 * time.Millisecond) // one token
	if code, body := call(h, "GET", "/v1/apps", "client-token", ""); code != 200 {
		t.Fatalf("after refill: %d %s", code, body)
	}
	if code, _ := call(h, "GET", "/v1/apps", "client-token", ""); code != 429 {
		t.Fatalf("second request after one token: %d, want 429", code)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{strings.Repeat("a", 30), 20, "aaaaaaaa [truncated]"},
		{"ééééééééééééé", 15, "é [truncated]"},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want || len(got) > tc.n {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
