package proctest

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestStopped: a running process is not stopped; after SIGSTOP it is (WaitStopped
// returns), after SIGCONT it runs again; a process that is gone is an error.
func TestStopped(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if ok, err := Stopped(pid); ok || err != nil {
		t.Fatalf("running process: stopped %v, %v", ok, err)
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	WaitStopped(t, pid, 10*time.Second)
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := Stopped(pid)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still stopped 10 s after SIGCONT")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := Stopped(pid); err == nil {
		t.Fatal("a process that is gone: no error")
	}
}
