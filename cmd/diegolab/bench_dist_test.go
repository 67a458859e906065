package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/internal/benchtest"
	"github.com/diegolab/diegolab/internal/pgtest"
)

// asMainEnv makes this test binary act as the diegolab command (TestMain), so tests can
// run diegolab as separate processes without building it.
const asMainEnv = "DIEGOLAB_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(execute(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// diegolabCmd returns a command that runs diegolab with args in a separate process.
// The process is killed in t.Cleanup if it is still running.
func diegolabCmd(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// TMPDIR: a process killed with SIGKILL cannot remove its temporary files; the
	// test's own directory takes them.
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "TMPDIR="+t.TempDir())
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// writeDistSpec writes a spec of 12 runs (2 algorithms x 2 settings x 3 seeds of the
// tiny scenario for duration) and returns its path.
func writeDistSpec(t testing.TB, duration string) string {
	return writeSpecSeeds(t, duration, "1-3")
}

// writeSpecSeeds is writeDistSpec with the seeds given: 4 runs per seed.
func writeSpecSeeds(t testing.TB, duration, seeds string) string {
	t.Helper()
	_, p := benchtest.WriteSpec(t, benchtest.TinyScenario, `name = "dist"
seeds = "`+seeds+`"
algorithms = ["diego", "best-fit"]
set = ['run.duration="`+duration+`"']
[settings]
"auction.bin_pack_first_fit_weight" = [0, 0.5]
[[scenarios]]
file = "tiny.toml"
`)
	return p
}

// localRun runs the spec on one machine with -j 1 and returns its output directory.
func localRun(t *testing.T, spec string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "local")
	if code, _, stderr := capture(t, "bench", spec, "--out", out, "-j", "1", "-q"); code != 0 {
		t.Fatalf("local bench: exit %d: %s", code, stderr)
	}
	return out
}

// sameFiles checks that the named files of two bench directories are byte-identical.
func sameFiles(t *testing.T, want, got string, files ...string) {
	t.Helper()
	for _, f := range files {
		a, errA := os.ReadFile(filepath.Join(want, f))
		b, errB := os.ReadFile(filepath.Join(got, f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the local run's (%v, %v)\nlocal:\n%s\ngot:\n%s", f, errA, errB, a, b)
		}
	}
}

// TestShardsMergeEqualsLocal runs docs/distributed/slurm-array.sh as Slurm would, three
// array tasks at once in separate processes, merges their shards and checks that
// results.csv, summary.csv and summary.md are the local run's byte for byte.
func TestShardsMergeEqualsLocal(t *testing.T) {
	spec := writeDistSpec(t, "3m")
	local := localRun(t, spec)
	shards := filepath.Join(t.TempDir(), "shards")
	script, err := filepath.Abs("../../docs/distributed/slurm-array.sh")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range 3 {
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), asMainEnv+"=1", "DIEGOLAB="+os.Args[0], "SPEC="+spec, "OUT="+shards,
			"SLURM_ARRAY_TASK_ID="+string(rune('0'+i)), "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_COUNT=3", "SLURM_CPUS_PER_TASK=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("array task %d: %v\n%s", i, err, outs[i])
		}
	}
	dirs := []string{filepath.Join(shards, "shard-0"), filepath.Join(shards, "shard-1"), filepath.Join(shards, "shard-2")}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, bench.SummaryCSV)); err == nil {
			t.Errorf("%s has a summary of its own: a shard's summary would be a partial one", d)
		}
	}
	// A shard missing is named.
	code, _, stderr := capture(t, "bench", "merge", dirs[0], dirs[2], "-o", filepath.Join(t.TempDir(), "m"))
	if code != 2 || !strings.Contains(stderr, "1 of 3 shards missing: 1") {
		t.Errorf("merge without shard 1: exit %d, %s", code, stderr)
	}
	merged := filepath.Join(t.TempDir(), "merged")
	code, stdout, stderr := capture(t, "bench", "merge", dirs[2], dirs[0], dirs[1], "-o", merged)
	if code != 0 || !strings.Contains(stdout, "bench dist: 3 shards, 12 runs") {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	sameFiles(t, local, merged, bench.ResultsFile, bench.SummaryCSV, bench.SummaryMD)
	if st, err := os.Stat(filepath.Join(merged, bench.CompareHTML)); err != nil || st.Size() == 0 {
		t.Errorf("merged compare.html: %v", err)
	}
	// Rerunning a task into its directory resumes; another shard there is refused.
	code, stdout, _ = capture(t, "bench", spec, "--shard", "1/3", "--out", dirs[1])
	if code != 0 || !strings.Contains(stdout, "4 runs (0 new, 4 already done)") {
		t.Errorf("rerun of shard 1: exit %d, %s", code, stdout)
	}
	code, _, stderr = capture(t, "bench", spec, "--shard", "2/3", "--out", dirs[1])
	if code != 2 || !strings.Contains(stderr, "holds shard 1/3") {
		t.Errorf("shard 2 into shard 1's directory: exit %d, %s", code, stderr)
	}
}

