package bbsserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Token: "client-token", RepToken: "rep-token"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

func raw(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// TestBadRequests: every bad request gets its 4xx and a JSON error, and the server
// keeps serving.
func TestBadRequests(t *testing.T) {
	s := startServer(t)
	u := s.URL()
	sha := strings.Repeat("a", 64)
	big := `{"cell_id":"` + strings.Repeat("x", 2<<20) + `"}`
	okPresence := `{"cell_id":"c1","zone":"z","index":0,"rep_url":"http://127.0.0.1:1","capacity":{"memory_mb":1,"disk_mb":1,"containers":1},"rootfs_providers":[]}`
	tests := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"no token", "GET", "/v1/apps", "", "", 401},
		{"wrong token", "GET", "/v1/apps", "nope", "", 401},
		{"rep token on a client path", "GET", "/v1/apps", "rep-token", "", 401},
		{"client token on a rep path", "POST", "/v1/presence", "client-token", okPresence, 401},
		{"bad json", "POST", "/v1/apps/web/scale", "client-token", `{"instances":`, 400},
		{"unknown field", "POST", "/v1/apps/web/scale", "client-token", `{"instances":1,"color":"red"}`, 400},
		{"wrong type", "POST", "/v1/apps/web/scale", "client-token", `{"instances":"two"}`, 400},
		{"trailing data", "POST", "/v1/apps/web/scale", "client-token", `{"instances":1}{}`, 400},
		{"empty body", "POST", "/v1/apps/web/scale", "client-token", ``, 400},
		{"negative instances", "POST", "/v1/apps/web/scale", "client-token", `{"instances":-1}`, 422},
		{"unknown app", "POST", "/v1/apps/web/scale", "client-token", `{"instances":1}`, 404},
		{"bad app name", "GET", "/v1/apps/Web_App", "client-token", "", 422},
		{"oversized body", "POST", "/v1/presence", "rep-token", big, 413},
		{"negative capacity", "POST", "/v1/presence", "rep-token", strings.Replace(okPresence, `"memory_mb":1`, `"memory_mb":-5`, 1), 422},
		{"non-loopback rep url", "POST", "/v1/presence", "rep-token", strings.Replace(okPresence, "127.0.0.1", "10.0.0.1", 1), 422},
		// 10.213.0.0/24 is a multi-host cluster's own network (real/hostnet); its
		// neighbours are not.
		{"rep url next to the hosts' network", "POST", "/v1/presence", "rep-token", strings.Replace(okPresence, "127.0.0.1", "10.213.1.11", 1), 422},
		{"rep url without a port", "POST", "/v1/presence", "rep-token", strings.Replace(okPresence, "127.0.0.1:1", "10.213.0.11", 1), 422},
		{"push negative memory", "POST", "/v1/apps/web/push", "client-token",
			`{"files":[{"path":"a","sha256":"` + sha + `","mode":420}],"buildpack":"static","instances":1,"memory_mb":-64,"disk_mb":0}`, 422},
		{"push unknown buildpack", "POST", "/v1/apps/web/push", "client-token",
			`{"files":[{"path":"a","sha256":"` + sha + `","mode":420}],"buildpack":"ruby","instances":1,"memory_mb":64,"disk_mb":0}`, 422},
		{"push path escapes", "POST", "/v1/apps/web/push", "client-token",
			`{"files":[{"path":"../a","sha256":"` + sha + `","mode":420}],"buildpack":"static","instances":1,"memory_mb":64,"disk_mb":0}`, 422},
		{"push blob not uploaded", "POST", "/v1/apps/web/push", "client-token",
			`{"files":[{"path":"a","sha256":"` + sha + `","mode":420}],"buildpack":"static","instances":1,"memory_mb":64,"disk_mb":0}`, 422},
		{"blob with wrong content", "PUT", "/v1/blobs/" + sha, "client-token", "hello", 422},
		{"bad sha", "GET", "/v1/blobs/xyz", "client-token", "", 422},
		{"claim unknown instance", "POST", "/v1/actual/claim", "rep-token", `{"key":{"process_guid":"web","index":0},"instance":{"instance_guid":"i-1","cell_id":"c1"}}`, 404},
		{"start with an address next to the hosts' network", "POST", "/v1/actual/start", "rep-token", `{"key":{"process_guid":"web","index":0},"instance":{"instance_guid":"i-1","cell_id":"c1"},"address":"10.213.1.11:80"}`, 422},
		{"start with a public address", "POST", "/v1/actual/start", "rep-token", `{"key":{"process_guid":"web","index":0},"instance":{"instance_guid":"i-1","cell_id":"c1"},"address":"8.8.8.8:80"}`, 422},
		{"unknown actual op", "POST", "/v1/actual/explode", "rep-token", `{"key":{"process_guid":"web","index":0},"instance":{}}`, 404},
		{"complete unknown task", "POST", "/v1/tasks/t1/complete", "rep-token", `{"task_guid":"t1","cell_id":"c1"}`, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := raw(t, tc.method, u+tc.path, tc.token, tc.body)
			if code != tc.want {
				t.Fatalf("%s %s: status %d (%s), want %d", tc.method, tc.path, code, body, tc.want)
			}
			if !strings.HasPrefix(body, `{"error":`) {
				t.Fatalf("body %q is not a JSON error", body)
			}
		})
	}
	// Still serving, and a good request works; a rep on a host of a multi-host
	// cluster (10.213.0.0/24) is accepted as one on loopback is.
	onHost := strings.Replace(strings.Replace(okPresence, "127.0.0.1", "10.213.0.11", 1), `"c1"`, `"c2"`, 1)
	if code, body := raw(t, "POST", u+"/v1/presence", "rep-token", onHost); code != 200 {
		t.Fatalf("heartbeat of a rep on a host: %d %s", code, body)
	}
	if code, body := raw(t, "POST", u+"/v1/presence", "rep-token", okPresence); code != 200 {
		t.Fatalf("good heartbeat: %d %s", code, body)
	}
	var h api.Health
	if err := api.NewClient(u, "client-token", 5*time.Second).Do(context.Background(), "GET", "/v1/health", nil, &h); err != nil || h.Cells != 2 {
		t.Fatalf("health = %+v, %v; want 2 cells", h, err)
	}
	var cells []api.CellInfo
	if err := api.NewClient(u, "client-token", 5*time.Second).Do(context.Background(), "GET", "/v1/cells", nil, &cells); err != nil || len(cells) != 2 {
		t.Fatalf("cells = %+v, %v", cells, err)
	}
}

// TestRestartKeepsClock: a BBS reopened on the same directory continues the clock
// (now does not go back to zero) and keeps its rows.
func TestRestartKeepsClock(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{Dir: dir, Listen: "127.0.0.1:0", Token: "a", RepToken: "b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	time.Sleep(200 * time.Millisecond)
	before := s.now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s2, err := New(Config{Dir: dir, Listen: "127.0.0.1:0", Token: "a", RepToken: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.store.Close()
	if got := s2.now(); got < before {
		t.Fatalf("reopened clock %v < %v before the restart", got, before)
	}
	if s2.grace == 0 {
		t.Fatal("a reopened BBS must wait one presence TTL before ticking")
	}
}
