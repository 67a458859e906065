package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/live"
)

// newLiveRecordCmd is `live record [DIR]`; dir is the cluster directory flag.
func newLiveRecordCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "record [DIR]",
		Short: "Write the live cluster's run record into DIR (default CLUSTER_DIR/record)",
		Long: `record fetches the run record of the running cluster from its BBS: summary.json,
events.jsonl, cells.csv, placements.csv and timeseries.csv, the files a simulated run
writes, so that "diegolab report DIR" and "diegolab compare" work on it. "live down"
writes it too, into CLUSTER_DIR/record, before it stops the cluster.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("record takes at most one directory, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := filepath.Join(*dir, live.RecordDir)
			if len(args) == 1 {
				out = args[0]
			}
			if err := live.Record(context.Background(), *dir, out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
}

// recordBeforeDown writes the run record of the cluster about to stop into
// CLUSTER_DIR/record; a cluster whose BBS no longer answers goes down without one.
func recordBeforeDown(cmd *cobra.Command, dir string) {
	out := filepath.Join(dir, live.RecordDir)
	if err := live.Record(context.Background(), dir, out); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: no run record written: %v\n", err)
		return
	}
	fmt.Fprintf(cmd.OutOrStdout(), "run record: %s\n", out)
}
