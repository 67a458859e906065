package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// backend is an instance that answers "instance N" and records the headers it saw.
func backend(t *testing.T, idx int, seen *sync.Map) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen.Store(fmt.Sprint(idx), r.Header.Clone())
		}
		fmt.Fprintf(w, "instance %d", idx)
	}))
	t.Cleanup(s.Close)
	return s
}

func addr(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

type collector struct {
	mu    sync.Mutex
	lines []api.LogLine
}

func (c *collector) add(l api.LogLine) { c.mu.Lock(); c.lines = append(c.lines, l); c.mu.Unlock() }

func do(t *testing.T, h http.Handler, host, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestRouting(t *testing.T) {
	var seen sync.Map
	b0, b1, b2 := backend(t, 0, &seen), backend(t, 1, &seen), backend(t, 2, &seen)
	tab := NewTable()
	if err := tab.Sync([]api.Route{
		{App: "web", ProcessGUID: "web-v1", Hosts: []string{"web.localhost", "www.example.test"}, Endpoints: []api.Endpoint{
			{InstanceGUID: "c", Index: 2, Address: addr(b2)}, {InstanceGUID: "a", Index: 0, Address: addr(b0)}, {InstanceGUID: "b", Index: 1, Address: addr(b1)}}},
		{App: "idle", ProcessGUID: "idle-v1", Hosts: []string{"idle.localhost"}},
	}); err != nil {
		t.Fatal(err)
	}
	var logs collector
	rt := New(tab, logs.add, nil)

	t.Run("round robin", func(t *testing.T) {
		// 9 requests over 3 instances in index order: each answers exactly 3.
		count := map[string]int{}
		for range 9 {
			code, body, _ := do(t, rt, "WEB.localhost:8080", "/")
			if code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			count[body]++
		}
		for i := range 3 {
			if n := count[fmt.Sprintf("instance %d", i)]; n != 3 {
				t.Fatalf("instance %d got %d of 9: %v", i, n, count)
			}
		}
	})
	t.Run("extra route", func(t *testing.T) {
		if code, _, _ := do(t, rt, "www.example.test", "/"); code != 200 {
			t.Fatalf("pushed route: %d", code)
		}
	})
	t.Run("headers", func(t *testing.T) {
		code, _, hdr := do(t, rt, "web.localhost", "/")
		id := hdr.Get("X-Request-Id")
		if code != 200 || len(id) != 36 {
			t.Fatalf("code %d, request id %q", code, id)
		}
		found := false
		seen.Range(func(_, v any) bool {
			h := v.(http.Header)
			if h.Get("X-Request-Id") == id {
				found = true
				if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Forwarded-Host") != "web.localhost" {
					t.Errorf("forwarded headers: %v", h)
				}
			}
			return true
		})
		if !found {
			t.Fatal("no instance saw the request id")
		}
	})
	t.Run("404", func(t *testing.T) {
		code, body, _ := do(t, rt, "nope.localhost", "/")
		if code != 404 || !strings.Contains(body, "Requested route ('nope.localhost') does not exist") {
			t.Fatalf("%d %q", code, body)
		}
	})
	t.Run("502 none running", func(t *testing.T) {
		code, body, _ := do(t, rt, "idle.localhost", "/")
		if code != 502 || !strings.Contains(body, "no instance of app idle is running") {
			t.Fatalf("%d %q", code, body)
		}
	})
	t.Run("access log", func(t *testing.T) {
		logs.mu.Lock()
		defer logs.mu.Unlock()
		last := logs.lines[len(logs.lines)-1]
		if last.App != "idle" || last.Source != api.SourceRouter || !strings.Contains(last.Text, `"GET / HTTP/1.1" 502`) {
			t.Fatalf("last access line %+v", last)
		}
		first := logs.lines[0]
		if first.App != "web" || first.Index != 0 || !strings.Contains(first.Text, `app_index:"0"`) || !strings.Contains(first.Text, addr(b0)) {
			t.Fatalf("first access line %+v", first)
		}
	})
}

func TestRetryAnotherInstance(t *testing.T) {
	live := backend(t, 1, nil)
	// A dead endpoint: a port that was listening and is now closed.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	tab := NewTable()
	_ = tab.Sync([]api.Route{{App: "web", ProcessGUID: "w", Hosts: []string{"web.localhost"}, Endpoints: []api.Endpoint{
		{InstanceGUID: "a", Index: 0, Address: dead}, {InstanceGUID: "b", Index: 1, Address: addr(live)}}}})
	rt := New(tab, nil, nil)
	for i := range 12 {
		if code, body, _ := do(t, rt, "web.localhost", "/"); code != 200 || body != "instance 1" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	_, retries, failures := rt.Counts()
	if retries == 0 || failures != 0 {
		t.Fatalf("retries %d failures %d", retries, failures)
	}
	// Every instance down: 502 after trying each once.
	_ = tab.Sync([]api.Route{{App: "web", ProcessGUID: "w", Hosts: []string{"web.localhost"}, Endpoints: []api.Endpoint{
		{InstanceGUID: "a", Index: 0, Address: dead}}}})
	if code, body, _ := do(t, rt, "web.localhost", "/"); code != 502 || !strings.Contains(body, "no instance of app web answered (1 tried)") {
		t.Fatalf("%d %q", code, body)
	}
}

// crashable is an instance that serves "instance N" until GET /crash, which
// kills it: the connection is closed without an answer and the instance stops
// listening (as a container whose app died).
type crashable struct {
	ln      net.Listener
	crashes atomic.Int32
}

func newCrashable(t *testing.T, idx int) *crashable {
	t.Helper()
	c := &crashable{}
	var err error
	if c.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/crash" {
			c.crashes.Add(1)
			c.ln.Close()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		fmt.Fprintf(w, "instance %d", idx)
	})}
	go func() { _ = srv.Serve(c.ln) }()
	t.Cleanup(func() { srv.Close() })
	return c
}

