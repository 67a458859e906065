package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/diegolab/diegolab/bench/queue"
	"github.com/diegolab/diegolab/bench/sweep"
	"github.com/diegolab/diegolab/internal/pgtest"
)

// BenchmarkSweepScaling compares a local matrix at -j N with N queue worker processes
// (-j 1 each) on this machine, for N = 1, 2, 4: the goal is runs/s through the
// queue within 10 % of the local figure at the same parallelism. The matrix is 200 runs
// of the tiny scenario for 12 simulated hours (about 0.1-0.2 s each). Both sides run as
// separate diegolab processes, timed from start to exit; cpu-cores is their user +
// system CPU time over the wall time (PostgreSQL's own CPU is not in it). The queue
// side's wall includes the workers' start (connection, River client) and their last
// check that the queue is empty, but not the enqueue.
func BenchmarkSweepScaling(b *testing.B) {
	spec := writeSpecSeeds(b, "12h", "1-50")
	const runs = 200
	pg := pgtest.Start(b)
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("local-j%d", n), func(b *testing.B) {
			var wall, cpu time.Duration
			for i := 0; i < b.N; i++ {
				cmd := diegolabCmd(b, "bench", spec, "-j", strconv.Itoa(n), "-q", "--out", filepath.Join(b.TempDir(), "local"))
				t0 := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				wall += time.Since(t0)
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			report(b, runs, wall, cpu)
		})
		b.Run(fmt.Sprintf("queue-%dworkers", n), func(b *testing.B) {
			var wall, cpu time.Duration
			for i := 0; i < b.N; i++ {
				url := pg.CreateDB(b, fmt.Sprintf("scaling_%d_%d_%d", n, i, time.Now().UnixNano()%1e6))
				bu, sp, err := sweep.NewBundle(spec, "")
				if err != nil {
					b.Fatal(err)
				}
				q, err := queue.Open(context.Background(), url)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := q.Enqueue(context.Background(), bu, sp, version); err != nil {
					b.Fatal(err)
				}
				q.Close()
				var cmds []*exec.Cmd
				t0 := time.Now()
				for w := 0; w < n; w++ {
					cmd := diegolabCmd(b, "bench", "worker", "--queue", url, "-j", "1")
					cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
					cmds = append(cmds, cmd)
				}
				for _, cmd := range cmds {
					if err := cmd.Wait(); err != nil {
						b.Fatal(err)
					}
					cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
				wall += time.Since(t0)
			}
			report(b, runs, wall, cpu)
		})
	}
}

func report(b *testing.B, runs int, wall, cpu time.Duration) {
	b.ReportMetric(float64(runs*b.N)/wall.Seconds(), "runs/s")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores")
}
