package bench

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/diegolab/diegolab/internal/benchtest"
)

// BenchmarkSmallMatrix runs a 2 algorithms x 2 settings x 4 seeds matrix (16 runs) of
// the tiny scenario end to end on all cores: expansion, simulations, metrics,
// results.csv and summaries (no HTML). Reports runs/s.
func BenchmarkSmallMatrix(b *testing.B) {
	src := "seeds = \"1-4\"\nhtml = false\nalgorithms = [\"diego\", \"best-fit\"]\n[settings]\n\"auction.bin_pack_first_fit_weight\" = [0, 0.5]\n[[scenarios]]\nfile = \"tiny.toml\"\n"
	dir, spec := benchtest.WriteSpec(b, benchtest.StableScenario, src)
	s, err := LoadSpec(spec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	runs := 0
	for i := 0; b.Loop(); i++ {
		rep, err := Execute(context.Background(), s, Options{Out: filepath.Join(dir, "out", strconv.Itoa(i))})
		if err != nil {
			b.Fatal(err)
		}
		runs += rep.Done
	}
	b.ReportMetric(float64(runs)/b.Elapsed().Seconds(), "runs/s")
}