// TestOneCrashRequestCrashesOneInstance: a request that reached an instance is
// never sent to another, even when the instance died without answering. Before,
// one GET /crash through the router crashed all three instances ("502 ... (3
// tried)"). Connections are warmed first so that the transport's reused
// connections are part of the test.
func TestOneCrashRequestCrashesOneInstance(t *testing.T) {
	var cs []*crashable
	var eps []api.Endpoint
	for i := range 3 {
		c := newCrashable(t, i)
		cs = append(cs, c)
		eps = append(eps, api.Endpoint{InstanceGUID: fmt.Sprint("i", i), Index: i, Address: c.ln.Addr().String()})
	}
	tab := NewTable()
	_ = tab.Sync([]api.Route{{App: "web", ProcessGUID: "w", Hosts: []string{"web.localhost"}, Endpoints: eps}})
	rt := New(tab, nil, nil)
	for i := range 9 {
		if code, body, _ := do(t, rt, "web.localhost", "/"); code != 200 {
			t.Fatalf("warm-up request %d: %d %q", i, code, body)
		}
	}
	code, body, _ := do(t, rt, "web.localhost", "/crash")
	if code != 502 || !strings.Contains(body, "(1 tried)") {
		t.Errorf("GET /crash: %d %q, want 502 after 1 try", code, body)
	}
	crashed := 0
	for _, c := range cs {
		crashed += int(c.crashes.Load())
	}
	if crashed != 1 {
		t.Fatalf("one GET /crash crashed %d instances", crashed)
	}
	// The dead instance refuses connections: requests go to the others.
	for i := range 6 {
		if code, body, _ := do(t, rt, "web.localhost", "/"); code != 200 {
			t.Fatalf("request %d after the crash: %d %q", i, code, body)
		}
	}
}

// TestNotLoaded: before its first full sync the router says so (503), rather
// than that a route does not exist.
func TestNotLoaded(t *testing.T) {
	tab := NewTable()
	rt := New(tab, nil, nil)
	if code, body, h := do(t, rt, "web.localhost", "/"); code != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, "not loaded") {
		t.Fatalf("before the first sync: %d %q", code, body)
	}
	_ = tab.Sync(nil)
	if code, body, _ := do(t, rt, "web.localhost", "/"); code != 404 {
		t.Fatalf("after an empty sync: %d %q", code, body)
	}
}

