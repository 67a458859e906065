package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/live"
)

func init() { register(newLiveCmd) }

func newLiveCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "live",
		Short: "Start, inspect and stop a real-mode cluster on this machine (BBS + reps)",
	}
	c.PersistentFlags().StringVar(&dir, "dir", live.DefaultDir(), "cluster directory ($DIEGOLAB_HOME)")
	var o live.Options
	up := &cobra.Command{
		Use:   "up",
		Short: "Start a supervisor that runs a BBS, N reps and a router (restarting any that dies) and wait until they are healthy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Dir = dir
			if o.Cells <= 0 {
				return usagef("--cells must be > 0")
			}
			st, err := live.Up(context.Background(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster up: %d cells\napi: %s\nrouter: %s\nclient config: %s/%s\nreach an app: curl -H 'Host: NAME.localhost' %s/\n",
				len(st.Reps), st.URL, st.RouterURL, dir, live.ConfigFile, st.RouterURL)
			return nil
		},
	}
	uf := up.Flags()
	uf.IntVar(&o.Cells, "cells", 3, "number of cells")
	uf.IntVar(&o.Hosts, "hosts", 0, "spread the cells over this many hosts: network namespaces with addresses of 10.213.0.0/24 (0: one host, 127.0.0.1)")
	uf.IntVar(&o.MemoryMB, "memory-mb", 1024, "memory per cell (MB)")
	uf.IntVar(&o.DiskMB, "disk-mb", 4096, "disk per cell (MB)")
	uf.IntVar(&o.Containers, "containers", 249, "containers per cell")
	uf.DurationVar(&o.PresenceTTL, "presence-ttl", 15*time.Second, "cell presence TTL")
	uf.DurationVar(&o.ConvergenceInterval, "convergence-interval", 30*time.Second, "convergence interval")
	uf.DurationVar(&o.Heartbeat, "heartbeat", 5*time.Second, "rep heartbeat interval")
	uf.DurationVar(&o.BulkSync, "bulk-sync", 30*time.Second, "rep bulk sync interval")
	uf.DurationVar(&o.StaleUnclaimed, "stale-unclaimed", 30*time.Second, "re-auction UNCLAIMED instances older than this")
	uf.DurationVar(&o.StartTimeout, "start-timeout", 60*time.Second, "instance start timeout")
	uf.StringVar(&o.RouterListen, "router-listen", "127.0.0.1:8080", "router address (127.0.0.1 only)")
	uf.DurationVar(&o.RouteSync, "route-sync", 60*time.Second, "route emitter full sync period")
	uf.DurationVar(&o.CheckInterval, "check-interval", 30*time.Second, "default liveness check period")
	uf.IntVar(&o.LogBound, "log-bound", 1000, "log lines kept per app")
	uf.BoolVar(&o.TLS, "tls", false, "mutual TLS between every component and the CLI (certificates made in DIR/tls)")
	uf.BoolVar(&o.BBSPair, "bbs-pair", false, "run two BBSs on the --db database, an active/passive pair (clients follow the active)")
	uf.DurationVar(&o.LockTTL, "lock-ttl", 0, "the BBSs' lock TTL (0: Locket's 15 s)")
	uf.StringVar(&o.DB, "db", "", "the BBS's PostgreSQL URL (postgres://...); default SQLite in the cluster directory")
	uf.DurationVar(&o.EvacuationTimeout, "evacuation-timeout", 600*time.Second, "how long a draining cell evacuates before it gives up")
	uf.BoolVar(&o.Registries, "registries", false, "start an upstream and a private cache OCI registry on loopback (Docker apps)")
	uf.BoolVar(&o.RegistryCache, "registry-cache", false, "cache Docker images in the private registry at staging by default (implies --registries)")
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster's processes and cells",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return live.Status(context.Background(), dir, cmd.OutOrStdout())
		},
	}
	var timeout time.Duration
	down := &cobra.Command{
		Use:   "down",
		Short: "Write the run record, stop everything and check that nothing is left",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			recordBeforeDown(cmd, dir)
			if err := live.Down(context.Background(), dir, timeout); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "cluster down: nothing left")
			return nil
		},
	}
	down.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "SIGTERM to SIGKILL grace per process")
	var drainWait time.Duration
	drain := &cobra.Command{
		Use:   "drain CELL",
		Short: "Evacuate a cell as Diego does (its instances move, each serving until replaced), then stop its rep",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := live.Drain(context.Background(), dir, args[0], drainWait); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cell %s drained: its rep has exited\n", args[0])
			return nil
		},
	}
	drain.Flags().DurationVar(&drainWait, "wait", 11*time.Minute, "how long to wait for the rep to finish evacuating")
	supervise := &cobra.Command{
		Use:    "supervise",
		Short:  "Run the cluster's components and restart those that die (started by live up)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			return live.Supervise(ctx, dir, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		},
	}
	c.AddCommand(up, status, down, drain, supervise, newLiveRecordCmd(&dir), newLiveRegistryCmd(&dir))
	return c
}
