package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/reports"
)

// Output file names inside a bench directory.
const (
	ResultsFile   = "results.csv"
	PerfFile      = "perf.csv"
	SummaryCSV    = "summary.csv"
	SummaryMD     = "summary.md"
	CompareHTML   = "compare.html"
	RunsDir       = "runs"
	keyColumns    = 4 // scenario, algorithm, settings, seed
	fixedColumns  = 8 // + trace_hash, events, desired_instances, running_instances
	defaultOutDir = "out/bench"
)

// perfColumns follow the key columns in perf.csv: wall-clock figures that depend on the
// machine and never enter results.csv.
//
// The phase columns split a run the way perf.json does: load_s (scenario parsed and
// validated), build_s (cells, control plane, instant 0), simulate_s (the rest of the
// run), write_s (metrics and, for a representative run, its record). peak_rss_bytes and
// peak_live_heap_bytes are the process's, so far: with several workers they cover
// every run in flight, not this run alone.
var perfColumns = []string{"wall_s", "events_per_s", "sim_to_wall", "auction_batches", "wall_per_batch_ms", "compaction_runs",
	"load_s", "build_s", "simulate_s", "write_s", "peak_rss_bytes", "peak_live_heap_bytes"}

// Options control Execute.
type Options struct {
	Out      string    // bench directory (default out/bench/<spec name>)
	Workers  int       // parallel simulations (default runtime.GOMAXPROCS(0))
	Progress io.Writer // progress bar with ETA; nil for none
	Log      io.Writer // one-line notes (resume, interruption, failures); nil for none
	// OnRow, when set, is called after each row is written and flushed, with the run and
	// the rows written so far by this call; it runs on Execute's goroutine.
	OnRow func(r Run, written int)
	// Select, when set, keeps only the runs of the matrix (index i in matrix order) for
	// which it returns true: one shard of a matrix split over machines. A selection
	// writes results.csv, perf.csv and its representative run records, but no summaries
	// and no HTML comparison: those need the whole matrix (see package sweep's Merge).
	Select func(i int, r Run) bool
}

// Report says what Execute did.
type Report struct {
	Out                          string
	Total, Skipped, Done, Failed int
	Interrupted                  bool
	Wall                         time.Duration
	Failures                     []string // "<run>: <error>", in completion order
}

// ResultsHeader is the header of results.csv for the given metrics.
func ResultsHeader(metrics []string) []string {
	return append([]string{"scenario", "algorithm", "settings", "seed", "trace_hash", "events", "desired_instances", "running_instances"}, metrics...)
}

type job struct {
	run      Run
	outDir   string // representative run record, or ""
	writeRow bool
}

type result struct {
	job  job
	row  []string
	perf []string
	err  error
}

