// Package proctest helps tests that stop processes with SIGSTOP: kill(2) returns
// before the process has stopped (each thread stops when it next runs), so a test
// that acts right after the signal may find the process still answering.
package proctest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Stopped reports whether every thread of process pid is stopped (state T in
// /proc/PID/task/TID/stat). An error means the process is gone or /proc unreadable.
func Stopped(pid int) (bool, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false, err
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false, nil // a thread that just ended
		}
		// "pid (comm) state ...": comm may hold spaces and parentheses; the state
		// follows the last ')'.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) == 0 || f[0] != "T" {
			return false, nil
		}
	}
	return len(tasks) > 0, nil
}

// WaitStopped waits until every thread of process pid is stopped, and fails the test
// when that takes longer than within or the process is gone.
func WaitStopped(t testing.TB, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, err := Stopped(pid)
		if err != nil {
			t.Fatalf("process %d: %v", pid, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped %v after SIGSTOP", pid, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
