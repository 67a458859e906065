package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const scenario = `
[run]
name = "tiny"
duration = "1m"

[[cells]]
count = 2
memory_mb = 4096
disk_mb = 8192

[[apps]]
name = "web"
instances = 2
memory_mb = 512
disk_mb = 512
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBundleCarriesScenarioFiles: a bundle holds the spec and the scenario files below
// it (not shipped names), loads the same matrix elsewhere, and its hash changes with
// any file's content and with the seeds override.
func TestBundleCarriesScenarioFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"spec.toml":         "seeds = \"1-2\"\n[[scenarios]]\nfile = \"sc/tiny.toml\"\n[[scenarios]]\nfile = \"binpack\"\n",
		"sc/tiny.toml":      scenario,
		"sc/unrelated.toml": scenario,
	})
	b, spec, err := NewBundle(filepath.Join(dir, "spec.toml"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Files) != 2 || b.Files["sc/tiny.toml"] == nil || b.Spec != "spec.toml" {
		t.Fatalf("bundle files %v, spec %q; want spec.toml and sc/tiny.toml", keys(b.Files), b.Spec)
	}
	runs, err := spec.Expand()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := b.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	runs2, err := loaded.Expand()
	if err != nil || len(runs2) != len(runs) || len(runs) != 4 {
		t.Fatalf("loaded elsewhere: %d runs (%v), here %d; want 4", len(runs2), err, len(runs))
	}
	for i := range runs {
		if runs[i].Key() != runs2[i].Key() {
			t.Errorf("run %d: %q here, %q loaded from the bundle", i, runs[i].Key(), runs2[i].Key())
		}
	}
	h := b.Hash()
	if err := os.WriteFile(filepath.Join(dir, "sc/tiny.toml"), []byte(scenario+"\n# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b2, _, err := NewBundle(filepath.Join(dir, "spec.toml"), "")
	if err != nil || b2.Hash() == h {
		t.Errorf("editing a scenario file left the hash %s (%v)", h, err)
	}
	b3, spec3, err := NewBundle(filepath.Join(dir, "spec.toml"), "5")
	if err != nil || b3.Hash() == b2.Hash() || len(spec3.Seeds) != 1 || spec3.Seeds[0] != 5 {
		t.Errorf("seeds override: hash %s vs %s, seeds %v (%v)", b3.Hash(), b2.Hash(), spec3.Seeds, err)
	}
	if ID(b2, "v1") == ID(b2, "v2") || len(ID(b2, "v1")) != 16 {
		t.Errorf("ID does not depend on the version: %s, %s", ID(b2, "v1"), ID(b2, "v2"))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestBundleRefusals: a scenario file outside the spec's directory cannot travel, and a
// bundle read back with a path that leaves its directory is refused.
func TestBundleRefusals(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"outside.toml":   scenario,
		"spec/spec.toml": "[[scenarios]]\nfile = \"../outside.toml\"\n",
	})
	if _, _, err := NewBundle(filepath.Join(root, "spec/spec.toml"), ""); err == nil || !strings.Contains(err.Error(), "outside the spec's directory") {
		t.Errorf("scenario outside the spec's directory: %v", err)
	}
	evil := &Bundle{Name: "x", Spec: "spec.toml", Files: map[string][]byte{"spec.toml": []byte("[[scenarios]]\nfile = \"binpack\"\n"), "../escape.toml": []byte("x")}}
	if _, err := evil.Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a local relative path") {
		t.Errorf("bundle with ../escape.toml: %v", err)
	}
	if _, err := (&Bundle{Spec: "missing.toml", Files: map[string][]byte{}}).Load(t.TempDir()); err == nil {
		t.Errorf("bundle without its spec file loaded")
	}
	if _, err := UnmarshalBundle([]byte("{not json")); err == nil {
		t.Errorf("bad JSON accepted")
	}
}

// TestShardPartition: the shards of N partition the matrix, each run in exactly one,
// and bad I/N are refused with what is expected.
func TestShardPartition(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7} {
		count := make([]int, 50)
		for i := range n {
			sh, err := ParseShard(Shard{I: i, N: n}.String())
			if err != nil {
				t.Fatal(err)
			}
			for run := range count {
				if sh.Has(run) {
					count[run]++
				}
			}
		}
		for run, c := range count {
			if c != 1 {
				t.Errorf("N=%d: run %d is in %d shards", n, run, c)
			}
		}
	}
	for in, want := range map[string]string{"3/3": "I must be 0..2", "-1/3": "I must be", "1/0": "N must be 1..", "x/2": "want I/N", "1": "want I/N", "0/100001": "N must be"} {
		if _, err := ParseShard(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseShard(%q): %v, want %q", in, err, want)
		}
	}
}
