package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/bench"
)

// Shard is one part of a matrix split N ways for a batch system's array job: run i of
// the matrix (0-based, in Spec.Expand's order) belongs to shard i mod N. Round robin
// spreads every algorithm x setting cell and every seed over the shards, so shards take
// about the same time even when one scenario is much slower than another.
type Shard struct {
	I, N int
}

// MaxShards bounds N (an array of more tasks than runs leaves the rest idle anyway).
const MaxShards = 100_000

// ParseShard parses "I/N" with 0 <= I < N (Slurm's SLURM_ARRAY_TASK_ID with
// --array=0-(N-1), Kubernetes' JOB_COMPLETION_INDEX).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 0/4 (I counts from 0)", s)
	}
	if n < 1 || n > MaxShards {
		return Shard{}, fmt.Errorf("shard %q: N must be 1..%d", s, MaxShards)
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: I must be 0..%d (shards count from 0)", s, n-1)
	}
	return Shard{I: i, N: n}, nil
}

func (s Shard) String() string { return strconv.Itoa(s.I) + "/" + strconv.Itoa(s.N) }

// Has reports whether run i of the matrix belongs to the shard.
func (s Shard) Has(i int) bool { return i%s.N == s.I }

// Files a shard writes besides Execute's.
const (
	ShardFile  = "shard.json" // what the shard is (ShardInfo)
	BundleDir  = "spec"       // the bundle's files, and bundle.json
	bundleJSON = "bundle.json"
)

// ShardInfo is shard.json: which spec, binary and part of the matrix a directory holds.
type ShardInfo struct {
	Spec     string `json:"spec"`      // spec name
	SpecHash string `json:"spec_hash"` // Bundle.Hash
	Version  string `json:"version"`   // diegolab version that ran it
	Shard    int    `json:"shard"`
	Shards   int    `json:"shards"`
	Runs     int    `json:"runs"`  // runs in this shard
	Total    int    `json:"total"` // runs in the matrix
}

// RunShard runs shard sh of the bundle's matrix into o.Out (which must be set) with
// bench.Execute, after writing shard.json and the bundle (spec/bundle.json) there. A
// rerun into the same directory resumes; a directory of another shard, spec or
// version is refused.
func RunShard(ctx context.Context, b *Bundle, spec *bench.Spec, sh Shard, version string, o bench.Options) (*bench.Report, error) {
	if o.Out == "" {
		return nil, errors.New("a shard needs an output directory (--out)")
	}
	runs, err := spec.Expand()
	if err != nil {
		return nil, err
	}
	info := ShardInfo{Spec: spec.Name, SpecHash: b.Hash(), Version: version, Shard: sh.I, Shards: sh.N, Total: len(runs)}
	for i := range runs {
		if sh.Has(i) {
			info.Runs++
		}
	}
	if old, err := readShardInfo(o.Out); err == nil {
		if old != info {
			return nil, fmt.Errorf("%s holds shard %d/%d of spec %s (hash %.12s, diegolab %s), not shard %s of %s (hash %.12s, diegolab %s): use another --out directory",
				o.Out, old.Shard, old.Shards, old.Spec, old.SpecHash, old.Version, sh, info.Spec, info.SpecHash, version)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(o.Out, BundleDir), 0o755); err != nil {
		return nil, err
	}
	bj, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, BundleDir, bundleJSON), bj, 0o644); err != nil {
		return nil, err
	}
	ij, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, ShardFile), append(ij, '\n'), 0o644); err != nil {
		return nil, err
	}
	o.Select = func(i int, _ bench.Run) bool { return sh.Has(i) }
	return bench.Execute(ctx, spec, o)
}

func readShardInfo(dir string) (ShardInfo, error) {
	var info ShardInfo
	data, err := os.ReadFile(filepath.Join(dir, ShardFile))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, ShardFile), err)
	}
	return info, nil
}

// MergeReport says what Merge did.
type MergeReport struct {
	Spec   string
	Shards int
	Runs   int
}

