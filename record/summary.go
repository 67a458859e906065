package record

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// File names inside a run directory.
const (
	SummaryFile    = "summary.json"
	PerfFile       = "perf.json"
	EventsFile     = "events.jsonl"
	CellsFile      = "cells.csv"
	PlacementsFile = "placements.csv"
	TimeseriesFile = "timeseries.csv"
)

// Spread describes a distribution across cells: mean, population standard deviation
// and coefficient of variation (stddev / mean; 0 when the mean is 0).
type Spread struct {
	Mean   float64 `json:"mean"`
	Stddev float64 `json:"stddev"`
	CoV    float64 `json:"cov"`
}

// Utilisation is the used fraction of each cell resource, across cells.
type Utilisation struct {
	Memory     Spread `json:"memory"`
	Disk       Spread `json:"disk"`
	Containers Spread `json:"containers"`
}

// Percentiles summarises a sample of durations in seconds.
type Percentiles struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// TaskSummary counts tasks by outcome.
type TaskSummary struct {
	Desired         int            `json:"desired"`
	Completed       int            `json:"completed"`
	Failed          int            `json:"failed"`
	FailedByReason  map[string]int `json:"failed_by_reason"`
	RunningAtEnd    int            `json:"running_at_end"`
	PendingAtEnd    int            `json:"pending_at_end"`
	Rejections      int            `json:"rejections"`
	DurationSeconds Percentiles    `json:"duration_seconds"`
}

// AuctionSummary describes the auctions of the run.
type AuctionSummary struct {
	Batches        int `json:"batches"`
	LRPsAuctioned  int `json:"lrps_auctioned"`
	LRPsPlaced     int `json:"lrps_placed"`
	LRPsFailed     int `json:"lrps_failed"`
	TasksAuctioned int `json:"tasks_auctioned"`
	TasksPlaced    int `json:"tasks_placed"`
	TasksFailed    int `json:"tasks_failed"`
	// WaitSeconds is, for placed work, the time from the request to the placement.
	WaitSeconds Percentiles `json:"wait_seconds"`
	// BatchSize is the number of work items per batch.
	BatchSize Percentiles `json:"batch_size"`
}

// Fault is one fault or operation of the scenario timeline and how long the cluster took
// to get back to the desired number of running instances after it.
type Fault struct {
	At     float64 `json:"at"`
	Action string  `json:"action"`
	Target string  `json:"target"`
	// RecoverySeconds is nil when running never got back to desired before the run ended.
	RecoverySeconds *float64 `json:"recovery_seconds"`
}

// Health describes how well desired state was kept (convergence, crashes, faults).
type Health struct {
	InstanceSecondsMissing float64        `json:"instance_seconds_missing"`
	Crashes                int            `json:"crashes"`
	RestartsByCrashCount   map[string]int `json:"restarts_by_crash_count"`
	GivenUp                int            `json:"given_up"`
	SuspectCells           int            `json:"suspect_cells"`
	EvacuationsCompleted   int            `json:"evacuations_completed"`
	EvacuationsTimedOut    int            `json:"evacuations_timed_out"`
	ConvergencePasses      int            `json:"convergence_passes"`
	InvalidTransitions     int            `json:"invalid_transitions"`
}

// Summary is summary.json. Same scenario and seed give byte-identical summaries.
type Summary struct {
	Scenario          string         `json:"scenario"`
	Mode              string         `json:"mode"` // "sim" or "real"
	Seed              uint64         `json:"seed"`
	Algorithm         string         `json:"algorithm"`
	Settings          map[string]any `json:"settings"`
	TraceHash         string         `json:"trace_hash"`
	Cells             int            `json:"cells"`
	Zones             int            `json:"zones"`
	Apps              int            `json:"apps"`
	DesiredInstances  int            `json:"desired_instances"`
	RunningInstances  int            `json:"running_instances"`
	PlacementFailures map[string]int `json:"placement_failures"`
	Utilisation       Utilisation    `json:"utilisation"`
	Tasks             TaskSummary    `json:"tasks"`
	Auction           AuctionSummary `json:"auction"`
	Health            Health         `json:"health"`
	Faults            []Fault        `json:"faults"`
	Events            uint64         `json:"events"`
	SimSeconds        float64        `json:"sim_seconds"`
}

// Perf is perf.json: figures that depend on the machine and are kept out of summary.json.
type Perf struct {
	WallSeconds      float64 `json:"wall_seconds"`
	EventsPerSecond  float64 `json:"events_per_second"`
	SimToWallRatio   float64 `json:"sim_to_wall_ratio"`
	PeakHeapBytes    uint64  `json:"peak_heap_bytes"`
	BytesPerInstance float64 `json:"bytes_per_instance"`
	GoVersion        string  `json:"go_version"`
}

// WriteJSON writes v as indented JSON with a trailing newline to dir/name.
func WriteJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	b = append(b, '\n')
	return writeFileAtomic(filepath.Join(dir, name), b)
}

// ReadSummary reads dir/summary.json.
func ReadSummary(dir string) (*Summary, error) {
	var s Summary
	if err := readJSON(filepath.Join(dir, SummaryFile), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ReadPerf reads dir/perf.json.
func ReadPerf(dir string) (*Perf, error) {
	var p Perf
	if err := readJSON(filepath.Join(dir, PerfFile), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so a reader never sees
// half a file and an interrupted run never leaves a truncated record behind.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
