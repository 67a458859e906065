package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/bench/sweep"
	"github.com/diegolab/diegolab/internal/benchtest"
)

// BenchmarkQueueOverhead measures what the queue adds to each run (the goal:
// under 50 ms for enqueue + claim + result write), on 1,000 tiny runs (the tiny
// scenario for 10 simulated seconds: about a millisecond of simulation each) worked by
// one worker at -j 1 on the same machine as the database, against the same matrix run
// locally with -j 1 (bench.Execute):
//
//	overhead-ms/run = (enqueue wall + work wall - local wall) / runs
//
// enqueue-ms/run is the enqueue alone, local-ms/run the local run's wall per run and
// sim-ms/run the runs' own simulation time (wall_s of perf.csv).
func BenchmarkQueueOverhead(b *testing.B) {
	const runs = 1000
	_, spec := benchtest.WriteSpec(b, benchtest.TinyScenario, `name = "overhead"
seeds = "1-250"
algorithms = ["diego", "best-fit"]
set = ['run.duration="10s"']
[settings]
"auction.bin_pack_first_fit_weight" = [0, 0.5]
[[scenarios]]
file = "tiny.toml"
`)
	srv := pg.Get(b)
	ctx := context.Background()
	var enqueue, work, own, local time.Duration
	for i := 0; i < b.N; i++ {
		lspec, err := bench.LoadSpec(spec)
		if err != nil {
			b.Fatal(err)
		}
		t := time.Now()
		if _, err := bench.Execute(ctx, lspec, bench.Options{Out: filepath.Join(b.TempDir(), "local"), Workers: 1}); err != nil {
			b.Fatal(err)
		}
		local += time.Since(t)
		q, err := Open(ctx, srv.CreateDB(b, fmt.Sprintf("overhead_%d_%d", time.Now().UnixNano()%1e9, i)))
		if err != nil {
			b.Fatal(err)
		}
		bu, sp, err := sweep.NewBundle(spec, "")
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		rep, err := q.Enqueue(ctx, bu, sp, "bench")
		if err != nil || rep.Added != runs {
			b.Fatalf("enqueue: %+v, %v", rep, err)
		}
		t1 := time.Now()
		wr, err := q.Work(ctx, WorkerOptions{Version: "bench", Workers: 1})
		if err != nil || wr.Done != runs {
			b.Fatalf("work: %+v, %v", wr, err)
		}
		t2 := time.Now()
		enqueue += t1.Sub(t0)
		work += t2.Sub(t1)
		rows, err := q.pool.Query(ctx, "SELECT perf[5] FROM diegolab_result WHERE sweep = $1", rep.Sweep)
		if err != nil {
			b.Fatal(err)
		}
		walls, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(walls) != runs {
			b.Fatalf("%d perf rows, %v", len(walls), err)
		}
		for _, w := range walls {
			s, err := strconv.ParseFloat(w, 64)
			if err != nil {
				b.Fatal(err)
			}
			own += time.Duration(s * float64(time.Second))
		}
		q.Close()
	}
	n := float64(b.N * runs)
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / n }
	b.ReportMetric(ms(enqueue+work-local), "overhead-ms/run")
	b.ReportMetric(ms(enqueue), "enqueue-ms/run")
	b.ReportMetric(ms(local), "local-ms/run")
	b.ReportMetric(ms(own), "sim-ms/run")
}
