package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/scenarios"
)

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "disaggregated_DLRM_trace.csv")
	src := "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,deletion_time\n" +
		"i0,HN,app_0,12,12,1,1,25,25,2,2,4,4,2,,,\n" +
		"i1,HN,app_0,12,12,1,1,25,25,2,2,4,4,2,,,600\n" +
		"i2,HN,app_1,12,12,1,1,25,25,oops,2,4,4,2,,,\n"
	if err := os.WriteFile(trace, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dlrm.toml")
	// The directory form and the file form both work.
	for _, arg := range []string{dir, trace} {
		code, stdout, stderr := capture(t, "import", "alibaba-dlrm-2025", arg, "--cells", "3", "--cell-memory-mb", "16384", "-o", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "3 rows read, 2 used, 1 skipped") || !strings.Contains(stderr, "skipped 1: memory_request") {
			t.Errorf("stdout %q stderr %q", stdout, stderr)
		}
	}
	sc, err := scenarios.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	// app_0: 2 instances of 2 GiB = 2048 MB, max 2 per cell; one deleted at 600 s.
	if len(sc.Apps) != 1 || sc.Apps[0].Instances != 2 || sc.Apps[0].MemoryMB != 2048 || sc.Apps[0].MaxPerCell != 2 || len(sc.Events) != 1 || sc.Cells[0].Count != 3 {
		t.Errorf("scenario apps %+v events %+v", sc.Apps, sc.Events)
	}
	// And it runs.
	code, _, stderr := capture(t, "run", out, "-q", "--no-report", "--no-events", "--set", `run.duration="15m"`, "--out", filepath.Join(dir, "run"))
	if code != 0 {
		t.Errorf("run of the import: exit %d: %s", code, stderr)
	}
}

func TestImportUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown kind", []string{"import", "borg-2019", dir, "-o", "x.toml"}, "unknown import kind"},
		{"no -o", []string{"import", "alibaba-dlrm-2025", dir}, "needs -o"},
		{"wrong file count", []string{"import", "azure-v1-vmtable", "a", "b", "-o", "x.toml"}, "takes 4 file(s)"},
		{"missing file", []string{"import", "alibaba-dlrm-2025", filepath.Join(dir, "none.csv"), "-o", filepath.Join(dir, "x.toml")}, "no such file"},
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
