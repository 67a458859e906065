package live

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/diegolab/diegolab/real/executor"
)

// Faults of a scenario run (real/scenario): a cell's rep killed with its containers,
// stopped (partitioned) and continued, and started again. A cluster started with
// Options.HoldDeadReps keeps a killed rep down while its hold file exists, so that the
// supervisor does not undo a crash-cell before the scenario's restore-cell.

// holdDir holds one empty file per held cell.
func holdDir(dir string) string { return filepath.Join(dir, "supervisor", "hold") }

func held(dir, cell string) bool {
	_, err := os.Stat(filepath.Join(holdDir(dir), cell))
	return err == nil
}

// waitRelease sends c to due once its hold file is gone (or never, when ctx ends).
func waitRelease(ctx context.Context, dir string, c *child, due chan<- *child) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for held(dir, c.proc.Name) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	select {
	case due <- c:
	case <-ctx.Done():
	}
}

// auctionArgs are the BBS flags of the scenario's auction and tick (none for `live up`).
func (o Options) auctionArgs() []string {
	var a []string
	if o.Algorithm != "" {
		a = append(a, "--algorithm", o.Algorithm)
	}
	if o.StartingContainerWeight != nil {
		a = append(a, "--starting-container-weight", strconv.FormatFloat(*o.StartingContainerWeight, 'g', -1, 64))
	}
	if o.BinPackFirstFitWeight != 0 {
		a = append(a, "--bin-pack-first-fit-weight", strconv.FormatFloat(o.BinPackFirstFitWeight, 'g', -1, 64))
	}
	if o.TickInterval > 0 {
		a = append(a, "--tick-interval", o.TickInterval.String())
	}
	if o.MaxStartingContainers != 0 {
		a = append(a, "--max-starting-containers", strconv.Itoa(o.MaxStartingContainers))
	}
	return a
}

// Hold keeps cell's rep down once it exits, until Release (Options.HoldDeadReps).
func Hold(dir, cell string) error {
	if err := os.MkdirAll(holdDir(dir), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(holdDir(dir), cell), nil, 0o600)
}

// Release lets the supervisor start cell's rep again.
func Release(dir, cell string) error {
	err := os.Remove(filepath.Join(holdDir(dir), cell))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// rep returns cell's rep as live.json records it now.
func rep(dir, cell string) (Proc, *State, error) {
	st, err := ReadState(dir)
	if err != nil {
		return Proc{}, nil, err
	}
	var names []string
	for _, p := range st.Reps {
		if p.Name == cell {
			return p, st, nil
		}
		names = append(names, p.Name)
	}
	return Proc{}, nil, fmt.Errorf("no cell %q in %s (cells: %v)", cell, dir, names)
}

// CrashCell kills cell's rep with SIGKILL and destroys its containers, as a machine
// that dies: no report to the BBS, no evacuation. The rep stays down (Hold) until
// RestoreCell.
func CrashCell(ctx context.Context, dir, cell string) error {
	dir, _ = filepath.Abs(dir)
	p, st, err := rep(dir, cell)
	if err != nil {
		return err
	}
	if err := Hold(dir, cell); err != nil {
		return err
	}
	if same(p) {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
		_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		for i := 0; i < 200 && alive(p.Pid); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	ex, err := executor.New(executor.Config{StateDir: filepath.Join(p.Dir, "executor"), StackDir: st.Stack})
	if err != nil {
		return fmt.Errorf("cell %s: %w", cell, err)
	}
	if err := ex.Cleanup(ctx); err != nil {
		return fmt.Errorf("cell %s: destroying its containers: %w", cell, err)
	}
	return nil
}

// PartitionCell stops cell's rep (SIGSTOP): it neither heartbeats nor answers, while
// its containers keep running, as a cell cut off from the BBS. HealCell continues it.
func PartitionCell(dir, cell string) error { return signalRep(dir, cell, syscall.SIGSTOP) }

// HealCell ends a partition (SIGCONT).
func HealCell(dir, cell string) error { return signalRep(dir, cell, syscall.SIGCONT) }

func signalRep(dir, cell string, sig syscall.Signal) error {
	dir, _ = filepath.Abs(dir)
	p, _, err := rep(dir, cell)
	if err != nil {
		return err
	}
	if !same(p) {
		return fmt.Errorf("cell %s: its rep (pid %d) is not running", cell, p.Pid)
	}
	if err := syscall.Kill(p.Pid, sig); err != nil {
		return fmt.Errorf("cell %s: %v: %w", cell, sig, err)
	}
	return nil
}

// RestoreCell releases cell's hold and waits (at most wait) until the supervisor runs
// a new rep for it.
func RestoreCell(ctx context.Context, dir, cell string, wait time.Duration) error {
	dir, _ = filepath.Abs(dir)
	before, _, err := rep(dir, cell)
	if err != nil {
		return err
	}
	if err := Release(dir, cell); err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		p, _, err := rep(dir, cell)
		if err == nil && p.Pid != before.Pid && same(p) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cell %s: no new rep within %v", cell, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
