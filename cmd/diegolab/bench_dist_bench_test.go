package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/diegolab/diegolab/bench/queue"
	"github.com/diegolab/diegolab/bench/sweep"
	"github.com/diegolab/diegolab/internal/pgtest"
)

// scalingSize is a matrix of BenchmarkSweepScaling: its sub-benchmark name, its number
// of runs and how to write its spec.
type scalingSize struct {
	name string
	runs int
	spec func(testing.TB) string
}

var scalingSizes = []scalingSize{
	// tiny: 200 runs of the tiny scenario for 12 simulated hours, 10-15 ms each: the
	// queue's own cost per run at its most visible.
	{"tiny", 200, func(tb testing.TB) string { return writeSpecSeeds(tb, "12h", "1-50") }},
	// real: 32 runs of the scenario of the shipped algorithms-1000 spec (Diego's
	// 250k-test mix on 1,000 cells, 25,000 instances, 10 simulated minutes), about half
	// a second of CPU each: the size of a run in a sweep someone would spread over
	// machines (algorithms-1000 is 1,000 of them).
	{"real", 32, writeRealSpec},
}

// writeRealSpec writes the "real" matrix: 2 algorithms x 16 seeds of algorithms-1000's
// scenario.
func writeRealSpec(tb testing.TB) string {
	tb.Helper()
	src := `name = "scaling-real"
seeds = "1-16"
algorithms = ["diego", "best-fit"]
[[scenarios]]
family = "diego-mix"
cells = 1000
instances_per_cell = 25
duration = "10m"
`
	p := filepath.Join(tb.TempDir(), "spec.toml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkSweepScaling compares a local matrix at -j N with N queue worker processes
// (-j 1 each) on this machine, for N = 1, 2, 4: the goal is runs/s through the
// queue within 10 % of the local figure at the same parallelism. Sub-benchmarks are
// <size>/local-jN and <size>/queue-Nworkers for the sizes of scalingSizes (tiny, real),
// so -bench 'SweepScaling/real' runs one size.
//
// Both sides run as separate diegolab processes, timed from start to exit. cpu-cores
// is their user + system CPU over the wall time; pg-cpu-cores is PostgreSQL's (every
// process of the server, pgtest.Server.CPU) over the same wall, on the queue side;
// cpu-ms/run and pg-cpu-ms/run are the same CPU per run, which a loaded machine
// disturbs far less than the wall time. The queue side's wall includes the workers'
// start (connection, River client) and their last check that the queue is empty, but
// not the enqueue.
//
// With DIEGOLAB_SCALING_CPUPROFILE=DIR each worker writes a CPU profile into
// DIR/<size>-<N>workers-<k>/cpu.pprof (the last iteration's). With
// DIEGOLAB_SCALING_SQLSTATS=1 the server loads pg_stat_statements and each queue
// sub-benchmark logs its statements by total time in the server (-v shows them).
func BenchmarkSweepScaling(b *testing.B) {
	profDir := os.Getenv("DIEGOLAB_SCALING_CPUPROFILE")
	sqlStats := os.Getenv("DIEGOLAB_SCALING_SQLSTATS") != ""
	var pgOpts []pgtest.Options
	if sqlStats {
		pgOpts = append(pgOpts, pgtest.Options{Settings: []string{"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all"}})
	}
	pg := pgtest.Start(b, pgOpts...)
	for _, size := range scalingSizes {
		b.Run(size.name, func(b *testing.B) {
			spec := size.spec(b)
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
					report(b, size.runs, wall, cpu)
				})
				b.Run(fmt.Sprintf("queue-%dworkers", n), func(b *testing.B) {
					var wall, cpu, pgCPU time.Duration
					for i := 0; i < b.N; i++ {
						url := pg.CreateDB(b, fmt.Sprintf("scaling_%s_%d_%d_%d", size.name, n, i, time.Now().UnixNano()%1e6))
						bu, sp, err := sweep.NewBundle(spec, "")
						if err != nil {
							b.Fatal(err)
						}
						if sqlStats {
							sqlExec(b, url, "CREATE EXTENSION pg_stat_statements")
						}
						q, err := queue.Open(context.Background(), url)
						if err != nil {
							b.Fatal(err)
						}
						rep, err := q.Enqueue(context.Background(), bu, sp, version)
						q.Close()
						if err != nil {
							b.Fatal(err)
						}
						if rep.Added != size.runs {
							b.Fatalf("enqueued %d runs, want %d", rep.Added, size.runs)
						}
						var cmds []*exec.Cmd
						if sqlStats {
							sqlExec(b, url, "SELECT pg_stat_statements_reset()")
						}
						pg0 := pgCPUNow(b, pg)
						t0 := time.Now()
						for w := 0; w < n; w++ {
							args := []string{"bench", "worker", "--queue", url, "-j", "1"}
							if profDir != "" {
								args = append(args, "--cpuprofile", filepath.Join(profDir, fmt.Sprintf("%s-%dworkers-%d", size.name, n, w)))
							}
							cmd := diegolabCmd(b, args...)
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
						pgCPU += pgCPUNow(b, pg) - pg0
						if sqlStats {
							logSQLStats(b, url, size.runs)
						}
					}
					report(b, size.runs, wall, cpu)
					b.ReportMetric(pgCPU.Seconds()/wall.Seconds(), "pg-cpu-cores")
					b.ReportMetric(pgCPU.Seconds()*1000/float64(size.runs*b.N), "pg-cpu-ms/run")
				})
			}
		})
	}
}

// pgConn connects to url for the rest of the (sub-)benchmark.
func pgConn(b *testing.B, url string) *pgx.Conn {
	b.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func sqlExec(b *testing.B, url, sql string) {
	b.Helper()
	if _, err := pgConn(b, url).Exec(context.Background(), sql); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}

// logSQLStats logs the statements of the server since the last reset, by total
// execution time, with their calls per run of the sweep.
func logSQLStats(b *testing.B, url string, runs int) {
	b.Helper()
	rows, err := pgConn(b, url).Query(context.Background(), `SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total float64
	lines := ""
	for rows.Next() {
		var calls int64
		var ms float64
		var q string
		if err := rows.Scan(&calls, &ms, &q); err != nil {
			b.Fatal(err)
		}
		total += ms
		lines += fmt.Sprintf("\n%9.1f ms %7d calls %5.2f/run  %s", ms, calls, float64(calls)/float64(runs), q)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	b.Logf("top statements (%.1f ms in all, %.2f ms/run):%s", total, total/float64(runs), lines)
}

func pgCPUNow(b *testing.B, pg *pgtest.Server) time.Duration {
	b.Helper()
	d, err := pg.CPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func report(b *testing.B, runs int, wall, cpu time.Duration) {
	b.ReportMetric(float64(runs*b.N)/wall.Seconds(), "runs/s")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores")
	b.ReportMetric(cpu.Seconds()*1000/float64(runs*b.N), "cpu-ms/run")
}
