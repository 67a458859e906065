package rep

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

// Serve ends with its context: it releases the cell's presence, destroys its
// containers through the executor's cleanup, and returns nil.
func TestServeEndsWithContext(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Heartbeat = 10 * time.Millisecond })
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	a := e.running("pg", 0, "ig-a")
	e.waitFor("heartbeats every 10 ms", func() bool {
		e.bbs.mu.Lock()
		defer e.bbs.mu.Unlock()
		return len(e.bbs.presences) >= 3
	})
	e.cancel()
	e.waitServed()
	if !a.isDestroyed() {
		t.Errorf("a running container survived Serve")
	}
	e.bbs.mu.Lock()
	left := slices.Clone(e.bbs.left)
	e.bbs.mu.Unlock()
	if !slices.Equal(left, []string{"cell-0"}) {
		t.Errorf("presence deletions = %v, want [cell-0]", left)
	}
	// A stop is not a crash: the BBS heard nothing after the start.
	e.settle("ig-a", "claim", "start")
}

// Work that arrives while Serve is ending makes no container that outlives it, and
// (under -race) its goroutines are counted before Serve waits for them: Serve used to
// wait first and close its API after, so a POST /work could Add to the WaitGroup
// while Wait ran.
func TestWorkDuringShutdown(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				w := api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "pg", InstanceGUID: fmt.Sprintf("ig-%d-%d", c, i), Resource: model.Resource{MemoryMB: 1}}}}
				if err := e.client.Do(t.Context(), http.MethodPost, "/work", w, nil); err != nil {
					return // the rep has closed its API
				}
			}
		})
	}
	time.Sleep(30 * time.Millisecond)
	e.cancel()
	e.waitServed()
	close(stop)
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // any goroutine the rep left behind would act now
	if left := e.ex.alive(); len(left) > 0 {
		t.Errorf("containers alive after Serve returned: %v", left)
	}
}
