package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/reports"
)

func init() { register(newReportCmd) }

func newReportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Rebuild the HTML report of a run from its run record",
		Long: `report reads the run record in RUN_DIR (summary.json, cells.csv and, when present,
placements.csv, timeseries.csv and events.jsonl) and writes one self-contained HTML
file with the cell map, evenness, zone balance, timeline, placement failures and
auction charts (default RUN_DIR/report.html).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("report takes one run directory, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRunDir(args[0]); err != nil {
				return err
			}
			if err := reports.WriteRun(args[0], out, reports.Options{Warn: cmd.ErrOrStderr()}); err != nil {
				if errors.Is(err, reports.ErrNotRunRecord) {
					return usagef("%w", err)
				}
				return err
			}
			if out == "" {
				out = args[0] + string(os.PathSeparator) + "report.html"
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "report file (default RUN_DIR/report.html)")
	return cmd
}

// checkRunDir turns a missing or non-directory RUN_DIR into a usage error naming it.
func checkRunDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return usagef("run directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return usagef("run directory %s: not a directory", dir)
	}
	return nil
}
