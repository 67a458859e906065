package bench

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/diegolab/diegolab/model/auction"
)

// Spec is a benchmark spec (docs/bench.md): the scenarios, algorithms, settings grid,
// seeds and metrics of a matrix.
type Spec struct {
	Name       string
	Dir        string   // directory of the spec file: scenario paths are relative to it
	Seeds      []uint64 // ascending, no duplicates
	Algorithms []string // empty: each scenario's own run.algorithm
	Metrics    []string // canonical order (Metrics order), never empty
	Set        []string // overrides applied to every scenario
	Grid       []Axis   // settings grid, sorted by key
	Scenarios  []ScenarioSpec
	HTML       bool
}

// Axis is one key of the settings grid and its values as override text (TOML values).
type Axis struct {
	Key    string
	Values []string
}

// ScenarioSpec is one [[scenarios]] entry: a file (or shipped name), or a generated
// family with its parameters.
type ScenarioSpec struct {
	Name   string   // label in results.csv; default: the file's run.name or the family name
	File   string   // path (relative to the spec) or shipped scenario name
	Family string   // "inflation" or "diego-mix"
	Set    []string // overrides for this scenario only
	// inflation: Base scenario (file or shipped name), Load (offered load, 1.0 = 100 %),
	// Step between arrival rounds and PerStep arrivals per round, Settle after the last.
	Base    string
	BaseSet []string // overrides for the base scenario (e.g. its cell count)
	Load    float64
	Step    string
	PerStep int
	Settle  string
	// diego-mix: Cells (the 250k mix scaled to 250 instances per cell), Duration.
	Cells            int
	InstancesPerCell int
	Duration         string
	Line             int
}

type specDoc struct {
	Name       string                    `toml:"name"`
	Seeds      any                       `toml:"seeds"`
	Algorithms []string                  `toml:"algorithms"`
	Metrics    []string                  `toml:"metrics"`
	Set        []string                  `toml:"set"`
	HTML       *bool                     `toml:"html"`
	Settings   map[string]toml.Primitive `toml:"settings"`
	Scenarios  []scenarioDoc             `toml:"scenarios"`
}

type scenarioDoc struct {
	Name     string   `toml:"name"`
	File     string   `toml:"file"`
	Family   string   `toml:"family"`
	Set      []string `toml:"set"`
	Base     string   `toml:"base"`
	BaseSet  []string `toml:"base_set"`
	Load     float64  `toml:"load"`
	Step     string   `toml:"step"`
	PerStep  int      `toml:"per_step"`
	Settle   string   `toml:"settle"`
	Cells    int      `toml:"cells"`
	PerCell  int      `toml:"instances_per_cell"`
	Duration string   `toml:"duration"`
}

// SpecError is a problem in a spec file, with the line when known (0 otherwise).
type SpecError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *SpecError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		return loc + ": " + e.Key + ": " + e.Msg
	}
	return loc + ": " + e.Msg
}

// decodeTOML decodes a spec file's data into v; invalid TOML is a SpecError naming the
// file and line.
func decodeTOML(name string, data []byte, v any) (toml.MetaData, error) {
	md, err := toml.Decode(string(data), v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return md, &SpecError{File: name, Line: pe.Position.Line, Msg: "invalid TOML: " + pe.Message}
		}
		return md, &SpecError{File: name, Msg: err.Error()}
	}
	return md, nil
}

// LoadSpec reads and validates the spec file at path.
func LoadSpec(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench spec: %w", err)
	}
	return ParseSpec(path, data)
}

