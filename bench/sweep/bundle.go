package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/diegolab/diegolab/bench"
)

// Bundle is a benchmark spec with every file it reads, so that another process, on
// this machine or another, loads the identical matrix: the spec file and the scenario
// files beside it, or the name of a spec shipped in the binary.
type Bundle struct {
	Name    string            `json:"name"`              // the spec's name
	Shipped string            `json:"shipped,omitempty"` // name of a shipped spec (then Files is empty)
	Spec    string            `json:"spec,omitempty"`    // the spec file's path inside Files
	Files   map[string][]byte `json:"files,omitempty"`   // slash-separated relative path -> content
	Seeds   string            `json:"seeds,omitempty"`   // the --seeds override, or ""
	// Records asks a queue's workers to keep every run's record, not only the
	// representative runs' (package queue; shards keep what a local run keeps).
	Records bool `json:"records,omitempty"`
}

// Limits on what a bundle may carry: its files are read by every worker of a queue.
const (
	maxBundleFiles = 1000
	maxBundleBytes = 256 << 20
)

// NewBundle reads the spec arg (a file, or the name of a shipped spec, as `diegolab
// bench` takes it) with the seeds override (may be empty) and gathers the scenario
// files it names. A scenario file must lie in the spec's directory or below it (a
// shipped scenario name needs nothing): the bundle recreates that tree elsewhere.
// It returns the bundle and the spec loaded from it.
func NewBundle(arg, seeds string) (*Bundle, *bench.Spec, error) {
	st, err := os.Stat(arg)
	if err != nil || st.IsDir() {
		spec, err := bench.ResolveSpec(arg)
		if err != nil {
			return nil, nil, err
		}
		b := &Bundle{Name: spec.Name, Shipped: strings.TrimSuffix(arg, ".toml"), Seeds: seeds}
		if err := b.applySeeds(spec); err != nil {
			return nil, nil, err
		}
		return b, spec, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, nil, fmt.Errorf("bench spec: %w", err)
	}
	spec, err := bench.ParseSpec(arg, data)
	if err != nil {
		return nil, nil, err
	}
	b := &Bundle{Name: spec.Name, Spec: filepath.Base(arg), Files: map[string][]byte{filepath.Base(arg): data}, Seeds: seeds}
	size := len(data)
	for _, sc := range spec.Scenarios {
		for _, f := range []string{sc.File, sc.Base} {
			if f == "" {
				continue
			}
			p := filepath.Join(spec.Dir, f)
			if st, err := os.Stat(p); err != nil || st.IsDir() || filepath.IsAbs(f) {
				if st, err := os.Stat(f); err == nil && !st.IsDir() {
					return nil, nil, fmt.Errorf("%s: scenario %s: file %s is not under the spec's directory %s: a distributed sweep carries the spec and the scenario files beside it, so copy it there and name it relative to the spec", arg, sc.Name, f, spec.Dir)
				}
				continue // a shipped scenario name
			}
			if !filepath.IsLocal(f) {
				return nil, nil, fmt.Errorf("%s: scenario %s: file %s is outside the spec's directory: a distributed sweep carries only files in or below it", arg, sc.Name, f)
			}
			rel := filepath.ToSlash(filepath.Clean(f))
			if _, dup := b.Files[rel]; dup {
				continue
			}
			content, err := os.ReadFile(p)
			if err != nil {
				return nil, nil, err
			}
			b.Files[rel] = content
			size += len(content)
		}
	}
	if len(b.Files) > maxBundleFiles || size > maxBundleBytes {
		return nil, nil, fmt.Errorf("%s: the spec and its scenario files (%d files, %d bytes) exceed a sweep's limit of %d files and %d MiB", arg, len(b.Files), size, maxBundleFiles, maxBundleBytes>>20)
	}
	if err := b.applySeeds(spec); err != nil {
		return nil, nil, err
	}
	return b, spec, nil
}

func (b *Bundle) applySeeds(spec *bench.Spec) error {
	if b.Seeds == "" {
		return nil
	}
	seeds, err := bench.ParseSeeds(b.Seeds)
	if err != nil {
		return fmt.Errorf("--seeds: %w", err)
	}
	spec.Seeds = seeds
	return nil
}

// Hash is the spec's identity: SHA-256 over its name, the shipped name or every file
// (sorted by path) and the seeds override, in hex. Two bundles with the same hash load
// the same matrix with the same binary.
func (b *Bundle) Hash() string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	field(b.Name)
	field(b.Shipped)
	field(b.Spec)
	paths := make([]string, 0, len(b.Files))
	for p := range b.Files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		field(p)
		field(string(b.Files[p]))
	}
	field(b.Seeds)
	if b.Records {
		field("records")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ID names a sweep: the spec's hash and the binary's version together, so runs of two
// versions of a spec, or of two diegolab builds, never mix. 16 hex digits.
func ID(b *Bundle, version string) string {
	h := sha256.Sum256([]byte(b.Hash() + "\x00" + version))
	return hex.EncodeToString(h[:8])
}

// Load writes the bundle's files into dir (an empty directory) and loads the spec from
// there. A bundle read from elsewhere (a database, a shard directory) is untrusted:
// paths must be local and sizes bounded.
func (b *Bundle) Load(dir string) (*bench.Spec, error) {
	if b.Shipped != "" {
		if len(b.Files) > 0 {
			return nil, errors.New("bundle: a shipped spec carries no files")
		}
		spec, err := bench.ResolveSpec(b.Shipped)
		if err != nil {
			return nil, err
		}
		return spec, b.applySeeds(spec)
	}
	if len(b.Files) > maxBundleFiles {
		return nil, fmt.Errorf("bundle: %d files, more than %d", len(b.Files), maxBundleFiles)
	}
	if _, ok := b.Files[b.Spec]; !ok {
		return nil, fmt.Errorf("bundle: spec file %q is not among its files", b.Spec)
	}
	size := 0
	for p, content := range b.Files {
		size += len(content)
		if size > maxBundleBytes {
			return nil, fmt.Errorf("bundle: more than %d MiB of files", maxBundleBytes>>20)
		}
		if !filepath.IsLocal(filepath.FromSlash(p)) {
			return nil, fmt.Errorf("bundle: file path %q is not a local relative path", p)
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, content, 0o644); err != nil {
			return nil, err
		}
	}
	spec, err := bench.LoadSpec(filepath.Join(dir, filepath.FromSlash(b.Spec)))
	if err != nil {
		return nil, err
	}
	return spec, b.applySeeds(spec)
}

// Marshal encodes the bundle as JSON (file contents in base64).
func (b *Bundle) Marshal() ([]byte, error) { return json.Marshal(b) }

// UnmarshalBundle decodes Marshal's output.
func UnmarshalBundle(data []byte) (*Bundle, error) {
	if len(data) > 2*maxBundleBytes {
		return nil, fmt.Errorf("bundle: %d bytes, more than the limit", len(data))
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return &b, nil
}
