package scenarios

import (
	"reflect"
	"strings"
)

// rawValue receives one TOML value as the library decoded it (string, int64, float64,
// bool, []any, map[string]any, time.Time). The loader converts and checks it itself so
// every error can name the key path with its array index and the line.
type rawValue struct {
	v   any
	set bool
}

// UnmarshalTOML implements toml.Unmarshaler.
func (r *rawValue) UnmarshalTOML(v any) error {
	r.v, r.set = v, true
	return nil
}

// The file schema. Every leaf is a rawValue; toml.MetaData.Undecoded then lists the
// keys that are not in this schema.
type fileDoc struct {
	Run     runDoc     `toml:"run"`
	Auction auctionDoc `toml:"auction"`
	Timers  timersDoc  `toml:"timers"`
	// Calibration is opt-in (calibration.go).
	Calibration calibrationDoc `toml:"calibration"`
	Cells       []cellDoc      `toml:"cells"`
	Apps        []appDoc       `toml:"apps"`
	Tasks       []taskDoc      `toml:"tasks"`
	Events      []eventDoc     `toml:"events"`
	Trace       traceDoc       `toml:"trace"`

	// Staging, registries and the network (staging.go).
	DockerCache rawValue      `toml:"docker_cache"`
	Network     networkDoc    `toml:"network"`
	Registries  []registryDoc `toml:"registries"`
	Images      []imageDoc    `toml:"images"`
}

type runDoc struct {
	Name        rawValue `toml:"name"`
	Description rawValue `toml:"description"`
	Seed        rawValue `toml:"seed"`
	Duration    rawValue `toml:"duration"`
	Algorithm   rawValue `toml:"algorithm"`
}

type auctionDoc struct {
	StartingContainerWeight rawValue `toml:"starting_container_weight"`
	BinPackFirstFitWeight   rawValue `toml:"bin_pack_first_fit_weight"`
	MaxStartingContainers   rawValue `toml:"max_starting_containers"`
	ProxyMemoryMB           rawValue `toml:"proxy_memory_mb"`
	StateFetch              rawValue `toml:"state_fetch"`
}

type timersDoc struct {
	ConvergenceInterval rawValue `toml:"convergence_interval"`
	PresenceTTL         rawValue `toml:"presence_ttl"`
	PresenceHeartbeat   rawValue `toml:"presence_heartbeat"`
	StaleUnclaimed      rawValue `toml:"stale_unclaimed"`
	EvacuationTimeout   rawValue `toml:"evacuation_timeout"`
	ExpirePendingTask   rawValue `toml:"expire_pending_task"`
	ExpireCompletedTask rawValue `toml:"expire_completed_task"`
	KickTask            rawValue `toml:"kick_task"`
	MaxTaskRetries      rawValue `toml:"max_task_retries"`
}

// cellFields are the keys of a [[cells]] group, also accepted by an add-cells event.
type cellFields struct {
	Name                  rawValue `toml:"name"`
	Count                 rawValue `toml:"count"`
	Zones                 rawValue `toml:"zones"`
	MemoryMB              rawValue `toml:"memory_mb"`
	DiskMB                rawValue `toml:"disk_mb"`
	Containers            rawValue `toml:"containers"`
	Stacks                rawValue `toml:"stacks"`
	Docker                rawValue `toml:"docker"`
	PlacementTags         rawValue `toml:"placement_tags"`
	OptionalPlacementTags rawValue `toml:"optional_placement_tags"`
	VolumeDrivers         rawValue `toml:"volume_drivers"`
	computeCellFields
}

type cellDoc struct {
	cellFields
}

type appDoc struct {
	Name                    rawValue `toml:"name"`
	Count                   rawValue `toml:"count"`
	Instances               rawValue `toml:"instances"`
	MemoryMB                rawValue `toml:"memory_mb"`
	DiskMB                  rawValue `toml:"disk_mb"`
	Stack                   rawValue `toml:"stack"`
	RootFS                  rawValue `toml:"rootfs"`
	Domain                  rawValue `toml:"domain"`
	PlacementTags           rawValue `toml:"placement_tags"`
	VolumeDrivers           rawValue `toml:"volume_drivers"`
	MaxPerCell              rawValue `toml:"max_per_cell"`
	StartAt                 rawValue `toml:"start_at"`
	StartTime               rawValue `toml:"start_time"`
	Crash                   rawValue `toml:"crash"`
	CrashProbabilityAtStart rawValue `toml:"crash_probability_at_start"`
	StartFailureProbability rawValue `toml:"start_failure_probability"`
	stagingAppFields
	computeWorkFields
}

type taskDoc struct {
	Name               rawValue `toml:"name"`
	Count              rawValue `toml:"count"`
	MemoryMB           rawValue `toml:"memory_mb"`
	DiskMB             rawValue `toml:"disk_mb"`
	Stack              rawValue `toml:"stack"`
	RootFS             rawValue `toml:"rootfs"`
	Domain             rawValue `toml:"domain"`
	PlacementTags      rawValue `toml:"placement_tags"`
	VolumeDrivers      rawValue `toml:"volume_drivers"`
	Duration           rawValue `toml:"duration"`
	StartAt            rawValue `toml:"start_at"`
	RatePerMinute      rawValue `toml:"rate_per_minute"`
	FailureProbability rawValue `toml:"failure_probability"`
	computeWorkFields
}

type eventDoc struct {
	At        rawValue `toml:"at"`
	Action    rawValue `toml:"action"`
	App       rawValue `toml:"app"`
	Instances rawValue `toml:"instances"`
	Cell      rawValue `toml:"cell"`
	Zone      rawValue `toml:"zone"`
	Fraction  rawValue `toml:"fraction"`
	Duration  rawValue `toml:"duration"`
	cellFields
	stagingEventFields
}

// knownKeys maps a table of the schema ("" for the top level, "run", "cells" for an
// element of [[cells]] ...) to its keys, read from the toml tags above.
var knownKeys = map[string][]string{
	"":        tomlKeys(reflect.TypeFor[fileDoc]()),
	"run":     tomlKeys(reflect.TypeFor[runDoc]()),
	"auction": tomlKeys(reflect.TypeFor[auctionDoc]()),
	"timers":  tomlKeys(reflect.TypeFor[timersDoc]()),
	// calibration.go
	"calibration": tomlKeys(reflect.TypeFor[calibrationDoc]()),
	"cells":       tomlKeys(reflect.TypeFor[cellDoc]()),
	"apps":        tomlKeys(reflect.TypeFor[appDoc]()),
	"tasks":       tomlKeys(reflect.TypeFor[taskDoc]()),
	"events":      tomlKeys(reflect.TypeFor[eventDoc]()),
	"trace":       tomlKeys(reflect.TypeFor[traceDoc]()),
	// staging.go
	"network":    tomlKeys(reflect.TypeFor[networkDoc]()),
	"registries": tomlKeys(reflect.TypeFor[registryDoc]()),
	"images":     tomlKeys(reflect.TypeFor[imageDoc]()),
}

func tomlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			keys = append(keys, tomlKeys(f.Type)...)
			continue
		}
		keys = append(keys, strings.Split(f.Tag.Get("toml"), ",")[0])
	}
	return keys
}

// suggest returns a hint naming the known key closest to k (a case-insensitive match
// first, then the smallest edit distance of at most 2), or "".
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if strings.EqualFold(c, k) {
			return "did you mean " + c + "? keys are case-sensitive"
		}
		if d := editDistance(strings.ToLower(k), c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return "did you mean " + best + "?"
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
