package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/diegolab/diegolab/scenarios"
	"github.com/diegolab/diegolab/scenarios/behave"
)

func writeConfig(t *testing.T, w behave.Workload) string {
	t.Helper()
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), behave.ConfigFile)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func devnull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// An instance that always fails its start exits 1 after its start time, never listening.
func TestStartFailureExits1(t *testing.T) {
	cfg := writeConfig(t, behave.Workload{Seed: 1, ProcessGUID: "bad-0", StartTime: scenarios.Const(50 * time.Millisecond),
		StartFailureProbability: 1})
	port := freePort(t)
	begin := time.Now()
	code := run([]string{"-config", cfg}, env(map[string]string{"INSTANCE_INDEX": "0", "INSTANCE_GUID": "i-1", "PORT": strconv.Itoa(port)}), devnull(t))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if el := time.Since(begin); el < 50*time.Millisecond {
		t.Fatalf("exited after %v, before the 50ms start time", el)
	}
}

// An instance of a crashing group listens after its start time, then exits 1 after its
// crash time.
func TestCrashAfterListening(t *testing.T) {
	crash := scenarios.Const(300 * time.Millisecond)
	cfg := writeConfig(t, behave.Workload{Seed: 1, ProcessGUID: "crashloop-0", StartTime: scenarios.Const(20 * time.Millisecond), CrashAfter: &crash})
	port := freePort(t)
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-config", cfg}, env(map[string]string{"INSTANCE_INDEX": "2", "INSTANCE_GUID": "i-9", "PORT": strconv.Itoa(port)}), devnull(t))
	}()
	deadline := time.Now().Add(250 * time.Millisecond)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening within 250ms: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case code := <-done:
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not crash")
	}
}

func TestTaskDurationAndFailure(t *testing.T) {
	cfg := writeConfig(t, behave.Workload{Seed: 3, ProcessGUID: "app-0", Tasks: map[string]behave.TaskSpec{
		"ok":   {Duration: scenarios.Const(10 * time.Millisecond)},
		"fail": {Duration: scenarios.Const(10 * time.Millisecond), FailureProbability: 1},
	}})
	if code := run([]string{"-config", cfg, "-task", "ok-3"}, env(nil), devnull(t)); code != 0 {
		t.Fatalf("ok task: exit %d", code)
	}
	if code := run([]string{"-config", cfg, "-task", "fail-0"}, env(nil), devnull(t)); code != 1 {
		t.Fatalf("failing task: exit %d", code)
	}
	if code := run([]string{"-config", cfg, "-task", "nogroup-0"}, env(nil), devnull(t)); code != 2 {
		t.Fatalf("unknown group: exit %d, want 2", code)
	}
}

func TestBadInput(t *testing.T) {
	cfg := writeConfig(t, behave.Workload{Seed: 1, ProcessGUID: "a-0"})
	for name, e := range map[string]map[string]string{
		"no index":  {"INSTANCE_GUID": "i-1"},
		"bad index": {"INSTANCE_INDEX": "-1", "INSTANCE_GUID": "i-1"},
		"no guid":   {"INSTANCE_INDEX": "0"},
		"bad port":  {"INSTANCE_INDEX": "0", "INSTANCE_GUID": "i-1", "PORT": "99999"},
	} {
		if code := run([]string{"-config", cfg}, env(e), devnull(t)); code != 2 {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
	}
	bad := filepath.Join(t.TempDir(), "w.json")
	os.WriteFile(bad, []byte(`{"seed":1,"process_guid":"a","start_failure_probability":2}`), 0o644)
	if code := run([]string{"-config", bad}, env(nil), devnull(t)); code != 2 {
		t.Errorf("probability 2: exit %d, want 2", code)
	}
}
