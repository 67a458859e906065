package bbsserver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

// TestPairTakeoverPastAStoppedCommit: the active is stopped between its fence and its
// commit (what SIGSTOP does to a process now and then: TestPairProcesses failed when
// it landed there), so its open transaction holds the lock row. The passive takes the
// lock over within about the TTL all the same (the database ends the stopped
// session), and the old active, resumed, finds its commit refused and becomes
// passive naming the new active, instead of stopping on a store failure.
func TestPairTakeoverPastAStoppedCommit(t *testing.T) {
	db := pgDB(t)
	a, _ := serve(t, pairConfig(t, db, "a"))
	b, _ := serve(t, pairConfig(t, db, "b"))
	if !isActive(a) || isActive(b) {
		t.Fatalf("active: a=%v b=%v, want a only", isActive(a), isActive(b))
	}
	// a's next transaction stops after its fence, lock loop and all, until resumed.
	stopped, resume := make(chan struct{}), make(chan struct{})
	var once, resumed sync.Once
	// On a failure, resume a before the servers stop (it holds its mutex while stopped).
	t.Cleanup(func() { resumed.Do(func() { close(resume) }) })
	a.mu.Lock()
	a.beforeCommit = func() {
		once.Do(func() {
			a.lockFrozen.Store(true)
			close(stopped)
			<-resume
		})
	}
	a.mu.Unlock()
	var aErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		aErr = a.do(func(time.Duration) error { return a.store.PutMeta("written-by-a", "yes") })
	}()
	<-stopped
	// The lock row stays locked by a's transaction: before the database ended it, the
	// passive waited for its commit (30 s here, forever without the session timeout).
	took := waitFor(t, 5*time.Second, "b takes over while a is stopped in its commit", func() bool { return isActive(b) })
	t.Logf("takeover %v after a stopped (TTL 1 s, retry 100 ms)", took)

	resumed.Do(func() { close(resume) })
	a.lockFrozen.Store(false)
	<-done
	if !errors.Is(aErr, errNotActive) {
		t.Fatalf("a's resumed commit: %v, want not active", aErr)
	}
	a.mu.Lock()
	fatal := a.fatal
	a.mu.Unlock()
	if fatal != nil {
		t.Fatalf("a stopped on its refused commit: %v", fatal)
	}
	if _, ok, _ := b.store.GetMeta("written-by-a"); ok {
		t.Fatal("a's stopped transaction reached the database")
	}
	// a answers as a passive naming b; b serves writes.
	ctx := context.Background()
	heartbeat := func(c *api.Client) error {
		return c.Do(ctx, "POST", "/v1/presence", api.Presence{CellID: "cell-0", Zone: "z0", RepURL: "http://127.0.0.1:1",
			Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}, RootFSProviders: []string{"preloaded"}}, nil)
	}
	var e *api.Error
	if err := heartbeat(api.NewClient(a.URL(), "rep-token", 5*time.Second)); !errors.As(err, &e) || e.Status != 503 || !e.Passive || e.Active != b.URL() {
		t.Fatalf("write to a after it resumed: %v, want 503 naming %s", err, b.URL())
	}
	if err := heartbeat(api.NewClient(a.URL()+","+b.URL(), "rep-token", 5*time.Second)); err != nil {
		t.Fatalf("write through a client that asks a first: %v", err)
	}
	if isActive(a) || !isActive(b) {
		t.Fatalf("at the end: a=%v b=%v, want b only", isActive(a), isActive(b))
	}
}
