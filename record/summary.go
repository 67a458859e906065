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
	// Approximate is set when the sample was too large to keep (more than 2^20
	// values): P50, P90 and P99 then come from a histogram with three significant
	// digits (within 0.1 % above the exact value); Count, Mean and Max stay exact.
	Approximate bool `json:"approximate,omitempty"`
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
	// Staging is set only for runs where some app is pushed (staged); see
	// docs/staging.md.
	Staging *StagingSummary `json:"staging,omitempty"`
	// Compute is set only for runs where some cell declares CPU or GPUs (compute.go).
	Compute *ComputeSummary `json:"compute,omitempty"`
}

// StagingSummary describes pushes, staging, image pulls and versions (docs/staging.md).
type StagingSummary struct {
	// Apps lists every pushed app, sorted by process guid.
	Apps []AppStaging `json:"apps"`
	// BytesPulled is what instance starts fetched, by source: "public" (the image's
	// registry), "private" (the platform registry), "blobstore" (droplets), and
	// "cell_cache" (layers already on the cell, not downloaded again).
	BytesPulled map[string]int64 `json:"bytes_pulled"`
	// BytesStaging is what staging moved: "package_upload", "package_download",
	// "droplet_upload", "image_copy".
	BytesStaging map[string]int64 `json:"bytes_staging,omitempty"`
	Pushes       PushSummary      `json:"pushes"`
	// ScaleUpSeconds: from a scale-up event to all of the app's instances running.
	ScaleUpSeconds Percentiles `json:"scale_up_seconds"`
	// ScaleUpsUnfinished counts scale-ups that never reached all-running.
	ScaleUpsUnfinished int `json:"scale_ups_unfinished,omitempty"`
	// StagingFailures counts failed stagings by "ERROR_ID: reason".
	StagingFailures map[string]int `json:"staging_failures,omitempty"`
	// StartFailures counts instance starts that failed on their image, by reason;
	// OutageStartFailures those that failed because the registry was down.
	StartFailures       map[string]int `json:"start_failures,omitempty"`
	OutageStartFailures int            `json:"outage_start_failures"`
	// CredentialUses counts the times registry credentials were presented (staging and
	// instance starts).
	CredentialUses int `json:"credential_uses"`
}

// AppStaging is one pushed app.
type AppStaging struct {
	ProcessGUID string `json:"process_guid"`
	Lifecycle   string `json:"lifecycle"`
	Image       string `json:"image,omitempty"`
	DockerCache bool   `json:"docker_cache,omitempty"`
	// StagedDigest is the digest pinned at staging (cache on).
	StagedDigest string `json:"staged_digest,omitempty"`
	// DigestsAtEnd counts running instances per digest at the end of the run.
	DigestsAtEnd map[string]int `json:"digests_at_end"`
	// MixedVersions: at some point two digests ran at once; MixedSeconds for how long.
	MixedVersions bool    `json:"mixed_versions"`
	MixedSeconds  float64 `json:"mixed_seconds"`
	// PushSeconds is the push's total time (nil while unfinished or failed);
	// PushFailure the staging error id when it failed.
	PushSeconds *float64 `json:"push_seconds"`
	PushFailure string   `json:"push_failure,omitempty"`
}

// PushSummary: pushes by outcome and their phases (cf push: upload, staging,
// scheduling = desired to every instance placed, start = placed to all running).
type PushSummary struct {
	Started           int         `json:"started"`
	Completed         int         `json:"completed"`
	Failed            int         `json:"failed"`
	UploadSeconds     Percentiles `json:"upload_seconds"`
	StagingSeconds    Percentiles `json:"staging_seconds"`
	SchedulingSeconds Percentiles `json:"scheduling_seconds"`
	StartSeconds      Percentiles `json:"start_seconds"`
	TotalSeconds      Percentiles `json:"total_seconds"`
}

// Perf is perf.json: figures that depend on the machine and are kept out of summary.json.
type Perf struct {
	WallSeconds     float64 `json:"wall_seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	SimToWallRatio  float64 `json:"sim_to_wall_ratio"`
	// PeakLiveHeapBytes is the largest live heap (as of a completed GC) seen at every
	// 64th timeseries sample and at the end: the memory the run really needs.
	PeakLiveHeapBytes uint64 `json:"peak_live_heap_bytes"`
	// BytesPerInstance is PeakLiveHeapBytes per desired instance at the end.
	BytesPerInstance float64 `json:"bytes_per_instance"`
	// PeakRSSBytes is the process's maximum resident set (includes the garbage the
	// collector has not reclaimed yet, GOGC=100 by default, and everything else the
	// process did before the run).
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	GoVersion    string `json:"go_version"`
	// Phases splits the process's wall time by what it did (absent in records written
	// before it existed).
	Phases *Phases `json:"phases,omitempty"`
}

// Phases is the wall time of a `diegolab run` process split into its parts, in seconds.
// The simulator fills Build, Simulate and Write; the command that ran it adds Load,
// Report (written after perf.json first) and Process, and rewrites perf.json. Process is
// the whole process from its start to the rewrite (what /usr/bin/time measures, less
// the runtime's start-up and exit): the parts plus what lies between them.
type Phases struct {
	// LoadSeconds: reading, parsing and validating the scenario.
	LoadSeconds float64 `json:"load_seconds"`
	// BuildSeconds: cells, the control plane and the instant 0 (apps desired at the
	// start: the initial state).
	BuildSeconds float64 `json:"build_seconds"`
	// SimulateSeconds: from the instant 0 to the end of the run.
	SimulateSeconds float64 `json:"simulate_seconds"`
	// WriteSeconds: the run record's files (summary, cells, placements, timeseries;
	// events.jsonl is written while simulating).
	WriteSeconds float64 `json:"write_seconds"`
	// ReportSeconds: report.html (0 with --no-report).
	ReportSeconds float64 `json:"report_seconds"`
	// ProcessSeconds: the whole process so far.
	ProcessSeconds float64 `json:"process_seconds"`
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