// TestQueueKilledWorkerLosesNothing is the queue end to end on PostgreSQL: the spec is
// enqueued (twice: nothing is added the second time), three worker processes take the
// runs, one is killed with SIGKILL in the middle of a run, River's rescuer hands that
// run to another worker, and the collected results.csv, summary.csv and summary.md
// equal a local single-process run's byte for byte (row for row, trace hash for trace
// hash).
func TestQueueKilledWorkerLosesNothing(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.CreateDB(t, "bench_e2e")
	spec := writeDistSpec(t, "48h") // about half a second a run: long enough to kill one mid-run
	local := localRun(t, spec)

	code, stdout, stderr := capture(t, "bench", spec, "--queue", url)
	if code != 0 || !strings.Contains(stdout, "12 runs (diegolab "+version+"): 12 enqueued now, 0 already queued, 0 already done") {
		t.Fatalf("enqueue: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = capture(t, "bench", spec, "--queue", url)
	if code != 0 || !strings.Contains(stdout, "0 enqueued now, 12 already queued") {
		t.Fatalf("second enqueue: exit %d\n%s", code, stdout)
	}

	// A worker of another build is refused, and says why.
	saved := version
	version = "other-build"
	code, _, stderr = capture(t, "bench", "worker", "--queue", url)
	version = saved
	if code != 2 || !strings.Contains(stderr, "was enqueued by diegolab "+saved+", and this is diegolab other-build") {
		t.Errorf("worker of another version: exit %d, %s", code, stderr)
	}

	type worker struct {
		cmd *exec.Cmd
		out bytes.Buffer
	}
	var workers []*worker
	killed := make(chan string, 1) // the label of the run the victim was killed in
	var victimLog bytes.Buffer
	for i, id := range []string{"victim", "w2", "w3"} {
		w := &worker{cmd: diegolabCmd(t, "bench", "worker", "--queue", url, "-j", "1", "--rescue-after", "5s", "--id", id)}
		w.cmd.Stdout = &w.out
		if i == 0 {
			pr, pw := io.Pipe()
			w.cmd.Stderr = pw
			go func() {
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					line := sc.Text()
					victimLog.WriteString(line + "\n")
					if _, label, ok := strings.Cut(line, ": start "); ok {
						w.cmd.Process.Kill() // SIGKILL, in the middle of the run
						killed <- strings.TrimSuffix(label, " (attempt 1)")
						break
					}
				}
				io.Copy(io.Discard, pr)
			}()
			defer pw.Close()
		} else {
			w.cmd.Stderr = &w.out
		}
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
	}
	var label string
	select {
	case label = <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the victim never started a run:\n%s", victimLog.String())
	}
	if err := workers[0].cmd.Wait(); err == nil {
		t.Fatalf("the victim exited normally: it was not killed")
	}
	t.Logf("killed the victim during %s", label)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, w := range workers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			go func() { done <- w.cmd.Wait() }()
			select {
			case errs[i+1] = <-done:
			case <-time.After(4 * time.Minute): // the rescuer runs every 30 s on the leader
				w.cmd.Process.Kill()
				errs[i+1] = <-done
			}
		}()
	}
	wg.Wait()
	for i, w := range workers[1:] {
		if errs[i+1] != nil {
			t.Fatalf("worker %d: %v\n%s", i+2, errs[i+1], w.out.String())
		}
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var attempts int
	var by string
	if err := conn.QueryRow(ctx, `SELECT j.attempt, r.worker FROM river_job j JOIN diegolab_result r ON r.sweep = j.args->>'sweep' AND r.idx = (j.args->>'index')::int
		WHERE j.args->>'label' = $1`, label).Scan(&attempts, &by); err != nil {
		t.Fatalf("the killed run %s: %v", label, err)
	}
	if attempts < 2 || by == "victim" {
		t.Errorf("the killed run %s: %d attempts, result by %s; want a second attempt by another worker", label, attempts, by)
	}
	var results int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM diegolab_result").Scan(&results); err != nil || results != 12 {
		t.Errorf("%d results in the database, want 12 (%v)", results, err)
	}

	code, stdout, _ = capture(t, "bench", "status", "--queue", url)
	if code != 0 || !strings.Contains(stdout, "12 of 12 runs done (100.0 %), 0 running, 0 waiting, 0 failed") {
		t.Errorf("status: exit %d\n%s", code, stdout)
	}
	collected := filepath.Join(t.TempDir(), "collected")
	code, stdout, stderr = capture(t, "bench", "collect", "dist", "--queue", url, "-o", collected)
	if code != 0 {
		t.Fatalf("collect: exit %d\n%s%s", code, stdout, stderr)
	}
	sameFiles(t, local, collected, bench.ResultsFile, bench.SummaryCSV, bench.SummaryMD)
	if st, err := os.Stat(filepath.Join(collected, bench.CompareHTML)); err != nil || st.Size() == 0 {
		t.Errorf("collected compare.html: %v", err)
	}
}

// TestBenchDistUsageErrors: the distributed flags' bad input exits 2 with a message
// that says what is expected.
func TestBenchDistUsageErrors(t *testing.T) {
	spec := writeDistSpec(t, "3m")
	t.Setenv(queueEnv, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"shard out of range", []string{"bench", spec, "--shard", "3/3"}, "I must be 0..2"},
		{"shard syntax", []string{"bench", spec, "--shard", "one"}, "want I/N"},
		{"shard and queue", []string{"bench", spec, "--shard", "0/2", "--queue", "postgres://x@/y"}, "exclude each other"},
		{"worker without queue", []string{"bench", "worker"}, "give --queue postgres://... or set DIEGOLAB_QUEUE"},
		{"collect without out", []string{"bench", "collect", "--queue", "postgres://x@/y"}, "collect needs -o DIR"},
		{"merge without out", []string{"bench", "merge", "a"}, "merge needs -o DIR"},
		{"merge of a plain directory", []string{"bench", "merge", t.TempDir(), "-o", t.TempDir()}, "not a shard directory"},
		{"worker rescue too short", []string{"bench", "worker", "--queue", "postgres://x@/y", "--rescue-after", "10ms"}, "--rescue-after must be at least 1s"},
		{"worker negative prefetch", []string{"bench", "worker", "--queue", "postgres://x@/y", "--prefetch", "-1"}, "--prefetch must be 0..4096, got -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := capture(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}
