package bbsserver

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

func pairConfig(t *testing.T, db, name string) Config {
	return Config{Dir: filepath.Join(t.TempDir(), name), DB: db, Listen: "127.0.0.1:0", Token: "client-token",
		RepToken: "rep-token", LockTTL: time.Second, LockRetry: 100 * time.Millisecond}
}

// servePair serves two BBSs, a then b, on one fresh database (tune, when set, may
// change a's configuration first) and checks that a is the active one.
func servePair(t *testing.T, tune func(a *Config)) (a, b *Server) {
	t.Helper()
	db := pgDB(t)
	ca := pairConfig(t, db, "a")
	if tune != nil {
		tune(&ca)
	}
	a, _ = serve(t, ca)
	b, _ = serve(t, pairConfig(t, db, "b"))
	if !isActive(a) || isActive(b) {
		t.Fatalf("active: a=%v b=%v, want a only", isActive(a), isActive(b))
	}
	return a, b
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func isActive(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lease.active
}

// TestPairTakeover: two BBSs on one PostgreSQL database. The first is active, the
// second passive (503 naming the active); a client that knows both follows the
// active. When the active stops renewing (a stopped or cut-off process), the passive
// takes over after the TTL with every app and task, and serves writes; the old
// active, resumed, refuses to act, even past its own lease check: its transaction
// is fenced in the database and rolled back.
func TestPairTakeover(t *testing.T) {
	a, b := servePair(t, nil)
	// The passive answers 503 and names the active.
	req, _ := http.NewRequest("GET", b.URL()+"/v1/health", nil)
	req.Header.Set("Authorization", "Bearer client-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get(api.ActiveHeader) != a.URL() {
		t.Fatalf("passive: %d, %s=%q; want 503 naming %s", resp.StatusCode, api.ActiveHeader, resp.Header.Get(api.ActiveHeader), a.URL())
	}

	ctx := context.Background()
	cl := api.NewClient(b.URL()+","+a.URL(), "client-token", 10*time.Second) // the passive first
	reps := api.NewClient(b.URL()+","+a.URL(), "rep-token", 10*time.Second)
	heartbeat := func(cell string) error {
		return reps.Do(ctx, "POST", "/v1/presence", api.Presence{CellID: cell, Zone: "z0", RepURL: "http://127.0.0.1:1",
			Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}, RootFSProviders: []string{"preloaded"}}, nil)
	}
	if err := heartbeat("cell-0"); err != nil {
		t.Fatal(err)
	}
	if cl.Base() != b.URL() && reps.Base() != a.URL() {
		t.Fatalf("rep client talks to %s, want the active %s", reps.Base(), a.URL())
	}
	_, _, task := pushStatic(t, cl)
	before := []api.TaskInfo{task}
	if cl.Base() != a.URL() {
		t.Fatalf("client talks to %s, want the active %s", cl.Base(), a.URL())
	}

	// The active stops renewing: the passive takes over after the TTL.
	a.lockFrozen.Store(true)
	took := waitFor(t, 5*time.Second, "b takes over", func() bool { return isActive(b) })
	t.Logf("takeover %v after the last renewal could have been (TTL 1 s, retry 100 ms)", took)
	if isActive(a) {
		// a's local lease ran out too: its next transaction notices.
		if err := a.do(func(time.Duration) error { return nil }); !errors.Is(err, errNotActive) {
			t.Fatalf("a after its lease: %v, want not active", err)
		}
	}
	// b has the cell (from the presences table), the app and the task.
	var cells []api.CellInfo
	if err := cl.Do(ctx, "GET", "/v1/cells", nil, &cells); err != nil || len(cells) != 1 || !cells[0].Present {
		t.Fatalf("cells after takeover = %+v, %v", cells, err)
	}
	if cl.Base() != b.URL() {
		t.Fatalf("client talks to %s after the takeover, want %s", cl.Base(), b.URL())
	}
	var after []api.TaskInfo
	if err := cl.Do(ctx, "GET", "/v1/tasks", nil, &after); err != nil || len(after) != 1 || after[0].GUID != before[0].GUID {
		t.Fatalf("tasks after takeover = %+v, %v; want %+v", after, err, before)
	}
	n := 3
	if err := cl.Do(ctx, "POST", "/v1/apps/web/scale", api.ScaleRequest{Instances: &n}, nil); err != nil {
		t.Fatalf("scale on the new active: %v", err)
	}

	// a resumes believing its lease is good (it was stopped between the check and
	// the transaction): the fence in the database refuses, nothing is written.
	a.mu.Lock()
	a.lease.active, a.lease.until = true, time.Now().Add(time.Hour)
	a.activeFlag.Store(true)
	a.mu.Unlock()
	err = a.do(func(time.Duration) error { return a.store.PutMeta("split-brain", "yes") })
	if !errors.Is(err, errNotActive) {
		t.Fatalf("a's write after losing the lock: %v, want not active", err)
	}
	if isActive(a) {
		t.Fatal("a still thinks it is active after the fence refused")
	}
	if ok, _ := locked(b, func() (bool, error) { _, ok, err := b.store.GetMeta("split-brain"); return ok, err }); ok {
		t.Fatal("a's write reached the database")
	}
	// a's lock loop resumes: it stays passive, naming b.
	a.lockFrozen.Store(false)
	time.Sleep(300 * time.Millisecond)
	if isActive(a) || !isActive(b) {
		t.Fatalf("after resuming: a=%v b=%v", isActive(a), isActive(b))
	}
	var app api.App
	if err := api.NewClient(a.URL()+","+b.URL(), "client-token", 5*time.Second).Do(ctx, "GET", "/v1/apps/web", nil, &app); err != nil || app.Instances != 3 {
		t.Fatalf("app via a client that asks a first: %+v, %v", app, err)
	}
}

// TestPairCleanHandover: an active that shuts down releases the lock; the passive
// takes over at its next retry, not after the TTL.
func TestPairCleanHandover(t *testing.T) {
	db := pgDB(t)
	ca, cb := pairConfig(t, db, "a"), pairConfig(t, db, "b")
	ca.LockTTL, cb.LockTTL = 30*time.Second, 30*time.Second
	a, stopA := serve(t, ca)
	b, _ := serve(t, cb)
	if !isActive(a) {
		t.Fatal("a not active")
	}
	stopA()
	took := waitFor(t, 3*time.Second, "b takes over after a clean stop", func() bool { return isActive(b) })
	t.Logf("handover in %v", took)
}
