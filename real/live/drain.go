package live

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"time"
)

// Drain evacuates one cell of the cluster in dir as a BOSH drain does (DIEGO.md §6.5):
// its rep gets SIGTERM, stops taking work, has its instances replaced elsewhere (each
// keeps serving until its replacement runs) and its tasks finished, then exits. Drain
// waits for the rep to exit, at most wait.
func Drain(ctx context.Context, dir, cell string, wait time.Duration) error {
	dir, _ = filepath.Abs(dir)
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	var pid int
	var names []string
	for _, p := range st.Reps {
		names = append(names, p.Name)
		if p.Name == cell {
			pid = p.Pid
		}
	}
	if pid == 0 {
		return fmt.Errorf("no cell %q in %s (cells: %v)", cell, dir, names)
	}
	if !alive(pid) {
		return fmt.Errorf("cell %s: its rep (pid %d) is not running", cell, pid)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("cell %s: signalling its rep: %w", cell, err)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for alive(pid) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("cell %s: its rep (pid %d) is still evacuating after %v", cell, pid, wait)
		case <-tick.C:
		}
	}
	return nil
}
