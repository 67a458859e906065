package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model/auction"
)

// processCPU is the CPU time the process has used so far (user + system, every thread).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAuctionCLI is `diegolab auction` without the process: decode a generated
// STATE.json (bench auction-state), schedule the batch, encode RESULT.json, with the
// time of each part. The goals are whole-process figures (docs/performance.md): 10,000
// cells / 100,000 items < 1.5 s, 1,000,000 items < 10 s.
func BenchmarkAuctionCLI(b *testing.B) {
	for _, size := range []struct{ cells, items int }{{1000, 10000}, {10000, 100000}, {10000, 1000000}} {
		b.Run(fmt.Sprintf("cells=%d/items=%d", size.cells, size.items), func(b *testing.B) {
			var buf bytes.Buffer
			writeAuctionState(&buf, size.cells, size.items, 10, 1)
			data := buf.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			alg, err := auction.New(auction.DefaultAlgorithm)
			if err != nil {
				b.Fatal(err)
			}
			var dec, sched, enc time.Duration
			for b.Loop() {
				t0 := processCPU()
				in, err := auction.DecodeInput(data)
				if err != nil {
					b.Fatal(err)
				}
				t1 := processCPU()
				res := in.State.Schedule(in.Batch, alg, rand.New(rand.NewPCG(1, 0x6175637469)))
				t2 := processCPU()
				if _, err := auction.EncodeResults(res); err != nil {
					b.Fatal(err)
				}
				dec, sched, enc = dec+t1-t0, sched+t2-t1, enc+processCPU()-t2
			}
			n := float64(b.N)
			// CPU seconds of the process (the collector's threads too): on a shared
			// machine they say more than the wall time.
			b.ReportMetric(dec.Seconds()/n, "decode-cpu-s/op")
			b.ReportMetric(sched.Seconds()/n, "schedule-cpu-s/op")
			b.ReportMetric(enc.Seconds()/n, "encode-cpu-s/op")
		})
	}
}
