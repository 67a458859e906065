package scenario

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/stage"
	"github.com/diegolab/diegolab/scenarios"
)

// Limits are what this machine runs at once (flags of `run --real`).
type Limits struct {
	// Cells is the most reps (each a process with its executor).
	Cells int
	// Instances is the most app instances desired at once (each a runc container).
	Instances int
	// Duration is the longest run (wall time).
	Duration time.Duration
}

// DefaultLimits suit a 2-core, 24 GiB machine shared with other work.
func DefaultLimits() Limits { return Limits{Cells: 8, Instances: 60, Duration: 30 * time.Minute} }

// Bounds of the live BBS (real/bbsserver's default limits) a scenario must respect.
const (
	maxMemoryMB = 8192
	maxDiskMB   = 2048
	maxApps     = 100
)

var appName = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// Check returns every reason sc cannot run live within l (nil: it can), each naming
// the scenario's file, line and key.
func Check(sc *scenarios.Scenario, l Limits) error {
	var errs []error
	bad := func(line int, key, format string, args ...any) {
		at := sc.Path
		if line > 0 {
			at = fmt.Sprintf("%s:%d", sc.Path, line)
		}
		errs = append(errs, fmt.Errorf("%s: %s: %s", at, key, fmt.Sprintf(format, args...)))
	}
	cells, apps, peak := demand(sc)
	for i, g := range sc.Cells {
		key := fmt.Sprintf("cells[%d]", i)
		if g0 := sc.Cells[0]; g.MemoryMB != g0.MemoryMB || g.DiskMB != g0.DiskMB || g.Containers != g0.Containers {
			bad(g.Line, key, "real mode starts every cell with one size; this group differs from cells[0] (memory_mb, disk_mb, containers)")
		}
		if len(g.PlacementTags)+len(g.OptionalPlacementTags)+len(g.VolumeDrivers) > 0 {
			bad(g.Line, key, "placement tags and volume drivers are not supported by real mode")
		}
	}
	for i, g := range sc.Apps {
		key := fmt.Sprintf("apps[%d] (%s)", i, g.Name)
		if g.Staging != nil && g.Staging.Lifecycle != stage.Docker && g.Staging.Lifecycle != stage.Buildpack {
			bad(g.Line, key, "lifecycle %v is not supported by real mode", g.Staging.Lifecycle)
		}
		if len(g.PlacementTags)+len(g.VolumeDrivers) > 0 {
			bad(g.Line, key, "placement tags and volume drivers are not supported by real mode")
		}
		if g.RootFS != "" && g.RootFS != model.PreloadedRootFS(scenarios.DefaultStack) && (g.Staging == nil || g.Staging.Lifecycle != stage.Docker) {
			bad(g.Line, key, "rootfs %q: real mode runs only the default stack", g.RootFS)
		}
		if g.MemoryMB > maxMemoryMB || g.DiskMB > maxDiskMB {
			bad(g.Line, key, "memory_mb %d / disk_mb %d: the live BBS allows at most %d MB of memory and %d MB of disk per instance", g.MemoryMB, g.DiskMB, maxMemoryMB, maxDiskMB)
		}
		if g.Count > 0 && !appName.MatchString(g.Name+"-"+fmt.Sprint(g.Count-1)) {
			bad(g.Line, key+".name", "real mode names apps after their process guids (%s-0 ...), which must be lowercase letters, digits and '-', at most 40", g.Name)
		}
	}
	if apps > maxApps {
		bad(0, "apps", "%d apps is beyond the live BBS's limit of %d (bbs --max-apps)", apps, maxApps)
	}
	for i, ev := range sc.Events {
		key := fmt.Sprintf("events[%d] (%s)", i, ev.Action)
		switch ev.Action {
		case scenarios.ActionScale: // counted by demand
		case scenarios.ActionStopApp, scenarios.ActionCrashInstances, scenarios.ActionCrashCell,
			scenarios.ActionPartitionCell, scenarios.ActionDrainCell, scenarios.ActionRestoreCell:
		case scenarios.ActionPushImage, scenarios.ActionRegistryOutage: // docker.go
		case scenarios.ActionAddCells:
			checkAddCells(sc, &ev, key, bad)
		default:
			bad(ev.Line, key, "%s is not supported by real mode", ev.Action)
		}
	}
	if cells > l.Cells {
		bad(0, "cells", "%d cells is beyond this machine's limit of %d reps (--max-cells); scale the scenario down, e.g. --set cells.%s.count=%d", cells, l.Cells, sc.Cells[0].Name, l.Cells)
	}
	checkTasks(sc, bad)
	if peak > l.Instances {
		bad(0, "apps", "up to %d instances at once is beyond this machine's limit of %d containers (--max-instances); scale the scenario down, e.g. --set apps.NAME.count=... or apps.NAME.instances=...", peak, l.Instances)
	}
	if sc.Duration > l.Duration {
		bad(0, "run.duration", "%v of wall time is beyond the limit of %v (--max-duration): real mode runs in real time", sc.Duration, l.Duration)
	}
	return errors.Join(errs...)
}