// ParseSpec validates a spec. name is the file name for messages; scenario files are
// resolved relative to its directory. All problems are returned joined.
func ParseSpec(name string, data []byte) (*Spec, error) {
	var doc specDoc
	md, err := decodeTOML(name, data, &doc)
	if err != nil {
		return nil, err
	}
	var errs []error
	bad := func(line int, key, msg string) {
		errs = append(errs, &SpecError{File: name, Line: line, Key: key, Msg: msg})
	}
	lines := strings.Split(string(data), "\n")
	for _, k := range md.Undecoded() {
		if len(k) >= 1 && k[0] == "settings" {
			continue // decoded below, key by key
		}
		bad(findLine(lines, k), k.String(), "unknown key (spec keys: name, seeds, algorithms, metrics, set, html, [settings], [[scenarios]] with name, file, family, set, base, base_set, load, step, per_step, settle, cells, instances_per_cell, duration)")
	}
	s := &Spec{Name: doc.Name, Dir: filepath.Dir(name), Set: doc.Set, HTML: true}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	if doc.HTML != nil {
		s.HTML = *doc.HTML
	}
	switch v := doc.Seeds.(type) {
	case nil:
		s.Seeds = []uint64{1}
	case string:
		if s.Seeds, err = ParseSeeds(v); err != nil {
			bad(findLine(lines, toml.Key{"seeds"}), "seeds", err.Error())
		}
	case int64:
		if v < 0 {
			bad(findLine(lines, toml.Key{"seeds"}), "seeds", "must be >= 0")
		}
		s.Seeds = []uint64{uint64(v)}
	default:
		bad(findLine(lines, toml.Key{"seeds"}), "seeds", `must be a string such as "1-20,25" or an integer`)
	}
	known := auction.Names()
	for _, a := range doc.Algorithms {
		if !slices.Contains(known, a) {
			bad(findLine(lines, toml.Key{"algorithms"}), "algorithms", fmt.Sprintf("unknown algorithm %q (known: %s)", a, strings.Join(known, ", ")))
		}
		if slices.Contains(s.Algorithms, a) {
			bad(findLine(lines, toml.Key{"algorithms"}), "algorithms", fmt.Sprintf("%q is listed twice", a))
		}
		s.Algorithms = append(s.Algorithms, a)
	}
	if len(doc.Metrics) == 0 {
		s.Metrics = DefaultMetrics()
	} else {
		for _, m := range doc.Metrics {
			if !slices.Contains(MetricNames(), m) {
				bad(findLine(lines, toml.Key{"metrics"}), "metrics", fmt.Sprintf("unknown metric %q (known: %s)", m, strings.Join(MetricNames(), ", ")))
			}
		}
		for _, m := range MetricNames() {
			if slices.Contains(doc.Metrics, m) {
				s.Metrics = append(s.Metrics, m)
			}
		}
	}
	keys := make([]string, 0, len(doc.Settings))
	for k := range doc.Settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		line := findLine(lines, toml.Key{"settings", k})
		var vals []any
		if err := md.PrimitiveDecode(doc.Settings[k], &vals); err != nil {
			bad(line, "settings."+k, "must be an array of values, e.g. [0, 0.25, 0.5]")
			continue
		}
		if len(vals) == 0 {
			bad(line, "settings."+k, "must list at least one value")
			continue
		}
		if strings.HasPrefix(k, "run.seed") || k == "run.algorithm" {
			bad(line, "settings."+k, "seeds and algorithms have their own keys (seeds, algorithms)")
			continue
		}
		ax := Axis{Key: k}
		for _, v := range vals {
			text, err := overrideText(v)
			if err != nil {
				bad(line, "settings."+k, err.Error())
				continue
			}
			ax.Values = append(ax.Values, text)
		}
		s.Grid = append(s.Grid, ax)
	}
	if len(doc.Scenarios) == 0 {
		bad(0, "scenarios", "no [[scenarios]]: add at least one with file = \"...\" or family = \"...\"")
	}
	names := map[string]bool{}
	for i, d := range doc.Scenarios {
		key := fmt.Sprintf("scenarios[%d]", i)
		line := findTableLine(lines, "scenarios", i)
		sc := ScenarioSpec{Name: d.Name, File: d.File, Family: d.Family, Set: d.Set, Base: d.Base, BaseSet: d.BaseSet, Load: d.Load,
			Step: d.Step, PerStep: d.PerStep, Settle: d.Settle, Cells: d.Cells, InstancesPerCell: d.PerCell, Duration: d.Duration, Line: line}
		if msg := sc.check(); msg != "" {
			bad(line, key, msg)
		}
		if sc.Name == "" {
			sc.Name = sc.defaultName()
		}
		if names[sc.Name] {
			bad(line, key+".name", fmt.Sprintf("scenario name %q is used twice: give each entry a distinct name", sc.Name))
		}
		names[sc.Name] = true
		s.Scenarios = append(s.Scenarios, sc)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func (sc *ScenarioSpec) check() string {
	switch sc.Family {
	case "":
		if sc.File == "" {
			return `needs file = "path.toml" (or a shipped name) or family = "inflation" | "diego-mix"`
		}
	case FamilyInflation:
		if sc.File != "" {
			return "a family takes base =, not file ="
		}
		if sc.Base == "" {
			return `inflation needs base = "<scenario>" whose apps give the request mix`
		}
		if sc.Load <= 0 || math.IsNaN(sc.Load) || sc.Load > 10 {
			return "inflation needs load > 0 (offered load as a fraction of capacity, e.g. 1.3), at most 10"
		}
		if sc.PerStep < 0 {
			return "per_step must be >= 1"
		}
	case FamilyDiegoMix:
		if sc.Cells < 1 || sc.Cells > 100_000 {
			return "diego-mix needs cells = N (1..100000)"
		}
		if sc.InstancesPerCell < 0 || sc.InstancesPerCell > 10_000 {
			return "instances_per_cell must be 1..10000 (default 250)"
		}
	default:
		return fmt.Sprintf("unknown family %q (families: %s, %s)", sc.Family, FamilyInflation, FamilyDiegoMix)
	}
	return ""
}

func (sc *ScenarioSpec) defaultName() string {
	switch sc.Family {
	case FamilyInflation:
		return fmt.Sprintf("inflation-%s-%d", strings.TrimSuffix(filepath.Base(sc.Base), ".toml"), int(math.Round(sc.Load*100)))
	case FamilyDiegoMix:
		return fmt.Sprintf("diego-mix-%d", sc.Cells)
	}
	return strings.TrimSuffix(filepath.Base(sc.File), ".toml")
}

// overrideText renders a TOML value decoded from the grid as override text.
func overrideText(v any) (string, error) {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		return strconv.Quote(x), nil
	}
	return "", fmt.Errorf("values must be numbers, booleans or strings, got %T", v)
}

