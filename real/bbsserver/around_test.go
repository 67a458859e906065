package bbsserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

func startAround(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Token: "client-token", RepToken: "rep-token", RouterToken: "router-token", LogBound: 3})
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

// TestComponentTokens: each component reaches only what is its own.
func TestComponentTokens(t *testing.T) {
	s := startAround(t)
	u := s.URL()
	line := func(src string) string {
		return `{"app":"web","source":"` + src + `","index":0,"stream":"OUT","text":"x","at":"2026-01-02T03:04:05Z"}`
	}
	for _, tc := range []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"router reads routes", "GET", "/v1/routes", "router-token", "", 200},
		{"client may not read routes", "GET", "/v1/routes", "client-token", "", 401},
		{"rep may not read routes", "GET", "/v1/routes", "rep-token", "", 401},
		{"client may not follow events", "GET", "/v1/events", "client-token", "", 401},
		{"rep posts APP", "POST", "/v1/logs", "rep-token", line("APP"), 200},
		{"rep may not post RTR", "POST", "/v1/logs", "rep-token", line("RTR"), 403},
		{"router posts RTR", "POST", "/v1/logs", "router-token", line("RTR"), 200},
		{"router may not post APP", "POST", "/v1/logs", "router-token", line("APP"), 403},
		{"client may not post logs", "POST", "/v1/logs", "client-token", line("APP"), 401},
		{"router may not read logs", "GET", "/v1/apps/web/logs?recent=1", "router-token", "", 401},
		{"client reads logs", "GET", "/v1/apps/web/logs?recent=1", "client-token", "", 200},
		{"client scrapes metrics", "GET", "/metrics", "client-token", "", 200},
		{"anonymous metrics refused", "GET", "/metrics", "", "", 401},
		{"router may not push", "POST", "/v1/apps/web/push", "router-token", "{}", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := raw(t, tc.method, u+tc.path, tc.token, tc.body); code != tc.want {
				t.Fatalf("%d %s, want %d", code, body, tc.want)
			}
		})
	}
	// Two accepted lines (APP, RTR) in a 3-line buffer: received 2, dropped 0.
	cl := api.NewClient(u, "client-token", 5*time.Second)
	var st api.LogStats
	if err := cl.Do(context.Background(), http.MethodGet, "/v1/apps/web/logs/stats", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Received != 2 || st.Dropped != 0 || st.Bound != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPushAroundValidation: routes, health checks and drains are checked.
func TestPushAroundValidation(t *testing.T) {
	s := startAround(t)
	sha := strings.Repeat("a", 64)
	base := `"files":[{"path":"f","sha256":"` + sha + `","mode":420}],"buildpack":"static","instances":1,"memory_mb":64,"disk_mb":64`
	for _, tc := range []struct{ name, extra, want string }{
		{"bad route", `"routes":["Bad_Host"]`, "routes[0]"},
		{"own default route", `"routes":["web.localhost"]`, "listed twice"},
		{"bad check", `"health_check":{"type":"tcp"}`, "health_check.type"},
		{"path without http", `"health_check":{"path":"/x"}`, "only applies to an http check"},
		{"remote drain", `"drains":["syslog://10.0.0.1:514"]`, "loopback only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := raw(t, "POST", s.URL()+"/v1/apps/web/push", "client-token", "{"+base+","+tc.extra+"}")
			if code != 422 || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want 422 containing %q", code, body, tc.want)
			}
		})
	}
}

// TestEventStream: a desired change reaches a follower of /v1/events.
func TestEventStream(t *testing.T) {
	s := startAround(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer router-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// A task is not an LRP event; desiring an LRP through the plane is.
	if err := s.do(func(now time.Duration) error {
		return s.plane.DesireLRP(now, desiredFor(&api.App{ProcessGUID: "web-v1", MemoryMB: 64, DiskMB: 64}, 1))
	}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev api.ActualEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == "DesiredLRPCreated" && ev.ProcessGUID == "web-v1" {
			return
		}
	}
	t.Fatalf("no DesiredLRPCreated event: %v", sc.Err())
}
