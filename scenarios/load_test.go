package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// base is a small valid scenario; the bad cases below append to it or replace a line.
// Its line numbers matter to the expectations: [[cells]] is on line 4, [[apps]] on
// line 11 (name 12, count 13, instances 14, memory_mb 15, disk_mb 16), and a key
// appended to it lands on line 17.
const base = `[run]
duration = "1h"

[[cells]]
count = 4
zones = ["z1", "z2"]
memory_mb = 8192
disk_mb = 16384

# an app group
[[apps]]
name = "web"
count = 3
instances = 2
memory_mb = 256
disk_mb = 512
`

func TestParseBadFiles(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		overrides []string
		want      []string // every string must appear in one line of the error
	}{
		{
			name: "unknown top-level key",
			src:  "colour = \"red\"\n" + base,
			want: []string{`bad.toml:1: colour: unknown key (the top level takes run, auction, timers, cells, apps, tasks, events)`},
		},
		{
			name: "unknown key inside [[apps]] with a suggestion",
			src:  base + "memroy_mb = 5\n",
			want: []string{`bad.toml:17: apps[0].memroy_mb: unknown key (did you mean memory_mb?)`},
		},
		{
			name: "keys are case-sensitive",
			src:  strings.Replace(base, "count = 3", "Count = 3", 1),
			want: []string{`bad.toml:13: apps[0].Count: unknown key (did you mean count? keys are case-sensitive)`},
		},
		{
			name: "unknown key in the second [[apps]] names index 1",
			src:  base + "\n[[apps]]\nname = \"api\"\nmemory_mb = 1\ndisk_mb = 1\nbogus = true\n",
			want: []string{`bad.toml:22: apps[1].bogus: unknown key`},
		},
		{
			name: "instances beyond what a run can hold",
			src:  strings.Replace(strings.Replace(base, "count = 3", "count = 10000000", 1), "instances = 2", "instances = 100000", 1),
			want: []string{`bad.toml: apps: the app groups desire 10000000 apps and 1000000000000 instances in all (count x instances, summed); at most 100000000 of each`},
		},
		{
			name: "wrong type",
			src:  strings.Replace(base, "instances = 2", `instances = "two"`, 1),
			want: []string{`bad.toml:14: apps[0].instances: must be an integer >= 0 (instances per app), got string "two"`},
		},
		{
			name: "negative memory",
			src:  strings.Replace(base, "memory_mb = 256", "memory_mb = -256", 1),
			want: []string{`bad.toml:15: apps[0].memory_mb: must be an integer > 0 (MB), got -256`},
		},
		{
			name: "missing required key points at the table header",
			src:  strings.Replace(base, "disk_mb = 512\n", "", 1),
			want: []string{`bad.toml:11: apps[0].disk_mb: missing; expected an integer > 0 (MB)`},
		},
		{
			name: "zero cells",
			src:  strings.Replace(base, "count = 4", "count = 0", 1),
			want: []string{`cells: no cells: add at least one [[cells]] group with count >= 1`},
		},
		{
			name: "unknown distribution",
			src:  base + `start_time = {dist = "gauss", mean = "5s"}` + "\n",
			want: []string{`bad.toml:17: apps[0].start_time.dist: unknown distribution string "gauss" (want const, uniform, exp, lognormal, normal)`},
		},
		{
			name: "distribution with an extra and a missing field",
			src:  base + `start_time = {dist = "lognormal", median = "5s", mean = "5s"}` + "\n",
			want: []string{
				`bad.toml:17: apps[0].start_time.mean: not a field of a lognormal distribution (it takes median, sigma)`,
				`bad.toml:17: apps[0].start_time.sigma: missing; a lognormal distribution needs median and sigma`,
			},
		},
		{
			name: "uniform with max below min",
			src:  base + `start_time = {dist = "uniform", min = "5s", max = "1s"}` + "\n",
			want: []string{`apps[0].start_time.max: must be >= min (5s), got 1s`},
		},
		{
			name: "bad duration string",
			src:  strings.Replace(base, `duration = "1h"`, `duration = "1 hour"`, 1),
			want: []string{`bad.toml:2: run.duration: must be a duration such as "90s", "10m" or "1h30m" (> 0), got "1 hour" (units: ns, us, ms, s, m, h)`},
		},
		{
			name: "duration as a bare number",
			src:  base + "start_at = 30\n",
			want: []string{`bad.toml:17: apps[0].start_at: must be a duration such as "90s", "10m" or "1h30m" (>= 0), got integer 30 (write "30s" for seconds)`},
		},
		{
			name: "syntax error",
			src:  "[run]\nduration = \"1h\nx = 1\n",
			want: []string{`bad.toml:2:15: invalid TOML: strings cannot contain newlines`},
		},
		{
			name: "event for an unknown app",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"scale\"\napp = \"api-0\"\ninstances = 3\n",
			want: []string{`bad.toml:21: events[0].app: selector "api-0" matches no app (groups: web (web-0..web-2))`},
		},
		{
			name: "app index beyond the group",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"stop-app\"\napp = \"web-3\"\n",
			want: []string{`events[0].app: selector "web-3" matches no app`},
		},
		{
			name: "unknown action",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"explode\"\n",
			want: []string{`bad.toml:20: events[0].action: unknown action "explode" (want scale, stop-app, crash-instances, crash-cell, partition-cell, drain-cell, restore-cell, add-cells)`},
		},
		{
			name: "cell selector naming no cell",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"crash-cell\"\ncell = \"cell-4\"\n",
			want: []string{`bad.toml:21: events[0].cell: no cell "cell-4" exists at 10m0s (cells: cell-0..cell-3)`},
		},
		{
			name: "zone selector naming no zone",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"drain-cell\"\nzone = \"z3\"\n",
			want: []string{`bad.toml:21: events[0].zone: no cell is in zone "z3" at 10m0s (zones: z1, z2)`},
		},
		{
			name: "count beyond the cells that exist",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"crash-cell\"\ncount = 5\n",
			want: []string{`bad.toml:21: events[0].count: 5 is more than the 4 cells that exist at 10m0s`},
		},
		{
			name: "cell added only later does not exist yet",
			src: base + "\n[[events]]\nat = \"10m\"\naction = \"crash-cell\"\ncell = \"extra-0\"\n" +
				"\n[[events]]\nat = \"20m\"\naction = \"add-cells\"\nname = \"extra\"\nmemory_mb = 8192\ndisk_mb = 8192\n",
			want: []string{`bad.toml:21: events[0].cell: no cell "extra-0" exists at 10m0s`},
		},
		{
			name: "crash-instances with both count and fraction",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"crash-instances\"\napp = \"web\"\ncount = 2\nfraction = 0.5\n",
			want: []string{`bad.toml:18: events[0]: crash-instances needs exactly one of count (instances to crash) or fraction (of running instances)`},
		},
		{
			name: "crash-instances with neither",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"crash-instances\"\napp = \"web\"\n",
			want: []string{`events[0]: crash-instances needs exactly one of count`},
		},
		{
			name: "key that does not belong to the action",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"crash-cell\"\ncount = 1\ninstances = 3\n",
			want: []string{`bad.toml:22: events[0].instances: not a key of action crash-cell (it takes cell, zone, count)`},
		},
		{
			name: "event beyond run.duration",
			src:  base + "\n[[events]]\nat = \"2h\"\naction = \"stop-app\"\napp = \"web\"\n",
			want: []string{`bad.toml:19: events[0].at: 2h0m0s is beyond run.duration (1h0m0s)`},
		},
		{
			name: "partition without duration",
			src:  base + "\n[[events]]\nat = \"10m\"\naction = \"partition-cell\"\ncount = 1\n",
			want: []string{`bad.toml:18: events[0].duration: missing; expected a duration`},
		},
		{
			name: "duplicate app group",
			src:  base + "\n[[apps]]\nname = \"web\"\nmemory_mb = 1\ndisk_mb = 1\n",
			want: []string{`bad.toml:19: apps[1].name: duplicate app group name "web" (also apps[0])`},
		},
		{
			name: "task rate not positive",
			src:  base + "\n[[tasks]]\nname = \"t\"\ncount = 1\nmemory_mb = 1\ndisk_mb = 1\nduration = \"1m\"\nrate_per_minute = 0\n",
			want: []string{`bad.toml:24: tasks[0].rate_per_minute: must be a number > 0 (mean task arrivals per minute), got 0`},
		},
		{
			name: "rootfs without a scheme",
			src:  base + "rootfs = \"nginx\"\n",
			want: []string{`bad.toml:17: apps[0].rootfs: must be a URL with a scheme`},
		},
		{
			name: "heartbeat not shorter than the presence TTL",
			src:  base + "\n[timers]\npresence_heartbeat = \"20s\"\n",
			want: []string{`bad.toml:19: timers.presence_heartbeat: must be shorter than presence_ttl (15s), got 20s`},
		},
		{
			name:      "override of an unknown key",
			src:       base,
			overrides: []string{"run.sed=7"},
			want:      []string{`bad.toml: override "run.sed=7": run.sed: unknown key (did you mean seed?)`},
		},
		{
			name:      "override of an unknown group",
			src:       base,
			overrides: []string{"apps.api.instances=2"},
			want:      []string{`bad.toml: override "apps.api.instances=2": no [[apps]] group named "api" (groups: web)`},
		},
		{
			name:      "override with a bad value",
			src:       base,
			overrides: []string{"apps.web.instances=-1"},
			want:      []string{`bad.toml: override "apps.web.instances=-1": apps[0].instances: must be an integer >= 0 (instances per app), got -1`},
		},
		{
			name:      "override outside the addressable tables",
			src:       base,
			overrides: []string{"events.x.at=1"},
			want:      []string{`override "events.x.at=1": unknown key "events.x.at": overrides address run.<key>`},
		},
		{
			name: "several errors are all reported",
			src:  strings.Replace(strings.Replace(base, "memory_mb = 256", "memory_mb = 0", 1), "disk_mb = 512", "disk_mb = -1", 1),
			want: []string{`bad.toml:15: apps[0].memory_mb: must be an integer > 0 (MB), got 0`, `bad.toml:16: apps[0].disk_mb: must be an integer > 0 (MB), got -1`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("bad.toml", []byte(tt.src), tt.overrides...)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v); want an error containing %q", s, tt.want)
			}
			if !errors.Is(err, model.ErrInvalid) {
				t.Errorf("errors.Is(err, model.ErrInvalid) = false for %v", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error is not a *scenarios.Error: %T", err)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tt.want {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, w) }) {
					t.Errorf("error does not contain %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("dir/small.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		Path:      "dir/small.toml",
		Name:      "small", // file base name without .toml
		Seed:      1,
		Duration:  time.Hour,
		Algorithm: "diego",
		Auction:   Auction{StartingContainerWeight: 0.25, StateFetch: Const(50 * time.Millisecond)},
		Timers: Timers{
			ConvergenceInterval: 30 * time.Second, PresenceTTL: 15 * time.Second, PresenceHeartbeat: 5 * time.Second,
			StaleUnclaimed: 30 * time.Second, EvacuationTimeout: 600 * time.Second, ExpirePendingTask: 30 * time.Minute,
			ExpireCompletedTask: 2 * time.Minute, KickTask: 30 * time.Second, MaxTaskRetries: 3,
		},
		// No [calibration] table: the values that change nothing.
		Calibration: Calibration{Draws: DrawsStream, HeartbeatPhase: HeartbeatAligned},
		Cells: []CellGroup{{
			Name: "cell", Count: 4, Zones: []string{"z1", "z2"}, MemoryMB: 8192, DiskMB: 16384,
			Containers: 249, Stacks: []string{"cflinuxfs4"}, Docker: true, Line: 4,
		}},
		Apps: []AppGroup{{
			Name: "web", Count: 3, Instances: 2, MemoryMB: 256, DiskMB: 512, RootFS: "preloaded:cflinuxfs4",
			Domain: "cf-apps", StartTime: Const(5 * time.Second), Line: 11,
		}},
		Warnings: []string{},
	}
	if diff := cmp.Diff(want, s, cmpopts.IgnoreUnexported(Scenario{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestParseFull(t *testing.T) {
	src := base + `start_at = "1m"
start_time = {dist = "normal", mean = "4s", stddev = "1s"}
crash = {after = {dist = "exp", mean = "10m"}}
max_per_cell = 2
placement_tags = ["iso"]

[[tasks]]
name = "batch"
count = 5
memory_mb = 128
disk_mb = 256
rootfs = "docker:///busybox"
duration = {dist = "uniform", min = "1m", max = "5m"}
rate_per_minute = 2.5
failure_probability = 0.1

[[events]]
at = "30m"
action = "add-cells"
memory_mb = 4096
disk_mb = 4096
count = 2

[[events]]
at = "40m"
action = "partition-cell"
cell = "cell-5"
duration = "5m"

[[events]]
at = "5m"
action = "crash-instances"
app = "web-*"
fraction = 0.5
`
	s, err := Parse("full.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Apps[0]
	if a.StartAt != time.Minute || a.MaxPerCell != 2 || a.Crash == nil || a.Crash.After != (Dist{Kind: DistExp, Mean: 10 * time.Minute}) {
		t.Errorf("app group = %+v", a)
	}
	if a.StartTime != (Dist{Kind: DistNormal, Mean: 4 * time.Second, Stddev: time.Second}) {
		t.Errorf("start_time = %v", a.StartTime)
	}
	tg := s.Tasks[0]
	if tg.RootFS != "docker:///busybox" || tg.Domain != "cf-tasks" || tg.RatePerMinute != 2.5 || tg.Line != 23 {
		t.Errorf("task group = %+v", tg)
	}
	if len(s.Events) != 3 {
		t.Fatalf("events = %+v", s.Events)
	}
	// add-cells continues the numbering of the [[cells]] group "cell": cell-4, cell-5.
	add := s.Events[0]
	if add.Cells == nil || add.Cells.First != 4 || add.Cells.Count != 2 || add.Line != 33 {
		t.Fatalf("add-cells event = %+v", add)
	}
	if got := add.Cells.Cells(add.Cells.First); got[1].ID != "cell-5" || got[1].Zone != "z1" {
		t.Errorf("added cells = %+v", got)
	}
	if p := s.Events[1]; p.Cell != "cell-5" || p.Duration != 5*time.Minute {
		t.Errorf("partition event = %+v", p)
	}
	if c := s.Events[2]; c.Fraction != 0.5 || c.App != "web-*" || c.At != 5*time.Minute {
		t.Errorf("crash-instances event = %+v", c)
	}
}

func TestParseOverrides(t *testing.T) {
	src := base + "\n[auction]\nstarting_container_weight = 0.5\n"
	s, err := Parse("o.toml", []byte(src),
		"run.seed=7",
		"auction.bin_pack_first_fit_weight=0.5",
		"auction.state_fetch={dist=\"const\", value=\"10ms\"}",
		`timers.convergence_interval="10s"`,
		"timers.kick_task=45s", // not TOML: taken as a plain string
		"apps.web.instances=10",
		"cells.cell.count=6",
	)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.Seed, s.Auction.BinPackFirstFitWeight, s.Auction.StartingContainerWeight, s.Auction.StateFetch,
		s.Timers.ConvergenceInterval, s.Timers.KickTask, s.Apps[0].Instances, s.Cells[0].Count}
	want := []any{uint64(7), 0.5, 0.5, Const(10 * time.Millisecond), 10 * time.Second, 45 * time.Second, 10, 6}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Scenario{})); diff != "" {
		t.Errorf("overridden values (-want +got):\n%s", diff)
	}
	// Keys that came from the file keep their lines.
	if s.Apps[0].Line != 11 {
		t.Errorf("apps[0].Line = %d, want 11", s.Apps[0].Line)
	}
}

func TestCellGroupCells(t *testing.T) {
	g := CellGroup{Name: "c", Count: 5, Zones: []string{"a", "b"}, MemoryMB: 100, DiskMB: 200, Containers: 10,
		Stacks: []string{"cflinuxfs4", "cflinuxfs3"}, Docker: true, PlacementTags: []string{"iso"}}
	cells := g.Cells(3)
	var ids, zones []string
	var idx []int
	for _, c := range cells {
		ids, zones, idx = append(ids, c.ID), append(zones, c.Zone), append(idx, c.Index)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
	}
	if diff := cmp.Diff([]string{"c-3", "c-4", "c-5", "c-6", "c-7"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	// Round robin over the zones in order.
	if diff := cmp.Diff([]string{"a", "b", "a", "b", "a"}, zones); diff != "" {
		t.Errorf("zones (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, idx); diff != "" {
		t.Errorf("indexes (-want +got):\n%s", diff)
	}
	c := cells[0]
	wantRes := model.Resources{MemoryMB: 100, DiskMB: 200, Containers: 10}
	if c.Total != wantRes || c.Available != wantRes {
		t.Errorf("resources total %+v available %+v, want %+v", c.Total, c.Available, wantRes)
	}
	if diff := cmp.Diff([]string{"preloaded:cflinuxfs4", "preloaded:cflinuxfs3", "docker"}, c.RootFSProviders); diff != "" {
		t.Errorf("rootfs providers (-want +got):\n%s", diff)
	}
	// Cells do not share slices: changing one cell's tags leaves the others alone.
	cells[0].PlacementTags[0] = "changed"
	if cells[1].PlacementTags[0] != "iso" || g.PlacementTags[0] != "iso" {
		t.Error("cells share their placement tag slice")
	}
}

func TestCellNumberingAcrossGroups(t *testing.T) {
	src := `[run]
duration = "1h"
[[cells]]
count = 2
zones = ["z1"]
memory_mb = 1
disk_mb = 1
[[cells]]
name = "big"
count = 1
memory_mb = 2
disk_mb = 2
[[cells]]
count = 3
zones = ["z2"]
memory_mb = 1
disk_mb = 1
`
	s, err := Parse("n.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range s.InitialCells() {
		ids = append(ids, c.ID+"@"+c.Zone)
	}
	// The second "cell" group counts on from cell-2; "big" has its own numbering.
	want := []string{"cell-0@z1", "cell-1@z1", "big-0@z1", "cell-2@z2", "cell-3@z2", "cell-4@z2"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("cell ids (-want +got):\n%s", diff)
	}
}

func TestProcessGUIDsAndDesiredLRP(t *testing.T) {
	g := AppGroup{Name: "web", Count: 3, Instances: 2, MemoryMB: 256, DiskMB: 512, RootFS: "preloaded:cflinuxfs4", Domain: "cf-apps", MaxPerCell: 1}
	if diff := cmp.Diff([]string{"web-0", "web-1", "web-2"}, g.ProcessGUIDs()); diff != "" {
		t.Errorf("guids (-want +got):\n%s", diff)
	}
	d := g.DesiredLRP(2)
	if d.ProcessGUID != "web-2" || d.Instances != 2 || d.MemoryMB != 256 || d.MaxPerCell != 1 || d.StartTimeout != model.DefaultStartTimeout {
		t.Errorf("DesiredLRP(2) = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	tg := TaskGroup{Name: "batch", Count: 2, MemoryMB: 1, DiskMB: 1, RootFS: "preloaded:cflinuxfs4", Domain: "cf-tasks"}
	task := tg.Task(1)
	if task.GUID != "batch-1" {
		t.Errorf("task guid %q", task.GUID)
	}
	if err := task.Validate(); err != nil {
		t.Error(err)
	}
}

func TestMatchApps(t *testing.T) {
	s := &Scenario{Apps: []AppGroup{{Name: "web", Count: 12}, {Name: "web-1", Count: 2}, {Name: "api", Count: 2}}}
	tests := []struct {
		selector string
		want     []string
	}{
		{"web-3", []string{"web-3"}},                       // exact guid
		{"web-1", []string{"web-1", "web-1-0", "web-1-1"}}, // exact guid of web, and group web-1
		{"api", []string{"api-0", "api-1"}},                // group
		{"web-1?", []string{"web-10", "web-11"}},           // glob
		{"*-1", []string{"web-1", "web-1-1", "api-1"}},     // glob across groups, in declaration order
		{"web-12", nil}, // beyond the group
		{"web-01", nil}, // guids have no leading zeros
		{"nothing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.selector, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, s.MatchApps(tt.selector)); diff != "" {
				t.Errorf("MatchApps(%q) (-want +got):\n%s", tt.selector, diff)
			}
		})
	}
}

func TestCapacityWarnings(t *testing.T) {
	src := base + "\n[[apps]]\nname = \"huge\"\nmemory_mb = 9000\ndisk_mb = 1\n" +
		"\n[[apps]]\nname = \"many\"\ncount = 20\ninstances = 10\nmemory_mb = 256\ndisk_mb = 1\n" +
		"\n[[tasks]]\nname = \"fat\"\ncount = 1\nmemory_mb = 1\ndisk_mb = 20000\nduration = \"1m\"\n"
	s, err := Parse("w.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// Cells: 4 x 8192 = 32,768 MB. huge needs 9000 MB per instance > 8192.
	// Memory: web 3x2x256 = 1,536; huge 9,000 -> 10,536; many 20x10x256 = 51,200 -> 61,736 > 32,768.
	want := []string{
		`w.toml:18: apps[1]: an instance needs 9000 MB memory (9000 + 0 proxy) and 1 MB disk, more than any cell offers (largest: 8192 MB memory, 16384 MB disk)`,
		`w.toml:23: apps[2]: app instances of apps[0..2] need 61736 MB of memory, more than the 32768 MB of all [[cells]]`,
		`w.toml:30: tasks[0]: a task needs 1 MB memory and 20000 MB disk, more than any cell offers`,
	}
	if len(s.Warnings) != len(want) {
		t.Fatalf("warnings = %q, want %d", s.Warnings, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(s.Warnings[i], w) {
			t.Errorf("warning %d = %q, want prefix %q", i, s.Warnings[i], w)
		}
	}
}

func TestLoadAndResolve(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(p, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(p, "run.seed=9")
	if err != nil {
		t.Fatal(err)
	}
	if s.Path != p || s.Name != "mine" || s.Seed != 9 {
		t.Errorf("Resolve(file) = path %q name %q seed %d", s.Path, s.Name, s.Seed)
	}
	s, err = Resolve("quickstart")
	if err != nil || s.Name != "quickstart" || s.Path != "scenarios/quickstart.toml" {
		t.Fatalf("Resolve(quickstart) = %v, %v", s, err)
	}
	if _, err := Resolve("quickstart.toml"); err != nil {
		t.Errorf("Resolve(quickstart.toml): %v", err)
	}
	_, err = Resolve("no-such-scenario")
	if err == nil || !strings.Contains(err.Error(), "shipped: az-outage, binpack,") {
		t.Errorf("Resolve(unknown) error = %v; want it to list the shipped scenarios", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestArrayOfInlineTables(t *testing.T) {
	src := "[run]\nduration = \"1h\"\ncells = 1\n"
	if _, err := Parse("x.toml", []byte(src)); err == nil || !strings.Contains(err.Error(), "run.cells: unknown key") {
		t.Errorf("err = %v", err)
	}
	src = "cells = [{memory_mb = 1, disk_mb = 1}, {name = \"b\", memory_mb = 1, disk_mb = 1}]\n[run]\nduration = \"1h\"\n"
	s, err := Parse("x.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Cells) != 2 || s.Cells[1].Name != "b" {
		t.Errorf("cells = %+v", s.Cells)
	}
	src = "cells = 3\n[run]\nduration = \"1h\"\n"
	if _, err := Parse("x.toml", []byte(src)); err == nil || !strings.Contains(err.Error(), "x.toml:1: cells: must be an array of tables ([[cells]]), got integer 3") {
		t.Errorf("err = %v", err)
	}
}

// The loader's name index gives exactly what the scan gives, for every kind of exact
// selector (group name, a guid, a guid of a group whose name contains '-', unknown).
func TestMatchAppsIndexEqualsScan(t *testing.T) {
	src := `
[run]
duration = "1h"
[[cells]]
count = 1
memory_mb = 4096
disk_mb = 4096
[[apps]]
name = "web"
count = 3
memory_mb = 64
disk_mb = 64
[[apps]]
name = "web-1"
count = 2
memory_mb = 64
disk_mb = 64
[[apps]]
name = "api-x-2"
count = 4
memory_mb = 64
disk_mb = 64
`
	s, err := Parse("index.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.appsByName == nil {
		t.Fatal("the loader built no index")
	}
	scan := *s
	scan.appsByName = nil
	for _, sel := range []string{"web", "web-1", "web-2", "web-3", "web-1-0", "web-1-1", "web-1-2", "api-x-2", "api-x-2-3", "api-x-2-4", "api", "web-01", "nope", "-"} {
		if diff := cmp.Diff(scan.MatchApps(sel), s.MatchApps(sel)); diff != "" {
			t.Errorf("selector %q: index vs scan (-scan +index):\n%s", sel, diff)
		}
	}
	if got := s.MatchApps("web-1"); len(got) != 3 { // group web-1 (2 apps) and app web-1
		t.Errorf("MatchApps(web-1) = %v, want the app web-1 and the 2 apps of group web-1", got)
	}
}
