package bench

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// shippedSpecs are the benchmark specs that come with diegolab (bench/*.toml). They name
// only shipped scenarios and generated families, so they run from any directory.
//
//go:embed quick.toml algorithms-1000.toml inflation.toml
var shippedSpecs embed.FS

// Shipped returns the names of the shipped specs, sorted.
func Shipped() []string {
	entries, _ := fs.ReadDir(shippedSpecs, ".")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// ResolveSpec loads arg as a spec file when such a file exists, else as the name of a
// shipped spec (with or without .toml).
func ResolveSpec(arg string) (*Spec, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return LoadSpec(arg)
	}
	name := strings.TrimSuffix(arg, ".toml")
	data, err := shippedSpecs.ReadFile(name + ".toml")
	if err != nil {
		return nil, fmt.Errorf("bench spec %q: no such file, and no shipped spec of that name (shipped: %s)", arg, strings.Join(Shipped(), ", "))
	}
	s, err := ParseSpec("bench/"+name+".toml", data)
	if err != nil {
		return nil, err
	}
	s.Dir = "" // shipped specs name shipped scenarios only
	return s, nil
}
