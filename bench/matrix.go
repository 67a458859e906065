package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/scenarios"
)

// Run is one cell of the matrix: a scenario with an algorithm, one point of the
// settings grid and a seed. Key identifies it in results.csv.
type Run struct {
	Scenario  string
	Algorithm string
	Settings  string   // "key=value key=value", or "default" for an empty grid
	Overrides []string // the settings as scenario overrides
	Seed      uint64
	spec      *ScenarioSpec
	set       []string // spec-wide then per-scenario overrides
	dir       string   // spec directory
}

// Key is the resume key: scenario, algorithm, settings and seed.
func (r Run) Key() string {
	return r.Scenario + "\x00" + r.Algorithm + "\x00" + r.Settings + "\x00" + strconv.FormatUint(r.Seed, 10)
}

// Group is the key of the summary: the run without its seed.
func (r Run) Group() string { return r.Scenario + "\x00" + r.Algorithm + "\x00" + r.Settings }

// Expand lists the runs of the matrix: scenarios (spec order) x algorithms x settings
// grid (lexicographic over the sorted keys, values in spec order) x seeds (ascending).
// Each scenario is loaded once, with the first seed, so a broken scenario fails here
// rather than in the middle of a matrix; a spec without algorithms uses each
// scenario's own run.algorithm.
func (s *Spec) Expand() ([]Run, error) {
	points := [][]string{nil}
	for _, ax := range s.Grid {
		var next [][]string
		for _, p := range points {
			for _, v := range ax.Values {
				next = append(next, append(append([]string(nil), p...), ax.Key+"="+v))
			}
		}
		points = next
	}
	var runs []Run
	for i := range s.Scenarios {
		sp := &s.Scenarios[i]
		set := append(append([]string(nil), s.Set...), sp.Set...)
		probe := Run{Scenario: sp.Name, Seed: s.Seeds[0], spec: sp, set: set, dir: s.Dir}
		sc, err := probe.Load()
		if err != nil {
			return nil, fmt.Errorf("bench %s: scenario %s: %w", s.Name, sp.Name, err)
		}
		algs := s.Algorithms
		if len(algs) == 0 {
			algs = []string{sc.Algorithm}
		}
		for _, a := range algs {
			for _, p := range points {
				label := "default"
				if len(p) > 0 {
					label = strings.Join(p, " ")
				}
				for _, seed := range s.Seeds {
					runs = append(runs, Run{Scenario: sp.Name, Algorithm: a, Settings: label, Overrides: p, Seed: seed, spec: sp, set: set, dir: s.Dir})
				}
			}
		}
	}
	return runs, nil
}

// Args returns the scenario argument and the overrides that `diegolab run` would take to
// repeat this run alone (for a generated family the argument is "" : see Load).
func (r Run) Args() (string, []string) {
	ov := append(append([]string(nil), r.set...), r.Overrides...)
	ov = append(ov, "run.seed="+strconv.FormatUint(r.Seed, 10))
	if r.Algorithm != "" {
		ov = append(ov, "run.algorithm="+strconv.Quote(r.Algorithm))
	}
	if r.spec == nil || r.spec.Family != "" {
		return "", ov
	}
	return resolvePath(r.dir, r.spec.File), ov
}

// resolvePath returns dir/file when that file exists, else file (a path relative to the
// working directory, or a shipped scenario name for scenarios.Resolve).
func resolvePath(dir, file string) string {
	if !filepath.IsAbs(file) && dir != "" {
		p := filepath.Join(dir, file)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return file
}

// Load builds the run's scenario: the file with every override, or the generated
// family for this seed with every override; extra overrides come last.
func (r Run) Load(extra ...string) (*scenarios.Scenario, error) {
	arg, ov := r.Args()
	ov = append(ov, extra...)
	switch r.spec.Family {
	case FamilyInflation:
		base, err := scenarios.Resolve(resolvePath(r.dir, r.spec.Base), r.spec.BaseSet...)
		if err != nil {
			return nil, err
		}
		f, err := Inflate(base, InflateParams{Load: r.spec.Load, Seed: r.Seed, Step: r.spec.Step, PerStep: r.spec.PerStep, Settle: r.spec.Settle})
		if err != nil {
			return nil, err
		}
		f.Run.Name = r.Scenario
		return f.Parse(r.Scenario+".toml", ov...)
	case FamilyDiegoMix:
		mix, err := DiegoMixOverrides(r.spec.Cells, r.spec.InstancesPerCell, r.spec.Duration)
		if err != nil {
			return nil, err
		}
		return scenarios.LoadShipped("diego-250k-mix", append(append(mix, "run.name="+strconv.Quote(r.Scenario)), ov...)...)
	}
	return scenarios.Resolve(arg, ov...)
}
