package queue

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/bench/sweep"
)

// CollectReport says what Collect did.
type CollectReport struct {
	Sweep        string
	Name         string
	Runs, Failed int
	Out          string
}

// Collect writes the sweep sel names (see Find) into out as a local `diegolab bench`
// with -j 1 would: results.csv and perf.csv in matrix order, the representative run
// records in runs/, summary.csv, summary.md and compare.html (bench.Finish); for a
// sweep enqueued with Bundle.Records, every run's record in records/. It
// refuses while runs are still waiting or running, and refuses a sweep of another
// diegolab version. Failed runs are left out of the files, as locally, and make the
// returned error.
func (q *Queue) Collect(ctx context.Context, sel, out, version string, warn io.Writer) (*CollectReport, error) {
	s, err := q.Find(ctx, sel)
	if err != nil {
		return nil, err
	}
	if s.Version != version {
		return nil, &VersionError{Sweep: s.ID, Name: s.Name, SweepVersion: s.Version, Version: version}
	}
	st, err := q.status(ctx, *s)
	if err != nil {
		return nil, err
	}
	if st.Running+st.Waiting+st.Missing > 0 {
		return nil, fmt.Errorf("sweep %s (%s) is not finished: %d of %d runs done, %d running, %d waiting, %d not queued; see diegolab bench status",
			s.ID, s.Name, st.Done, s.Runs, st.Running, st.Waiting, st.Missing)
	}
	tmp, err := os.MkdirTemp("", "diegolab-collect-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	spec, runs, err := s.load(ctx, q, tmp)
	if err != nil {
		return nil, err
	}
	header := bench.ResultsHeader(spec.Metrics)
	results := make([][]string, len(runs))
	perf := make([][]string, len(runs))
	rows, err := q.pool.Query(ctx, "SELECT idx, row, perf FROM diegolab_result WHERE sweep = $1", s.ID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var i int
		var row, pr []string
		if err := rows.Scan(&i, &row, &pr); err != nil {
			rows.Close()
			return nil, err
		}
		if i < 0 || i >= len(runs) || len(row) != len(header) || len(pr) != len(bench.PerfHeader()) {
			rows.Close()
			return nil, fmt.Errorf("sweep %s: result %d does not fit the matrix (%d runs, %d columns)", s.ID, i, len(runs), len(header))
		}
		results[i], perf[i] = row, pr
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(out, bench.RunsDir), 0o755); err != nil {
		return nil, err
	}
	for i, r := range runs {
		if results[i] == nil || !(spec.Representative(r) || s.records) {
			continue
		}
		var rec []byte
		if err := q.pool.QueryRow(ctx, "SELECT record FROM diegolab_result WHERE sweep = $1 AND idx = $2", s.ID, i).Scan(&rec); err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		var dirs []string
		if spec.Representative(r) {
			dirs = append(dirs, filepath.Join(out, bench.RunsDir, r.RecordName()))
		}
		if s.records {
			dirs = append(dirs, filepath.Join(out, RecordsDir, fmt.Sprintf("%s__seed-%d", r.RecordName(), r.Seed)))
		}
		for _, dir := range dirs {
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
			if err := extractArchive(rec, dir); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Label(), err)
			}
		}
	}
	if err := sweep.WriteCSV(filepath.Join(out, bench.ResultsFile), header, compact(results)); err != nil {
		return nil, err
	}
	if err := sweep.WriteCSV(filepath.Join(out, bench.PerfFile), bench.PerfHeader(), compact(perf)); err != nil {
		return nil, err
	}
	if err := bench.Finish(spec, runs, out, warn); err != nil {
		return nil, err
	}
	rep := &CollectReport{Sweep: s.ID, Name: s.Name, Runs: len(runs), Failed: st.Failed, Out: out}
	if st.Failed > 0 {
		return rep, fmt.Errorf("%d of %d runs failed: %s", st.Failed, len(runs), strings.Join(st.Failures, "; "))
	}
	return rep, nil
}

// RecordsDir holds every run's record in a collected sweep enqueued with records
// (<scenario>__<algorithm>__<settings>__seed-<seed>).
const RecordsDir = "records"

func compact(rows [][]string) [][]string {
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}
