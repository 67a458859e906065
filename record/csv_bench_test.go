package record

import (
	"io"
	"math/rand/v2"
	"testing"
)

// BenchmarkEncodeTimeseries: timeseries.csv's rows as a long run has them (a sample
// every 10 s; the counts change at about one sample in five), 200,000 rows an op.
func BenchmarkEncodeTimeseries(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 0))
	rows := make([]Sample, 200_000)
	s := Sample{Desired: 100_000, Running: 100_000, CellsUp: 50_000, MemoryUsedMB: 102_400_000}
	for i := range rows {
		if r.IntN(5) == 0 {
			s.TasksRunning = max(0, s.TasksRunning+r.IntN(3)-1)
			s.MemoryUsedMB = 102_400_000 + 512*s.TasksRunning
		}
		s.T = float64(i) * 10
		rows[i] = s
	}
	b.SetBytes(int64(len(rows)))
	for b.Loop() {
		if err := EncodeCSV(io.Discard, rows); err != nil {
			b.Fatal(err)
		}
	}
}
