package importer

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/diegolab/diegolab/scenarios"
)

// File is a scenario in the shape of a scenario TOML file (docs/scenario.md), built by
// an importer or a generated family and written with Encode. Only the keys importers
// and generators need are present; zero values are omitted so the scenario loader
// applies its defaults.
type File struct {
	Comment string   `toml:"-"` // written as "# " lines above the tables
	Run     Run      `toml:"run"`
	Auction *Auction `toml:"auction,omitempty"`
	Cells   []Cells  `toml:"cells"`
	Apps    []Apps   `toml:"apps,omitempty"`
	Tasks   []Tasks  `toml:"tasks,omitempty"`
	Events  []Event  `toml:"events,omitempty"`
}

// Run is the [run] table.
type Run struct {
	Name        string `toml:"name,omitempty"`
	Description string `toml:"description,omitempty"`
	Seed        uint64 `toml:"seed,omitzero"`
	Duration    string `toml:"duration"`
	Algorithm   string `toml:"algorithm,omitempty"`
}

// Auction is the [auction] table.
type Auction struct {
	StartingContainerWeight float64 `toml:"starting_container_weight"`
	BinPackFirstFitWeight   float64 `toml:"bin_pack_first_fit_weight"`
	MaxStartingContainers   int     `toml:"max_starting_containers,omitzero"`
	ProxyMemoryMB           int     `toml:"proxy_memory_mb,omitzero"`
}

// Cells is one [[cells]] group.
type Cells struct {
	Name                  string   `toml:"name,omitempty"`
	Count                 int      `toml:"count"`
	Zones                 []string `toml:"zones,omitempty"`
	MemoryMB              int      `toml:"memory_mb"`
	DiskMB                int      `toml:"disk_mb"`
	Containers            int      `toml:"containers,omitzero"`
	Stacks                []string `toml:"stacks,omitempty"`
	Docker                *bool    `toml:"docker,omitempty"`
	PlacementTags         []string `toml:"placement_tags,omitempty"`
	OptionalPlacementTags []string `toml:"optional_placement_tags,omitempty"`
	VolumeDrivers         []string `toml:"volume_drivers,omitempty"`
}

// Apps is one [[apps]] group.
type Apps struct {
	Name          string   `toml:"name"`
	Count         int      `toml:"count,omitzero"`
	Instances     int      `toml:"instances"`
	MemoryMB      int      `toml:"memory_mb"`
	DiskMB        int      `toml:"disk_mb"`
	RootFS        string   `toml:"rootfs,omitempty"`
	PlacementTags []string `toml:"placement_tags,omitempty"`
	VolumeDrivers []string `toml:"volume_drivers,omitempty"`
	MaxPerCell    int      `toml:"max_per_cell,omitzero"`
	StartAt       string   `toml:"start_at,omitempty"`
}

// Tasks is one [[tasks]] group; Duration is a constant duration.
type Tasks struct {
	Name     string `toml:"name"`
	Count    int    `toml:"count,omitzero"`
	MemoryMB int    `toml:"memory_mb"`
	DiskMB   int    `toml:"disk_mb"`
	Duration string `toml:"duration"`
	StartAt  string `toml:"start_at,omitempty"`
}

// Duration is a constant task duration as the loader's distribution table.
type Duration struct {
	Dist  string `toml:"dist"`
	Value string `toml:"value"`
}

// Event is one [[events]] entry (scale and stop-app are what importers emit).
type Event struct {
	At        string `toml:"at"`
	Action    string `toml:"action"`
	App       string `toml:"app,omitempty"`
	Instances *int   `toml:"instances,omitempty"`
}

// Seconds formats a whole number of seconds as a scenario duration ("90s").
func Seconds(s int64) string { return fmt.Sprintf("%ds", s) }

// Encode writes f as scenario TOML: the comment, then the tables.
func (f *File) Encode(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, line := range strings.Split(strings.TrimRight(f.Comment, "\n"), "\n") {
		if f.Comment == "" {
			break
		}
		if line == "" {
			fmt.Fprintln(bw, "#")
			continue
		}
		fmt.Fprintln(bw, "# "+line)
	}
	if f.Comment != "" {
		fmt.Fprintln(bw)
	}
	// Task durations are distributions: encode through a shadow type so the Tasks
	// struct stays flat for callers.
	type taskOut struct {
		Name     string   `toml:"name"`
		Count    int      `toml:"count,omitzero"`
		MemoryMB int      `toml:"memory_mb"`
		DiskMB   int      `toml:"disk_mb"`
		Duration Duration `toml:"duration"`
		StartAt  string   `toml:"start_at,omitempty"`
	}
	out := struct {
		Run     Run       `toml:"run"`
		Auction *Auction  `toml:"auction,omitempty"`
		Cells   []Cells   `toml:"cells"`
		Apps    []Apps    `toml:"apps,omitempty"`
		Tasks   []taskOut `toml:"tasks,omitempty"`
		Events  []Event   `toml:"events,omitempty"`
	}{Run: f.Run, Auction: f.Auction, Cells: f.Cells, Apps: f.Apps, Events: f.Events}
	for _, t := range f.Tasks {
		out.Tasks = append(out.Tasks, taskOut{t.Name, t.Count, t.MemoryMB, t.DiskMB, Duration{"const", t.Duration}, t.StartAt})
	}
	if err := toml.NewEncoder(bw).Encode(out); err != nil {
		return fmt.Errorf("encode scenario: %w", err)
	}
	return bw.Flush()
}

// Bytes is Encode into memory.
func (f *File) Bytes() ([]byte, error) {
	var sb strings.Builder
	if err := f.Encode(&sb); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

// Parse encodes f and loads it with scenarios.Parse (the same validation as a file on
// disk), applying overrides. name is the file name used in messages.
func (f *File) Parse(name string, overrides ...string) (*scenarios.Scenario, error) {
	b, err := f.Bytes()
	if err != nil {
		return nil, err
	}
	return scenarios.Parse(name, b, overrides...)
}

// WriteFile encodes f to path through a temporary file and a rename, then checks that
// the result loads with scenarios.Load.
func (f *File) WriteFile(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := f.Encode(fh); err != nil {
		fh.Close()
		os.Remove(tmp)
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if _, err := scenarios.Load(path); err != nil {
		return fmt.Errorf("imported scenario does not load: %w", err)
	}
	return nil
}

// FromScenario renders the cells, run and auction settings of a loaded scenario (not its
// workload): the base that generated families add their own apps and tasks to.
func FromScenario(sc *scenarios.Scenario) File {
	f := File{
		Run: Run{Name: sc.Name, Description: sc.Description, Seed: sc.Seed, Duration: sc.Duration.String(), Algorithm: sc.Algorithm},
		Auction: &Auction{
			StartingContainerWeight: sc.Auction.StartingContainerWeight,
			BinPackFirstFitWeight:   sc.Auction.BinPackFirstFitWeight,
			MaxStartingContainers:   sc.Auction.MaxStartingContainers,
			ProxyMemoryMB:           sc.Auction.ProxyMemoryMB,
		},
	}
	for _, g := range sc.Cells {
		docker := g.Docker
		f.Cells = append(f.Cells, Cells{
			Name: g.Name, Count: g.Count, Zones: g.Zones, MemoryMB: g.MemoryMB, DiskMB: g.DiskMB,
			Containers: g.Containers, Stacks: g.Stacks, Docker: &docker, PlacementTags: g.PlacementTags,
			OptionalPlacementTags: g.OptionalPlacementTags, VolumeDrivers: g.VolumeDrivers,
		})
	}
	return f
}
