package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/rep"
	"github.com/diegolab/diegolab/real/tlsconf"
)

func init() { register(newRepCmd) }

func newRepCmd() *cobra.Command {
	var cfg rep.Config
	var tokenFile, tlsDir string
	c := &cobra.Command{
		Use:   "rep",
		Short: "Run a real-mode cell: a rep that runs its work in runc containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Token, err = readTokenFile("token-file", tokenFile); err != nil {
				return err
			}
			switch {
			case cfg.CellID == "":
				return usagef("--cell-id is required")
			case cfg.BBSURL == "":
				return usagef("--bbs is required")
			case cfg.Dir == "" || cfg.StackDir == "":
				return usagef("--dir and --stack are required")
			}
			if tlsDir != "" {
				if cfg.TLS, err = tlsconf.Server(tlsDir, "rep"); err != nil {
					return usagef("--tls-dir: %v", err)
				}
				if cfg.BBSTLS, err = tlsconf.Client(tlsDir, "rep"); err != nil {
					return usagef("--tls-dir: %v", err)
				}
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			r, err := rep.New(cfg)
			if err != nil {
				return err
			}
			// SIGINT stops the rep at once (its containers are destroyed); SIGTERM and
			// SIGUSR1 (BOSH's drain) evacuate first, as Diego's rep does.
			ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
			defer cancel()
			drain := make(chan os.Signal, 1)
			signal.Notify(drain, syscall.SIGTERM, syscall.SIGUSR1)
			defer signal.Stop(drain)
			go func() {
				select {
				case <-drain:
					r.Drain()
				case <-ctx.Done():
				}
			}()
			return r.Serve(ctx)
		},
	}
	f := c.Flags()
	f.StringVar(&tlsDir, "tls-dir", "", "mutual TLS with the certificates made by diegolab certs (none: plain HTTP)")
	f.StringVar(&cfg.CellID, "cell-id", "", "cell id")
	f.StringVar(&cfg.Zone, "zone", "z1", "availability zone")
	f.IntVar(&cfg.Index, "index", 0, "cell index")
	f.IntVar(&cfg.Capacity.MemoryMB, "memory-mb", 1024, "memory capacity (MB)")
	f.IntVar(&cfg.Capacity.DiskMB, "disk-mb", 4096, "disk capacity (MB)")
	f.IntVar(&cfg.Capacity.Containers, "containers", model.DefaultContainers, "container capacity")
	f.StringVar(&cfg.BBSURL, "bbs", "", "BBS URL (http://127.0.0.1:PORT); an active/passive pair: both URLs, comma-separated")
	f.StringVar(&cfg.Dir, "dir", "", "state directory")
	f.StringVar(&cfg.StackDir, "stack", "", "busybox stack directory (make stack)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the reps' bearer token")
	f.DurationVar(&cfg.Heartbeat, "heartbeat", 5*time.Second, "presence heartbeat interval")
	f.DurationVar(&cfg.BulkSync, "bulk-sync", 30*time.Second, "bulk sync interval")
	f.DurationVar(&cfg.StartTimeout, "start-timeout", model.DefaultStartTimeout, "time for an instance's port to accept connections")
	f.DurationVar(&cfg.CheckInterval, "check-interval", 30*time.Second, "liveness check period of apps that set none")
	f.DurationVar(&cfg.StopGrace, "stop-grace", 10*time.Second, "SIGTERM to SIGKILL grace when stopping")
	f.DurationVar(&cfg.EvacuationTimeout, "evacuation-timeout", 600*time.Second, "how long a drain (SIGTERM, SIGUSR1) evacuates before it gives up")
	f.DurationVar(&cfg.EvacuationPoll, "evacuation-poll", 10*time.Second, "how often an evacuating rep reports its instances")
	return c
}
