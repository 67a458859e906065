package queue

import (
	"context"
	"fmt"
	"time"
)

// Status is the progress of a sweep.
type Status struct {
	Sweep
	Done    int // runs with a result
	Running int // runs a worker holds now
	Waiting int // runs queued (available, scheduled, retryable after a lost worker)
	Failed  int // runs whose last job failed and that have no result
	Missing int // runs with neither a result nor a job (not enqueued, or their job was deleted)
	// Rate is finished runs per second over the last 10 minutes (0 when fewer than
	// two finished in that window), and ETA the time the remaining runs take at it.
	Rate     float64
	ETA      time.Duration
	Failures []string // the last error of each failed run (at most 5)
	Workers  []string // IDs of the workers that wrote results in the last 10 minutes
}

// Status reports the progress of every sweep (sel empty) or of the sweep sel names
// (see Find).
func (q *Queue) Status(ctx context.Context, sel string) ([]Status, error) {
	var sweeps []Sweep
	if sel == "" {
		var err error
		if sweeps, err = q.Sweeps(ctx); err != nil {
			return nil, err
		}
	} else {
		s, err := q.Find(ctx, sel)
		if err != nil {
			return nil, err
		}
		sweeps = []Sweep{*s}
	}
	var out []Status
	for _, s := range sweeps {
		st, err := q.status(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (q *Queue) status(ctx context.Context, s Sweep) (Status, error) {
	st := Status{Sweep: s}
	state := map[int]string{} // run index -> summary state of its jobs
	rows, err := q.pool.Query(ctx, `SELECT (args->>'index')::int, state, coalesce(errors[cardinality(errors)]->>'error', '')
		FROM river_job WHERE kind = $1 AND args @> jsonb_build_object('sweep', $2::text) ORDER BY id`, Kind, s.ID)
	if err != nil {
		return st, err
	}
	lastErr := map[int]string{}
	for rows.Next() {
		var i int
		var js, e string
		if err := rows.Scan(&i, &js, &e); err != nil {
			rows.Close()
			return st, err
		}
		switch js {
		case "running":
			state[i] = "running"
		case "available", "scheduled", "retryable", "pending":
			if state[i] != "running" {
				state[i] = "waiting"
			}
		case "cancelled", "discarded":
			if state[i] == "" {
				state[i] = "failed"
				lastErr[i] = e
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	done := map[int]bool{}
	rows, err = q.pool.Query(ctx, "SELECT idx FROM diegolab_result WHERE sweep = $1", s.ID)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			rows.Close()
			return st, err
		}
		done[i] = true
	}
	rows.Close()
	for i := 0; i < s.Runs; i++ {
		switch {
		case done[i]:
			st.Done++
		case state[i] == "running":
			st.Running++
		case state[i] == "waiting":
			st.Waiting++
		case state[i] == "failed":
			st.Failed++
			if len(st.Failures) < 5 {
				st.Failures = append(st.Failures, lastErr[i])
			}
		default:
			st.Missing++
		}
	}
	// The rate comes from the database's clock, so workers' clocks do not matter.
	var n int
	var span float64
	if err := q.pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM max(finished_at) - min(finished_at)), 0)::float8
		FROM diegolab_result WHERE sweep = $1 AND finished_at > now() - interval '10 minutes'`, s.ID).Scan(&n, &span); err != nil {
		return st, err
	}
	if n >= 2 && span > 0 {
		st.Rate = float64(n-1) / span
		left := st.Running + st.Waiting
		st.ETA = time.Duration(float64(left) / st.Rate * float64(time.Second))
	}
	rows, err = q.pool.Query(ctx, `SELECT DISTINCT worker FROM diegolab_result WHERE sweep = $1 AND finished_at > now() - interval '10 minutes' ORDER BY worker`, s.ID)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			rows.Close()
			return st, err
		}
		st.Workers = append(st.Workers, w)
	}
	rows.Close()
	return st, rows.Err()
}

// String renders the status as a few lines for `diegolab bench status`.
func (st Status) String() string {
	s := fmt.Sprintf("sweep %s  %s  (diegolab %s, spec %.12s, enqueued %s)\n", st.ID, st.Name, st.Version, st.SpecHash, st.Created.UTC().Format(time.RFC3339))
	pct := 0.0
	if st.Runs > 0 {
		pct = 100 * float64(st.Done) / float64(st.Runs)
	}
	s += fmt.Sprintf("  %d of %d runs done (%.1f %%), %d running, %d waiting, %d failed", st.Done, st.Runs, pct, st.Running, st.Waiting, st.Failed)
	if st.Missing > 0 {
		s += fmt.Sprintf(", %d not queued (enqueue the spec again)", st.Missing)
	}
	s += "\n"
	switch {
	case st.Running+st.Waiting == 0:
		s += "  nothing left to run\n"
	case st.Rate > 0:
		s += fmt.Sprintf("  %.3g runs/s over the last 10 minutes from %d workers: about %s left\n", st.Rate, len(st.Workers), st.ETA.Round(time.Second))
	default:
		s += "  no run finished in the last 10 minutes: time left not known\n"
	}
	for _, f := range st.Failures {
		s += "  failed: " + f + "\n"
	}
	return s
}
