package bbsserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
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
	a, b := servePair(t, nil)
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
	if ok, _ := locked(b, func() (bool, error) { _, ok, err := b.store.GetMeta("written-by-a"); return ok, err }); ok {
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

// TestPairStaleRenewal: the active is stopped after a renewal of its lock and before
// it applies it (its mutex held: the lock loop has the answer and waits), past the
// TTL, so that the passive takes over. Resumed, it must not take that renewal, long
// run out, for the lock: it stays passive and its 503s name the new active. (It
// used to become active again for one retry interval, naming itself; a write to it
// then got a 503 naming no active, which TestPairProcesses hit under load.)
func TestPairStaleRenewal(t *testing.T) {
	var alog lockedBuffer
	a, b := servePair(t, func(ca *Config) { ca.Logger = slog.New(slog.NewTextHandler(&alog, nil)) })
	a.mu.Lock()
	locked := true
	t.Cleanup(func() {
		if locked {
			a.mu.Unlock()
		}
	})
	// The lock loop renews every 100 ms: within 3 retries it has a renewal in hand
	// and waits for the mutex; it renews no more, so b takes over after the TTL.
	time.Sleep(300 * time.Millisecond)
	waitFor(t, 5*time.Second, "b takes over while a holds its renewal", func() bool { return isActive(b) })
	// On resuming, a's first transaction finds its lease run out and demotes it (its
	// tick or a request; done here, so that it comes before the lock loop's turn).
	if err := a.checkLease(); !errors.Is(err, errNotActive) {
		t.Fatalf("a's lease check after the TTL: %v, want not active", err)
	}
	locked = false
	a.mu.Unlock()
	// Give the lock loop its turn and a few more retries: a activates once in all
	// (at its start), never on the renewal it held. (The stale activation lasted
	// one renewal's round trip, too short to be seen reliably by polling.)
	time.Sleep(500 * time.Millisecond)
	if isActive(a) {
		t.Fatal("a is active again")
	}
	if n := strings.Count(alog.String(), "bbs active: holding the lock"); n != 1 {
		t.Fatalf("a activated %d times, want once (at its start): a renewal that ran out while it was stopped made it active again\n%s", n, alog.String())
	}
	var e *api.Error
	err := api.NewClient(a.URL(), "client-token", 5*time.Second).Do(context.Background(), "GET", "/v1/apps", nil, nil)
	if !errors.As(err, &e) || e.Status != 503 || !e.Passive || e.Active != b.URL() {
		t.Fatalf("request to a after it resumed: %v, want 503 naming %s", err, b.URL())
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