// TestNoRetryAfterWrite: an endpoint that accepts and closes (an executor proxy
// whose app is gone) may have received the request: 502, not a second instance.
func TestNoRetryAfterWrite(t *testing.T) {
	live := backend(t, 1, nil)
	closer, _ := net.Listen("tcp", "127.0.0.1:0")
	defer closer.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := closer.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			buf := make([]byte, 4096)
			_, _ = c.Read(buf) // the request arrives, then the connection dies
			c.Close()
		}
	}()
	tab := NewTable()
	_ = tab.Sync([]api.Route{{App: "web", ProcessGUID: "w", Hosts: []string{"web.localhost"}, Endpoints: []api.Endpoint{
		{InstanceGUID: "c", Index: 0, Address: closer.Addr().String()}, {InstanceGUID: "b", Index: 1, Address: addr(live)}}}})
	rt := New(tab, nil, nil)
	var ok, bad int
	for range 4 {
		code, _, _ := do(t, rt, "web.localhost", "/")
		if code == 200 {
			ok++
		} else {
			bad++
		}
	}
	if ok != 2 || bad != 2 {
		t.Fatalf("%d answered, %d failed; want 2 and 2 (round robin, no retry once written)", ok, bad)
	}
	if _, retries, _ := rt.Counts(); retries != 0 {
		t.Fatalf("%d retries after the request was written", retries)
	}
}

func TestTableApply(t *testing.T) {
	tab := NewTable()
	_ = tab.Sync([]api.Route{{App: "web", ProcessGUID: "w", Hosts: []string{"web.localhost"},
		Endpoints: []api.Endpoint{{InstanceGUID: "a", Index: 0, Address: "127.0.0.1:1"}, {InstanceGUID: "x", Index: 9, Address: "10.0.0.1:1"}}}})
	for _, tc := range []struct {
		name  string
		ev    api.ActualEvent
		ok    bool
		addrs string
	}{
		{"running added", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 1, InstanceGUID: "b", State: "RUNNING", Presence: "ORDINARY", Address: "127.0.0.1:2"}, true, "127.0.0.1:1 127.0.0.1:2"},
		{"evacuating stays", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 0, InstanceGUID: "a", State: "RUNNING", Presence: "EVACUATING", Address: "127.0.0.1:1"}, true, "127.0.0.1:1 127.0.0.1:2"},
		{"crashed removed", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 1, InstanceGUID: "b", State: "CRASHED", Presence: "ORDINARY"}, true, "127.0.0.1:1"},
		{"suspect removed", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 0, InstanceGUID: "a", State: "RUNNING", Presence: "SUSPECT", Address: "127.0.0.1:1"}, true, ""},
		{"not loopback ignored", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 2, InstanceGUID: "c", State: "RUNNING", Presence: "ORDINARY", Address: "10.1.1.1:2"}, true, ""},
		// A host of a multi-host cluster (real/hostnet: 10.213.0.0/24) is routable.
		{"host address added", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 2, InstanceGUID: "c", State: "RUNNING", Presence: "ORDINARY", Address: "10.213.0.11:2"}, true, "10.213.0.11:2"},
		{"host address removed", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 2, InstanceGUID: "c", State: "CRASHED", Presence: "ORDINARY"}, true, ""},
		{"unknown process needs sync", api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "new", InstanceGUID: "d", State: "RUNNING", Presence: "ORDINARY", Address: "127.0.0.1:3"}, false, ""},
		{"desired change needs sync", api.ActualEvent{Type: "DesiredLRPChanged", ProcessGUID: "w"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tab.Apply(tc.ev); got != tc.ok {
				t.Fatalf("Apply = %v, want %v", got, tc.ok)
			}
			if got := strings.Join(tab.Snapshot()["web.localhost"], " "); got != tc.addrs {
				t.Fatalf("endpoints %q, want %q", got, tc.addrs)
			}
		})
	}
}

// fakeBBS serves /v1/routes and /v1/events for the emitter test.
type fakeBBS struct {
	mu     sync.Mutex
	routes []api.Route
	events chan api.ActualEvent
	syncs  int
}

