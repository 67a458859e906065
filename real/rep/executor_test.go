package rep

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// TestExecutorSizedByCell: the runc executor of a cell learns the cell's container
// count (--containers), which sizes the pids ceiling over all its containers, and
// keeps its state under the rep's directory.
func TestExecutorSizedByCell(t *testing.T) {
	for _, n := range []int{1, 4, 249} {
		cfg := Config{Dir: "/var/x", StackDir: "/s", Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: n}}
		got := executorConfig(cfg, slog.New(slog.DiscardHandler))
		if got.MaxContainers != n {
			t.Errorf("containers %d: executor MaxContainers = %d", n, got.MaxContainers)
		}
		if got.StateDir != filepath.Join("/var/x", "executor") || got.StackDir != "/s" {
			t.Errorf("containers %d: state dir %q, stack %q", n, got.StateDir, got.StackDir)
		}
		if got.ParentMaxPids != 0 {
			t.Errorf("containers %d: ParentMaxPids = %d, want 0 (sized from MaxContainers)", n, got.ParentMaxPids)
		}
	}
}
