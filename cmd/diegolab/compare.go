package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/reports"
)

func init() { register(newCompareCmd) }

func newCompareCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "compare RUN_DIR RUN_DIR...",
		Short: "Build one HTML report comparing two or more runs",
		Long: `compare reads two or more run records (different algorithms, settings or seeds of
one scenario) and writes one self-contained HTML file: the charts of every run side by
side, overlays of the distributions, a table of every summary metric with its
difference against the first run and, for seed replications (same scenario,
algorithm and settings), the mean and 95 % confidence interval of each metric.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("compare needs at least two run directories, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, dir := range args {
				if err := checkRunDir(dir); err != nil {
					return err
				}
			}
			if err := reports.WriteCompare(args, out, reports.Options{Warn: cmd.ErrOrStderr()}); err != nil {
				if errors.Is(err, reports.ErrNotRunRecord) {
					return usagef("%w", err)
				}
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "compare.html", "report file")
	return cmd
}