func (f *fakeBBS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer router-token" {
		http.Error(w, "no", 401)
		return
	}
	switch r.URL.Path {
	case "/v1/routes":
		f.mu.Lock()
		f.syncs++
		_ = json.NewEncoder(w).Encode(f.routes)
		f.mu.Unlock()
	case "/v1/events":
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		enc := json.NewEncoder(w)
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-f.events:
				_ = enc.Encode(ev)
				w.(http.Flusher).Flush()
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func TestEmitter(t *testing.T) {
	f := &fakeBBS{events: make(chan api.ActualEvent, 10), routes: []api.Route{{App: "web", ProcessGUID: "w", Hosts: []string{"web.localhost"},
		Endpoints: []api.Endpoint{{InstanceGUID: "a", Index: 0, Address: "127.0.0.1:1"}}}}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	tab := NewTable()
	e := &Emitter{BBS: api.NewClient(srv.URL, "router-token", 5*time.Second), Table: tab, SyncInterval: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s (table %v)", what, tab.Snapshot())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	eventually("initial sync", func() bool { return len(tab.Snapshot()["web.localhost"]) == 1 })
	f.events <- api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: 1, InstanceGUID: "b", State: "RUNNING", Presence: "ORDINARY", Address: "127.0.0.1:2"}
	eventually("event applied", func() bool { return len(tab.Snapshot()["web.localhost"]) == 2 })
	// A change the stream never told: the periodic sync repairs it (routes say 1).
	eventually("periodic sync repairs", func() bool { return len(tab.Snapshot()["web.localhost"]) == 1 })
	f.mu.Lock()
	f.routes = append(f.routes, api.Route{App: "api", ProcessGUID: "p", Hosts: []string{"api.localhost"}})
	f.mu.Unlock()
	f.events <- api.ActualEvent{Type: "DesiredLRPCreated", ProcessGUID: "p"}
	eventually("desired event resyncs", func() bool { _, ok := tab.Snapshot()["api.localhost"]; return ok })
}

// A full sync's routes can be older than events the stream delivered while they were
// being fetched: the instance that started in between must not vanish from the table
// until the next sync (the chaos test once saw a RUNNING instance missing for 10 s).
func TestSyncSinceKeepsRacingEvents(t *testing.T) {
	web := func(eps ...api.Endpoint) []api.Route {
		return []api.Route{{App: "web", ProcessGUID: "w", Hosts: []string{"web.localhost"}, Endpoints: eps}}
	}
	a := api.Endpoint{InstanceGUID: "a", Index: 0, Address: "127.0.0.1:1"}
	b := api.Endpoint{InstanceGUID: "b", Index: 1, Address: "127.0.0.1:2"}
	running := func(e api.Endpoint) api.ActualEvent {
		return api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: e.Index, InstanceGUID: e.InstanceGUID, State: "RUNNING", Presence: "ORDINARY", Address: e.Address}
	}
	crashed := func(e api.Endpoint) api.ActualEvent {
		return api.ActualEvent{Type: "ActualLRPChanged", ProcessGUID: "w", Index: e.Index, InstanceGUID: e.InstanceGUID, State: "CRASHED", Presence: "ORDINARY"}
	}
	got := func(tab *Table) string { return strings.Join(tab.Snapshot()["web.localhost"], " ") }
	for _, tc := range []struct {
		name   string
		before []api.ActualEvent // applied before the mark
		during []api.ActualEvent // applied while the routes are fetched
		routes []api.Route       // what the fetch returned
		want   string
	}{
		{"started while fetching", nil, []api.ActualEvent{running(b)}, web(a), "127.0.0.1:1 127.0.0.1:2"},
		{"started and crashed while fetching", nil, []api.ActualEvent{running(b), crashed(b)}, web(a, b), "127.0.0.1:1"},
		{"crashed while fetching", nil, []api.ActualEvent{crashed(a)}, web(a), ""},
		{"event before the mark is the snapshot's", []api.ActualEvent{running(b)}, nil, web(a), "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := NewTable()
			_ = tab.Sync(web(a))
			for _, ev := range tc.before {
				tab.Apply(ev)
			}
			m := tab.Mark()
			for _, ev := range tc.during {
				tab.Apply(ev)
			}
			if err := tab.SyncSince(m, tc.routes); err != nil {
				t.Fatal(err)
			}
			tab.Unmark(m)
			if g := got(tab); g != tc.want {
				t.Fatalf("endpoints %q, want %q", g, tc.want)
			}
			if tab.marks != 0 || tab.journal != nil {
				t.Fatalf("journal kept after Unmark: marks %d, %d events", tab.marks, len(tab.journal))
			}
			// The plain Sync is what the emitter did before: it loses the racing start.
			if tc.name == "started while fetching" {
				plain := NewTable()
				_ = plain.Sync(web(a))
				plain.Apply(running(b))
				_ = plain.Sync(tc.routes)
				if g := got(plain); g != "127.0.0.1:1" {
					t.Fatalf("plain sync kept %q: the case no longer shows the race", g)
				}
			}
		})
	}
}
