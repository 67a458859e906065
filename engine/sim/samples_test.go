package sim

import (
	"testing"

	"github.com/diegolab/diegolab/record"
)

// TestSampleLog: samples come back in order, in chunks that grow to sampleChunk and are
// full but the last, and all() joins them.
func TestSampleLog(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 1000, 3*sampleChunk + 5} {
		var l sampleLog
		for i := range n {
			l.add(record.Sample{T: float64(i), Desired: i})
		}
		if l.len() != n {
			t.Fatalf("n=%d: len %d", n, l.len())
		}
		i := 0
		for k, c := range l.parts() {
			if k < len(l.parts())-1 && len(c) != cap(c) {
				t.Fatalf("n=%d: chunk %d holds %d of %d before the last", n, k, len(c), cap(c))
			}
			if cap(c) > sampleChunk {
				t.Fatalf("n=%d: chunk %d of %d samples", n, k, cap(c))
			}
			for _, s := range c {
				if s.T != float64(i) || s.Desired != i {
					t.Fatalf("n=%d: sample %d is %+v", n, i, s)
				}
				i++
			}
		}
		if all := l.all(); i != n || len(all) != n || (n > 0 && all[n-1].Desired != n-1) {
			t.Fatalf("n=%d: parts hold %d, all %d", n, i, len(all))
		}
	}
}