// ParseSeeds parses a seed list such as "1-20,25": comma-separated seeds and inclusive
// ranges. The result is ascending without duplicates.
func ParseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("seeds %q: empty item", s)
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds %q: %q is not a seed (an integer >= 0) or a range a-b", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 64); err != nil {
				return nil, fmt.Errorf("seeds %q: %q is not a range a-b of integers", s, part)
			}
			if b < a {
				return nil, fmt.Errorf("seeds %q: range %q runs backwards", s, part)
			}
			if b-a >= 1_000_000 {
				return nil, fmt.Errorf("seeds %q: range %q has more than 1,000,000 seeds", s, part)
			}
		}
		for x := a; ; x++ {
			out = append(out, x)
			if x == b {
				break
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

var keyLine = regexp.MustCompile(`^\s*("?)([A-Za-z0-9_.\-]+)("?)\s*=`)

// findLine returns the 1-based line of key k in the spec text (0 if not found). For a
// key inside the i-th [[scenarios]] table it searches from that table's header.
func findLine(lines []string, k toml.Key) int {
	from := 0
	if len(k) >= 3 && k[0] == "scenarios" {
		if i, err := strconv.Atoi(k[1]); err == nil {
			from = max(findTableLine(lines, "scenarios", i)-1, 0)
		}
	} else if len(k) >= 2 {
		for j, l := range lines {
			if strings.TrimSpace(l) == "["+k[0]+"]" {
				from = j
				break
			}
		}
	}
	last := k[len(k)-1]
	for j := from; j < len(lines); j++ {
		if m := keyLine.FindStringSubmatch(lines[j]); m != nil && m[2] == last {
			return j + 1
		}
	}
	return 0
}

// findTableLine returns the line of the i-th [[name]] header (0 if absent).
func findTableLine(lines []string, name string, i int) int {
	n := 0
	for j, l := range lines {
		if strings.TrimSpace(l) == "[["+name+"]]" {
			if n == i {
				return j + 1
			}
			n++
		}
	}
	return 0
}
