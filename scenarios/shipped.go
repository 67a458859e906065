package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// shipped holds the scenarios that come with diegolab, so `diegolab run quickstart`
// works from any directory.
//
//go:embed *.toml
var shipped embed.FS

// Shipped returns the names of the shipped scenarios (file names without .toml), sorted.
func Shipped() []string {
	entries, err := fs.ReadDir(shipped, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// ShippedSource returns the text of a shipped scenario.
func ShippedSource(name string) ([]byte, error) {
	data, err := shipped.ReadFile(strings.TrimSuffix(name, ".toml") + ".toml")
	if err != nil {
		return nil, fmt.Errorf("no shipped scenario %q (shipped: %s)", name, strings.Join(Shipped(), ", "))
	}
	return data, nil
}

// LoadShipped parses a shipped scenario. Messages name it scenarios/<name>.toml.
func LoadShipped(name string, overrides ...string) (*Scenario, error) {
	data, err := ShippedSource(name)
	if err != nil {
		return nil, err
	}
	return Parse("scenarios/"+strings.TrimSuffix(name, ".toml")+".toml", data, overrides...)
}

// Resolve loads arg as a file path when such a file exists, else as the name of a
// shipped scenario (with or without .toml); otherwise the error lists the shipped names.
func Resolve(arg string, overrides ...string) (*Scenario, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return Load(arg, overrides...)
	}
	name := strings.TrimSuffix(arg, ".toml")
	for _, n := range Shipped() {
		if n == name {
			return LoadShipped(n, overrides...)
		}
	}
	return nil, fmt.Errorf("scenario %q: no such file, and no shipped scenario of that name (shipped: %s)", arg, strings.Join(Shipped(), ", "))
}
