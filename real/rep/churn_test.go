package rep

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

// Scale churn (issue 17's crash, as `scale` loops from many clients drive it): many
// clients post work and stops for overlapping instances while containers are slow to
// create, some creations and claims fail and some processes crash. The rep must not
// panic, must leave no container behind, must never start a container it destroyed,
// and every instance's reports must follow the lifecycle. Run it with -race.
func TestChurn(t *testing.T) {
	const clients, rounds = 8, 30
	var logBuf syncBuffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
	begun := time.Now()
	defer func() { t.Logf("took %v", time.Since(begun)) }()
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.bbs.setRunInfo("tk", e.taskRunInfo())
	// Slow and sometimes failing creation; claims sometimes refused. Each decision is
	// drawn from a source seeded by the container's or instance's name, so a failing
	// run can be told apart by its instance names (the interleaving is the scheduler's).
	e.ex.setCreate(func(spec executor.ContainerSpec) error {
		r := rand.New(rand.NewPCG(1, seedOf(spec.ID)))
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
		if r.IntN(10) == 0 {
			return errors.New("runc create failed")
		}
		return nil
	})
	e.bbs.setLRPAnswer(func(op string, rep api.LRPReport) (bool, bool) {
		if op == "claim" {
			return seedOf(rep.Instance.InstanceGUID)%10 != 0, false
		}
		return true, false
	})

	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(2, uint64(c)))
			for i := range rounds {
				ig := fmt.Sprintf("ig-%d-%d", c, i)
				idx := r.IntN(16)
				w := api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "pg", Index: idx, InstanceGUID: ig, Resource: model.Resource{MemoryMB: 1, DiskMB: 1}}}}
				if i%7 == 0 {
					w.Tasks = []api.WorkTask{{TaskGUID: ig + "-task", Resource: model.Resource{MemoryMB: 1}}}
				}
				if err := e.client.Do(t.Context(), http.MethodPost, "/work", w, nil); err != nil {
					t.Errorf("POST /work %s: %v", ig, err)
					return
				}
				// Stop it now, a little later, or never (it may crash or run on).
				switch r.IntN(4) {
				case 0:
				case 1:
					time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
				case 2:
					continue
				}
				if i%5 == 0 {
					if ct := e.ex.ct(lrpID("pg", idx, ig)); ct != nil {
						ct.exitWith(1, false)
					}
				}
				sr := api.StopRequest{Key: model.ActualLRPKey{ProcessGUID: "pg", Index: idx}, Instance: model.InstanceKey{InstanceGUID: ig, CellID: "cell-0"}}
				if err := e.client.Do(t.Context(), http.MethodPost, "/stop", sr, nil); err != nil && api.StatusOf(err) != http.StatusNotFound {
					t.Errorf("POST /stop %s: %v", ig, err)
				}
				if i%7 == 0 {
					_ = e.client.Do(t.Context(), http.MethodPost, "/cancel", api.CancelRequest{TaskGUID: ig + "-task"}, nil)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("clients done after %v", time.Since(begun))

	// Stop whatever runs on, and wait for the cell to empty.
	e.rep.mu.Lock()
	var left []*lrpC
	for _, id := range sortedKeys(e.rep.lrps) {
		left = append(left, e.rep.lrps[id])
	}
	var tasks []string
	for _, g := range sortedKeys(e.rep.tasks) {
		tasks = append(tasks, g)
	}
	e.rep.mu.Unlock()
	for _, c := range left {
		e.stop(c.key.ProcessGUID, c.key.Index, c.ik.InstanceGUID)
	}
	for _, g := range tasks {
		e.do(http.MethodPost, "/cancel", api.CancelRequest{TaskGUID: g}, nil)
	}
	e.waitFor("the cell to empty", func() bool {
		e.rep.mu.Lock()
		defer e.rep.mu.Unlock()
		return len(e.rep.lrps) == 0 && len(e.rep.tasks) == 0
	})
	e.waitFor("every container destroyed", func() bool { return len(e.ex.alive()) == 0 })

	// Every instance's reports follow the lifecycle.
	valid := [][]string{
		{"claim"},                    // refused
		{"claim", "remove"},          // stopped before running, or its creation failed
		{"claim", "crash"},           // exited before it was healthy
		{"claim", "start", "remove"}, // stopped while running
		{"claim", "start", "crash"},  // crashed while running
	}
	isValid := func(ops []string) bool {
		return slices.ContainsFunc(valid, func(v []string) bool { return slices.Equal(v, ops) })
	}
	sequences := func() map[string][]string {
		byInstance := map[string][]string{}
		e.bbs.mu.Lock()
		defer e.bbs.mu.Unlock()
		for _, c := range e.bbs.lrps {
			byInstance[c.R.Instance.InstanceGUID] = append(byInstance[c.R.Instance.InstanceGUID], c.Op)
		}
		return byInstance
	}
	// The rep forgets a stopped container when its process has gone, which can be just
	// before the stop's removal reaches the BBS: give the last reports a moment.
	var byInstance map[string][]string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		byInstance = sequences()
		complete := true
		for _, ops := range byInstance {
			complete = complete && isValid(ops)
		}
		if complete || time.Now().After(deadline) {
			break
		}
	}
	if len(byInstance) != clients*rounds {
		t.Errorf("%d instances reported, want %d", len(byInstance), clients*rounds)
	}
	counts := map[string]int{}
	for _, ig := range sortedKeys(byInstance) {
		ops := byInstance[ig]
		if !isValid(ops) {
			t.Errorf("%s reports = %v, not a lifecycle", ig, ops)
		}
		counts[fmt.Sprint(ops)]++
	}
	t.Logf("report sequences: %v", counts)
	if t.Failed() {
		t.Logf("rep log:\n%s", logBuf.String())
	}
	// No container was started after it was destroyed, or destroyed without being made.
	e.ex.mu.Lock()
	ids := sortedKeys(e.ex.cts)
	e.ex.mu.Unlock()
	for _, id := range ids {
		ev := e.ex.eventsOf(id)
		if i := slices.Index(ev, "destroy"); i < 0 || slices.Contains(ev[i+1:], "start") || ev[0] != "create" {
			t.Errorf("%s events = %v", id, ev)
		}
	}
	// Tasks: each reported at most one start and one completion.
	e.bbs.mu.Lock()
	perTask := map[string]int{}
	for _, c := range e.bbs.tasks {
		perTask[c.R.TaskGUID+" "+c.Op]++
	}
	e.bbs.mu.Unlock()
	for k, n := range perTask {
		if n != 1 {
			t.Errorf("task report %s sent %d times", k, n)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// seedOf is a stable number for a name (FNV-1a).
func seedOf(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
