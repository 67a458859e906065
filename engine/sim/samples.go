package sim

import "github.com/diegolab/diegolab/record"

// sampleChunk is the largest number of timeseries samples of one chunk of a sampleLog
// (96 bytes each: 1.5 MB). The first chunks are smaller (a short run's timeseries is
// small): each new one holds as many samples as all before it, from 256.
const sampleChunk = 1 << 14

// sampleLog is the run's timeseries, kept in chunks of sampleChunk samples. A long run
// takes a million samples (the CloudSim Plus equivalent: one every 10 s for 2,820 h):
// one array sized for them up front had the system hand over (and zero) 96 MB of fresh
// pages at the start, and growing it by copying cost more; a chunk at a time comes out
// of heap memory the run has already touched and freed, and the record is written
// straight from the chunks (record.Files.TimeseriesParts).
type sampleLog struct {
	chunks [][]record.Sample // each full but the last
	n      int
}

func (l *sampleLog) add(s record.Sample) {
	if k := len(l.chunks); k == 0 || len(l.chunks[k-1]) == cap(l.chunks[k-1]) {
		l.chunks = append(l.chunks, make([]record.Sample, 0, min(sampleChunk, max(256, l.n))))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, s)
	l.n++
}

// len is the number of samples taken.
func (l *sampleLog) len() int { return l.n }

// parts returns the samples in order, as chunks (shared: not to be modified).
func (l *sampleLog) parts() [][]record.Sample { return l.chunks }

// all returns the samples in one new slice.
func (l *sampleLog) all() []record.Sample {
	out := make([]record.Sample, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}
