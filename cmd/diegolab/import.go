package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/bench/importer"
)

func init() { register(newImportCmd) }

type importFlags struct {
	out                      string
	cells, cellMem, cellDisk int
	zones                    int
	headroom                 float64
	duration, resolution     time.Duration
	load                     float64
	seed                     uint64
	perStep, limit           int
	instanceDisk, containers int
}

// traceFiles are the file names each kind reads from a directory, in argument order.
var traceFiles = map[string][]string{
	importer.KindDLRM:  {"disaggregated_DLRM_trace.csv"},
	importer.KindOpenB: {"openb_node_list_all_node.csv", "openb_pod_list_default.csv"},
	importer.KindAzure: {"v1.dev.txt", "v1.dev.c2100000.txt", "v1.interval_map.txt", "flav_map.txt"},
}

func newImportCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import KIND FILE... -o SCENARIO.toml",
		Short: "Turn a public cluster trace into a scenario file",
		Long: `import reads a public trace (see ../shared/traces/README.md) and writes a scenario
that diegolab run and bench load. KIND and its files (or one directory holding them):

  alibaba-dlrm-2025   disaggregated_DLRM_trace.csv
                      apps scaled over time; max_instance_per_node -> max_per_cell
  alibaba-openb-2023  openb_node_list_all_node.csv openb_pod_list_default.csv
                      node capacities -> cells; pods under workload inflation (--load)
  azure-v1-vmtable    v1.dev.txt v1.dev.c2100000.txt v1.interval_map.txt flav_map.txt
                      tenant batches -> apps with k instances and lifetimes

Malformed rows are skipped and counted by reason on stderr.`,
		Args: cobra.MinimumNArgs(2),
		Example: `  diegolab import alibaba-dlrm-2025 ../shared/traces/alibaba-dlrm-2025 -o out/dlrm.toml
  diegolab import alibaba-openb-2023 ../shared/traces/alibaba-openb-2023 --load 1.3 --seed 2 -o out/openb-130.toml
  diegolab import azure-v1-vmtable ../shared/traces/azure-v1-vmtable --limit 20000 -o out/azure.toml`,
		RunE: func(cmd *cobra.Command, args []string) error { return runImport(cmd, args[0], args[1:], f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "scenario file to write (required)")
	fl.IntVar(&f.cells, "cells", 0, "cells (dlrm, azure; default: enough for --headroom x the peak memory)")
	fl.IntVar(&f.cellMem, "cell-memory-mb", 0, "cell memory (dlrm, azure; default 262144)")
	fl.IntVar(&f.cellDisk, "cell-disk-mb", 0, "cell disk (default 2097152; openb 1048576)")
	fl.IntVar(&f.zones, "zones", 0, "zones (default 3)")
	fl.Float64Var(&f.headroom, "headroom", 0, "cell memory over the peak memory of the workload (default 1.25)")
	fl.DurationVar(&f.duration, "duration", 0, "scenario duration (dlrm, azure; default: to the end of the trace)")
	fl.DurationVar(&f.resolution, "resolution", 0, "bucket of scale events (dlrm default 1m, azure 5m)")
	fl.Float64Var(&f.load, "load", 1.0, "openb: offered memory load of the inflation (1.3 = 130 %)")
	fl.Uint64Var(&f.seed, "seed", 1, "openb: seed of the sampled arrival order")
	fl.IntVar(&f.perStep, "per-step", 0, "openb: arrivals per second (default 10)")
	fl.IntVar(&f.limit, "limit", 0, "azure: stop after this many VMs (default all)")
	fl.IntVar(&f.instanceDisk, "instance-disk-mb", 0, "disk per instance when the trace has none (azure 4096, openb 1024)")
	fl.IntVar(&f.containers, "containers", 0, "openb: container slots per cell (default Diego's)")
	return cmd
}

// traceArgs expands a single directory argument into the kind's files.
func traceArgs(kind string, args []string) ([]string, error) {
	want, ok := traceFiles[kind]
	if !ok {
		return nil, usagef("unknown import kind %q (kinds: %s)", kind, strings.Join(importer.Kinds(), ", "))
	}
	if len(args) == 1 {
		if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
			files := make([]string, len(want))
			for i, w := range want {
				files[i] = filepath.Join(args[0], w)
			}
			return files, nil
		}
	}
	if len(args) != len(want) {
		return nil, usagef("%s takes %d file(s) (%s) or their directory, got %d", kind, len(want), strings.Join(want, " "), len(args))
	}
	return args, nil
}

func runImport(cmd *cobra.Command, kind string, args []string, f importFlags) error {
	if f.out == "" {
		return usagef("import needs -o SCENARIO.toml")
	}
	files, err := traceArgs(kind, args)
	if err != nil {
		return err
	}
	readers := make([]io.Reader, len(files))
	for i, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			return usageError{err}
		}
		defer fh.Close()
		readers[i] = fh
	}
	cells := importer.CellOptions{Count: f.cells, MemoryMB: f.cellMem, DiskMB: f.cellDisk, Zones: f.zones, Headroom: f.headroom}
	var file importer.File
	var st importer.Stats
	switch kind {
	case importer.KindDLRM:
		file, st, err = importer.ImportDLRM(readers[0], importer.DLRMOptions{Cells: cells, Duration: int64(f.duration.Seconds()), Resolution: int64(f.resolution.Seconds())})
	case importer.KindOpenB:
		file, st, err = importer.ImportOpenB(readers[0], readers[1], importer.OpenBOptions{Load: f.load, Seed: f.seed, PerStep: f.perStep,
			DiskMB: f.cellDisk, Containers: f.containers, PodDiskMB: f.instanceDisk, Zones: f.zones})
	case importer.KindAzure:
		file, st, err = importer.ImportAzure(importer.AzureFiles{Arrivals: readers[0], Lifetimes: readers[1], Intervals: readers[2], Flavours: readers[3]},
			importer.AzureOptions{Cells: cells, DiskMB: f.instanceDisk, Resolution: int64(f.resolution.Seconds()), Duration: int64(f.duration.Seconds()), Limit: f.limit})
	}
	if err != nil {
		return usageError{err}
	}
	fmt.Fprint(cmd.ErrOrStderr(), st.Report())
	if err := file.WriteFile(f.out); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %d rows read, %d used, %d skipped -> %s (%d cells in %d groups, %d app groups, %d events)\n",
		kind, st.Rows, st.Used, st.SkippedTotal(), f.out, cellCount(file), len(file.Cells), len(file.Apps), len(file.Events))
	return nil
}

func cellCount(f importer.File) int {
	n := 0
	for _, c := range f.Cells {
		n += c.Count
	}
	return n
}
