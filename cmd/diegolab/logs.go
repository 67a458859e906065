package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/live"
)

func init() { register(newLogsCmd) }

func newLogsCmd() *cobra.Command {
	var recent, follow bool
	c := simple("logs APP", "Show an app's logs: --recent dumps the buffer, --follow streams (the default)", 1,
		func(cmd *cobra.Command, cl *api.Client, args []string) error {
			if !recent && !follow {
				follow = true
			}
			ctx, cancel := signalContext()
			defer cancel()
			out := cmd.OutOrStdout()
			last := uint64(0)
			err := live.StreamLogs(ctx, cl, args[0], live.LogOptions{Recent: recent, Follow: follow}, nil, func(l api.LogLine) {
				if last > 0 && l.Seq > last+1 {
					fmt.Fprintf(out, "... %d lines dropped (the log buffer is full)\n", l.Seq-last-1)
				}
				last = l.Seq
				fmt.Fprintln(out, l.Format())
			})
			if err == nil && ctx.Err() == nil && !follow {
				st, serr := live.LogStats(context.Background(), cl, args[0])
				if serr == nil && st.Dropped > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "(%d older lines dropped: the buffer keeps %d)\n", st.Dropped, st.Bound)
				}
			}
			return err
		})
	c.Flags().BoolVar(&recent, "recent", false, "dump the app's buffered lines")
	c.Flags().BoolVar(&follow, "follow", false, "stream new lines until interrupted")
	return c
}
