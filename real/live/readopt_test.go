package live

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInstancesSurviveRepKill: kill -9 of a cell's rep leaves its instances
// reachable through the router (their ports are served by the containers' port
// proxies, not by the rep); the supervisor restarts the rep, which re-adopts the
// running containers: the BBS keeps the same instances RUNNING, with no crash and no
// replacement. `live down` then leaves no port proxy behind.
func TestInstancesSurviveRepKill(t *testing.T) {
	tc := upTest(t, func(o *Options) { o.Cells, o.RouteSync = 1, 2*time.Second })
	dir, cfg, goapp, cl, o := tc.Dir, tc.Cfg, tc.GoApp, tc.client(t, 5*time.Second), tc.Opts
	ctx := context.Background()
	if _, err := Push(ctx, cl, "goapp", goapp, PushOptions{Instances: 2, MemoryMB: 64, DiskMB: 64, Buildpack: "binary", Timeout: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	running := func() []string {
		var guids []string
		for _, in := range appDetail(t, cl, "goapp").InstancesDetail {
			if in.Presence == "ORDINARY" && in.State == "RUNNING" {
				guids = append(guids, in.InstanceGUID)
			}
		}
		slices.Sort(guids)
		return guids
	}
	var before []string
	waitFor(t, "2 instances RUNNING and routed", 30*time.Second, func() bool {
		before = running()
		code, _ := routerGet(cfg.RouterURL, "goapp")
		return len(before) == 2 && code == http.StatusOK
	})

	// Requests through the router every 50 ms from before the kill to the end.
	loop := startRequests(t, cfg.RouterURL, "goapp", 50*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := st.Reps[0]
	if err := syscall.Kill(old.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor(t, "the supervisor to restart the rep", 20*time.Second, func() bool {
		st, err := ReadState(dir)
		return err == nil && st.Reps[0].Pid != old.Pid && same(st.Reps[0])
	})
	// Past the presence TTL and two convergence intervals: time for the BBS to
	// act on the dead rep, had the restarted one not taken its instances back.
	for time.Since(killed) < o.PresenceTTL+2*o.ConvergenceInterval+2*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	requests, failures := loop.Stop()
	t.Logf("%d requests through the rep's kill and restart, %d failed", requests, len(failures))
	if len(failures) > 0 {
		t.Errorf("requests failed while the rep was killed and restarted:\n%s", strings.Join(failures, "\n"))
	}
	if after := running(); !slices.Equal(after, before) {
		t.Errorf("RUNNING instances %v after the rep's restart, want the same %v (re-adopted, not replaced)", after, before)
	}
	if d := appDetail(t, cl, "goapp"); d.InstancesDetail[0].CrashCount+d.InstancesDetail[1].CrashCount != 0 {
		t.Errorf("crashes reported: %+v", d.InstancesDetail)
	}
	repLog, _ := os.ReadFile(filepath.Join(old.Dir, "log"))
	if n := bytes.Count(repLog, []byte("re-adopted a running instance")); n != 2 {
		t.Errorf("the rep's log says %d instances were re-adopted, want 2", n)
	}

	if err := Down(ctx, dir, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if left := proxiesOf(dir); len(left) > 0 {
		t.Errorf("port proxies left after live down: %v", left)
	}
}

// routerGet sends GET / for app through the router.
func routerGet(routerURL, app string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, routerURL+"/", nil)
	req.Host = app + ".localhost"
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// proxiesOf lists the port proxy processes whose container is under dir.
func proxiesOf(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if len(args) > 3 && args[1] == "portproxy" && strings.HasPrefix(args[3], dir+"/") {
			out = append(out, e.Name()+" "+args[3])
		}
	}
	return out
}