// Merge combines the shard directories dirs (every shard of one spec and version,
// each once) into out: results.csv and perf.csv in matrix order, the representative
// run records in runs/, then the summaries and the HTML comparison (bench.Finish),
// so that out is what one machine running the whole matrix with -j 1 writes. A
// missing shard, a missing run, or shards of different specs or versions are errors
// that name them.
func Merge(dirs []string, out string, warn io.Writer) (*MergeReport, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merge: no shard directories")
	}
	infos := make([]ShardInfo, len(dirs))
	for k, d := range dirs {
		info, err := readShardInfo(d)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("merge: %s has no %s: not a shard directory (made by diegolab bench SPEC --shard I/N --out DIR)", d, ShardFile)
		}
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		infos[k] = info
		first := infos[0]
		if info.SpecHash != first.SpecHash || info.Version != first.Version || info.Shards != first.Shards {
			return nil, fmt.Errorf("merge: %s is shard %d/%d of spec %s (hash %.12s, diegolab %s) but %s is shard %d/%d of spec %s (hash %.12s, diegolab %s): merge shards of one spec and one binary",
				d, info.Shard, info.Shards, info.Spec, info.SpecHash, info.Version, dirs[0], first.Shard, first.Shards, first.Spec, first.SpecHash, first.Version)
		}
	}
	n := infos[0].Shards
	byShard := make([]string, n)
	for k, info := range infos {
		if info.Shard < 0 || info.Shard >= n {
			return nil, fmt.Errorf("merge: %s: shard %d of %d is out of range", dirs[k], info.Shard, n)
		}
		if byShard[info.Shard] != "" {
			return nil, fmt.Errorf("merge: shard %d/%d is given twice (%s and %s)", info.Shard, n, byShard[info.Shard], dirs[k])
		}
		byShard[info.Shard] = dirs[k]
	}
	var missing []string
	for i, d := range byShard {
		if d == "" {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("merge: %d of %d shards missing: %s", len(missing), n, strings.Join(missing, ", "))
	}
	bj, err := os.ReadFile(filepath.Join(byShard[0], BundleDir, bundleJSON))
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	b, err := UnmarshalBundle(bj)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", byShard[0], err)
	}
	if b.Hash() != infos[0].SpecHash {
		return nil, fmt.Errorf("merge: %s: the bundle's hash %.12s is not the shard's %.12s", byShard[0], b.Hash(), infos[0].SpecHash)
	}
	tmp, err := os.MkdirTemp("", "diegolab-merge-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	spec, err := b.Load(tmp)
	if err != nil {
		return nil, fmt.Errorf("merge: spec: %w", err)
	}
	runs, err := spec.Expand()
	if err != nil {
		return nil, err
	}
	if len(runs) != infos[0].Total {
		return nil, fmt.Errorf("merge: the spec expands to %d runs here but %d when the shards ran", len(runs), infos[0].Total)
	}
	header := bench.ResultsHeader(spec.Metrics)
	results := make([][]string, len(runs))
	perf := make([][]string, len(runs))
	index := map[string]int{}
	for i, r := range runs {
		index[rowKey(r.Scenario, r.Algorithm, r.Settings, strconv.FormatUint(r.Seed, 10))] = i
	}
	if err := os.MkdirAll(filepath.Join(out, bench.RunsDir), 0o755); err != nil {
		return nil, err
	}
	for s, d := range byShard {
		sh := Shard{I: s, N: n}
		if err := readRows(filepath.Join(d, bench.ResultsFile), header, index, sh, results); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		if err := readRows(filepath.Join(d, bench.PerfFile), bench.PerfHeader(), index, sh, perf); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		for i, r := range runs {
			if !sh.Has(i) || !spec.Representative(r) {
				continue
			}
			src := filepath.Join(d, bench.RunsDir, r.RecordName())
			if _, err := os.Stat(src); err == nil {
				if err := copyDir(src, filepath.Join(out, bench.RunsDir, r.RecordName())); err != nil {
					return nil, fmt.Errorf("merge: %w", err)
				}
			}
		}
	}
	var lost []string
	for i, row := range results {
		if row == nil {
			lost = append(lost, runs[i].Label()+" (shard "+Shard{I: i % n, N: n}.String()+")")
		}
	}
	if len(lost) > 0 {
		return nil, fmt.Errorf("merge: %d of %d runs have no row (their shard is unfinished or had failures; rerun it): %s", len(lost), len(runs), strings.Join(lost[:min(len(lost), 5)], "; "))
	}
	if err := writeCSV(filepath.Join(out, bench.ResultsFile), header, results); err != nil {
		return nil, err
	}
	if err := writeCSV(filepath.Join(out, bench.PerfFile), bench.PerfHeader(), dropNil(perf)); err != nil {
		return nil, err
	}
	if err := bench.Finish(spec, runs, out, warn); err != nil {
		return nil, err
	}
	return &MergeReport{Spec: spec.Name, Shards: n, Runs: len(runs)}, nil
}

func rowKey(scenario, algorithm, settings, seed string) string {
	return scenario + "\x00" + algorithm + "\x00" + settings + "\x00" + seed
}

// readRows reads a results.csv or perf.csv of shard sh into rows, at the matrix index
// of each row's key. A row of another shard, a row seen twice or a key outside the
// matrix is an error.
func readRows(path string, header []string, index map[string]int, sh Shard, rows [][]string) error {
	recs, err := readCSV(path, header)
	if err != nil {
		return err
	}
	for k, rec := range recs {
		i, ok := index[rowKey(rec[0], rec[1], rec[2], rec[3])]
		switch {
		case !ok:
			return fmt.Errorf("%s: line %d: run %s/%s/%s/seed %s is not in the spec's matrix", path, k+2, rec[0], rec[1], rec[2], rec[3])
		case !sh.Has(i):
			return fmt.Errorf("%s: line %d: run %s/%s/%s/seed %s belongs to shard %d/%d, not %s", path, k+2, rec[0], rec[1], rec[2], rec[3], i%sh.N, sh.N, sh)
		case rows[i] != nil:
			return fmt.Errorf("%s: line %d: run %s/%s/%s/seed %s appears twice", path, k+2, rec[0], rec[1], rec[2], rec[3])
		}
		rows[i] = rec
	}
	return nil
}

func dropNil(rows [][]string) [][]string {
	return slices.DeleteFunc(slices.Clone(rows), func(r []string) bool { return r == nil })
}