// Execute runs every run of spec not already in <out>/results.csv, on Workers
// goroutines (one simulation each), appending and flushing one row per finished run.
// When ctx is cancelled no new run starts; the runs in flight finish and are kept, and
// the Report says Interrupted. After a complete matrix it writes summary.csv,
// summary.md and, with spec.HTML and at least two algorithm x setting cells, the HTML
// comparison of one representative run per cell (the first seed, in runs/).
func Execute(ctx context.Context, spec *Spec, o Options) (*Report, error) {
	start := time.Now()
	if o.Out == "" {
		o.Out = filepath.Join(defaultOutDir, spec.Name)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	runs, err := spec.Expand()
	if err != nil {
		return nil, err
	}
	if o.Select != nil {
		var sel []Run
		for i, r := range runs {
			if o.Select(i, r) {
				sel = append(sel, r)
			}
		}
		runs = sel
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	header := ResultsHeader(spec.Metrics)
	resultsPath := filepath.Join(o.Out, ResultsFile)
	done, err := readDone(resultsPath, header)
	if err != nil {
		return nil, err
	}
	rep := &Report{Out: o.Out, Total: len(runs)}
	var todo []job
	for _, r := range runs {
		j := job{run: r, writeRow: !done[r.Key()]}
		if !j.writeRow {
			rep.Skipped++
		}
		if spec.HTML && r.Seed == spec.Seeds[0] {
			// The representative run record: (re)made when missing, even for a done row.
			j.outDir = filepath.Join(o.Out, RunsDir, runDirName(r))
			if _, err := os.Stat(filepath.Join(j.outDir, record.SummaryFile)); err == nil {
				j.outDir = ""
			} else if err := os.MkdirAll(j.outDir, 0o755); err != nil {
				return nil, err
			}
		}
		if j.writeRow || j.outDir != "" {
			todo = append(todo, j)
		}
	}
	if rep.Skipped > 0 {
		logf("resuming %s: %d of %d runs already in %s", spec.Name, rep.Skipped, len(runs), resultsPath)
	}
	rw, err := openAppend(resultsPath, header)
	if err != nil {
		return nil, err
	}
	defer rw.close()
	pw, err := openAppend(filepath.Join(o.Out, PerfFile), PerfHeader())
	if err != nil {
		return nil, err
	}
	defer pw.close()

	var bar *progressbar.ProgressBar
	if o.Progress != nil && len(todo) > 0 {
		bar = progressbar.NewOptions(len(todo), progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription(spec.Name), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(30),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(o.Progress) }))
	}

	jobs := make(chan job)
	results := make(chan result)
	go func() {
		defer close(jobs)
		for _, j := range todo {
			select {
			case <-ctx.Done():
				return
			case jobs <- j:
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- execute(j, spec.Metrics)
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	var writeErr error
	for res := range results {
		if bar != nil {
			bar.Add(1)
		}
		if res.err != nil {
			rep.Failed++
			rep.Failures = append(rep.Failures, res.job.run.Label()+": "+res.err.Error())
			continue
		}
		if !res.job.writeRow || writeErr != nil {
			continue
		}
		if err := rw.write(res.row); err != nil {
			writeErr = err
			continue
		}
		if err := pw.write(res.perf); err != nil {
			writeErr = err
			continue
		}
		rep.Done++
		if o.OnRow != nil {
			o.OnRow(res.job.run, rep.Done)
		}
	}
	rep.Wall = time.Since(start)
	if writeErr != nil {
		return rep, writeErr
	}
	if ctx.Err() != nil && rep.Skipped+rep.Done+rep.Failed < rep.Total {
		rep.Interrupted = true
		logf("interrupted: %d of %d runs in %s; run the same command again to resume", rep.Skipped+rep.Done, rep.Total, resultsPath)
		return rep, nil
	}
	for _, f := range rep.Failures {
		logf("failed: %s", f)
	}
	if o.Select == nil {
		if err := Finish(spec, runs, o.Out, o.Log); err != nil {
			return rep, err
		}
	}
	if rep.Failed > 0 {
		return rep, fmt.Errorf("%d of %d runs failed (first: %s)", rep.Failed, rep.Total, rep.Failures[0])
	}
	return rep, nil
}

// Finish writes what follows a complete matrix into dir, whose results.csv holds its
// rows: summary.csv, summary.md and, with spec.HTML and at least two representative run
// records in runs/, compare.html. runs is the matrix (Spec.Expand). Warnings of the
// HTML comparison go to warn (nil: none).
func Finish(spec *Spec, runs []Run, dir string, warn io.Writer) error {
	if err := writeSummaries(spec, runs, dir, ResultsHeader(spec.Metrics)); err != nil {
		return err
	}
	if !spec.HTML {
		return nil
	}
	var dirs []string
	seen := map[string]bool{}
	for _, r := range runs {
		d := filepath.Join(dir, RunsDir, runDirName(r))
		if seen[d] {
			continue
		}
		seen[d] = true
		if _, err := os.Stat(filepath.Join(d, record.SummaryFile)); err == nil {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) < 2 {
		return nil
	}
	if warn == nil {
		warn = io.Discard
	}
	if err := reports.WriteCompare(dirs, filepath.Join(dir, CompareHTML), reports.Options{Warn: warn}); err != nil {
		return fmt.Errorf("HTML comparison: %w", err)
	}
	return nil
}

// PerfHeader is the header of perf.csv.
func PerfHeader() []string {
	return append([]string{"scenario", "algorithm", "settings", "seed"}, perfColumns...)
}

// RunOne simulates one run alone, as a worker of Execute does, and returns its
// results.csv and perf.csv rows. With recordDir set (an existing directory) it also
// writes the run record there (without events.jsonl), as Execute does for the
// representative runs.
func RunOne(r Run, metrics []string, recordDir string) (row, perf []string, err error) {
	res := execute(job{run: r, outDir: recordDir, writeRow: true}, metrics)
	return res.row, res.perf, res.err
}

// Representative reports whether Execute keeps r's run record for the HTML
// comparison (spec.HTML and the spec's first seed), and RecordName the directory under
// runs/ that holds it.
func (s *Spec) Representative(r Run) bool { return s.HTML && r.Seed == s.Seeds[0] }

// RecordName is the directory of r's representative run record under runs/.
func (r Run) RecordName() string { return runDirName(r) }

// Label names a run in messages.
func (r Run) Label() string {
	return fmt.Sprintf("%s/%s/%s/seed %d", r.Scenario, r.Algorithm, r.Settings, r.Seed)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._=-]+`)

// runDirName is the directory of a representative run record under runs/.
func runDirName(r Run) string {
	return unsafeName.ReplaceAllString(r.Scenario+"__"+r.Algorithm+"__"+r.Settings, "_")
}

// execute simulates one run and computes its row.
func execute(j job, metrics []string) result {
	res := result{job: j}
	r := j.run
	t0 := time.Now()
	sc, err := r.Load()
	if err != nil {
		res.err = err
		return res
	}
	load := time.Since(t0)
	s, err := sim.New(sc, sim.Options{OutDir: j.outDir, NoEvents: true})
	if err != nil {
		res.err = err
		return res
	}
	t0 = time.Now()
	sum, err := s.Run()
	wall := time.Since(t0)
	if err != nil {
		res.err = err
		return res
	}
	t1 := time.Now()
	m := Compute(Outcome{Scenario: sc, Summary: sum, Cells: s.CellRows(), Placements: s.PlacementRows()})
	compRuns := 0
	if slices.Contains(metrics, MCompactionCells) || slices.Contains(metrics, MCompactionRatio) {
		c, err := Compaction(r)
		if err != nil {
			res.err = fmt.Errorf("compaction: %w", err)
			return res
		}
		m[MCompactionCells], m[MCompactionRatio], compRuns = float64(c.Cells), c.Ratio, c.Runs
		if math.IsNaN(c.Ratio) {
			m[MCompactionCells] = math.NaN()
		}
	}
	res.row = []string{r.Scenario, r.Algorithm, r.Settings, strconv.FormatUint(r.Seed, 10), sum.TraceHash,
		strconv.FormatUint(sum.Events, 10), strconv.Itoa(sum.DesiredInstances), strconv.Itoa(sum.RunningInstances)}
	for _, name := range metrics {
		res.row = append(res.row, formatFloat(m[name]))
	}
	secs := wall.Seconds()
	res.perf = []string{r.Scenario, r.Algorithm, r.Settings, strconv.FormatUint(r.Seed, 10),
		formatFloat(secs), formatFloat(ratio(float64(sum.Events), secs)), formatFloat(ratio(sum.SimSeconds, secs)),
		strconv.Itoa(sum.Auction.Batches), formatFloat(1000 * ratio(secs, float64(sum.Auction.Batches))), strconv.Itoa(compRuns)}
	ph := s.Phases()
	write := ph.Write + time.Since(t1) // the record (representative runs) and the metrics
	res.perf = append(res.perf, formatFloat(load.Seconds()), formatFloat(ph.Build.Seconds()), formatFloat(ph.Simulate.Seconds()),
		formatFloat(write.Seconds()), strconv.FormatUint(sim.PeakRSS(), 10), strconv.FormatUint(s.PeakLiveHeap(), 10))
	return res
}

// formatFloat writes a metric with at most 6 decimals, the shortest form that round-trips
// that rounding ("NaN" for an undefined value).
func formatFloat(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	return strconv.FormatFloat(math.Round(x*1e6)/1e6, 'f', -1, 64)
}

// readDone returns the keys of the rows already in results.csv (none if the file does
// not exist). A header that differs from want is an error: the directory belongs to
// another spec. A last line cut short by a kill is tolerated and dropped.
func readDone(path string, want []string) (map[string]bool, error) {
	done := map[string]bool{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return done, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if !slices.Equal(head, want) {
		return nil, fmt.Errorf("%s has columns %s, but this spec writes %s: use another --out directory", path, strings.Join(head, ","), strings.Join(want, ","))
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return done, nil
		}
		if err != nil || len(rec) != len(want) {
			// Only the last line may be incomplete (a kill mid-write): anything after it is an error.
			if _, err2 := cr.Read(); err2 == io.EOF {
				return done, nil
			}
			return nil, fmt.Errorf("%s: line %d: malformed row (%d fields, want %d)", path, line, len(rec), len(want))
		}
		done[strings.Join(rec[:keyColumns-1], "\x00")+"\x00"+rec[keyColumns-1]] = true
	}
}

// csvAppender appends rows to a CSV file, flushing after each.
type csvAppender struct {
	f *os.File
	w *csv.Writer
}

// openAppend opens path for appending, writing header first when the file is new or
// empty. A last line without a newline (cut short by a kill) is truncated away.
func openAppend(path string, header []string) (*csvAppender, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		i := strings.LastIndexByte(string(b), '\n')
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	a := &csvAppender{f: f, w: csv.NewWriter(f)}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() == 0 {
		if err := a.write(header); err != nil {
			f.Close()
			return nil, err
		}
	}
	return a, nil
}

func (a *csvAppender) write(rec []string) error {
	if err := a.w.Write(rec); err != nil {
		return err
	}
	a.w.Flush()
	return a.w.Error()
}

func (a *csvAppender) close() { a.f.Close() }
