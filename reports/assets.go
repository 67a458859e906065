package reports

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// EChartsVersion is the ECharts release go-echarts v2.6.7 targets (its README badge
// and docs/en-us/dive-into.md); reports/fetch-echarts.sh fetches this version.
const EChartsVersion = "5.4.3"

// EChartsFile is the asset's file name wherever it is looked for.
const EChartsFile = "echarts.min.js"

// EnvECharts names an environment variable with the path of an echarts.min.js to use.
const EnvECharts = "DIEGOLAB_ECHARTS"

// The assets directory always holds a README; echarts.min.js is there only when
// `make echarts` ran before the build (it is git-ignored), so a plain `go build` of a
// fresh clone still compiles.
//
//go:embed assets
var embedded embed.FS

// Asset is the ECharts library a report uses: its code, to inline, or nothing, in
// which case the page loads EChartsFile from the report's directory.
type Asset struct {
	JS     []byte
	Source string // where it came from: "embedded", a path, or "" when not found
}

// Inline reports whether the asset can be inlined.
func (a Asset) Inline() bool { return len(a.JS) > 0 }

// FindAsset looks for echarts.min.js, in order: the file named by $DIEGOLAB_ECHARTS,
// the copy embedded at build time, next to the running binary, and
// reports/assets/echarts.min.js under the working directory. When none exists it
// returns an Asset without code (not an error: the report then links the file).
func FindAsset() (Asset, error) {
	if p := os.Getenv(EnvECharts); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return Asset{}, fmt.Errorf("%s=%s: %w", EnvECharts, p, err)
		}
		return Asset{JS: b, Source: p}, nil
	}
	if b, err := embedded.ReadFile("assets/" + EChartsFile); err == nil && len(b) > 0 {
		return Asset{JS: b, Source: "embedded"}, nil
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), EChartsFile))
	}
	candidates = append(candidates, filepath.Join("reports", "assets", EChartsFile))
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if err == nil && len(b) > 0 {
			return Asset{JS: b, Source: p}, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Asset{}, fmt.Errorf("echarts asset %s: %w", p, err)
		}
	}
	return Asset{}, nil
}
