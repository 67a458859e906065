package live

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/diegolab/diegolab/record"
)

// RecordDir is where `live record` and `live down` write the run record by default,
// inside the cluster directory.
const RecordDir = "record"

// Record fetches the cluster's run record from the BBS into out: summary.json,
// events.jsonl, cells.csv, placements.csv and timeseries.csv, the files of a simulated
// run's record (written by the same code), so that `diegolab report` and `compare`
// read them as they are. Each file is replaced whole.
func Record(ctx context.Context, dir, out string) error {
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		return err
	}
	cl, err := cfg.NewClient(time.Minute)
	if err != nil {
		return err
	}
	var f record.Files
	if err := cl.Do(ctx, http.MethodGet, "/v1/record", nil, &f); err != nil {
		return fmt.Errorf("run record: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("run record: %w", err)
	}
	tmp, err := os.CreateTemp(out, ".events-*.jsonl")
	if err != nil {
		return fmt.Errorf("run record: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err = cl.DoRaw(ctx, http.MethodGet, "/v1/record?events=1", nil, "", tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("run record: %s: %w", record.EventsFile, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(out, record.EventsFile)); err != nil {
		return fmt.Errorf("run record: %w", err)
	}
	if err := record.WriteFiles(out, &f); err != nil {
		return fmt.Errorf("run record: %w", err)
	}
	if err := recordDocker(ctx, dir, out, cl); err != nil {
		return fmt.Errorf("run record: %s: %w", DockerRecordFile, err)
	}
	return nil
}
