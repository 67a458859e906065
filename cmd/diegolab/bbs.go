package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/real/bbsserver"
	"github.com/diegolab/diegolab/real/tlsconf"
)

func init() { register(newBBSCmd) }

func readTokenFile(flag, path string) (string, error) {
	if path == "" {
		return "", usagef("--%s is required", flag)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("--%s: %v", flag, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", usagef("--%s: %s is empty", flag, path)
	}
	return t, nil
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newBBSCmd() *cobra.Command {
	var cfg bbsserver.Config
	var tokenFile, repTokenFile, routerTokenFile, addrFile, tlsDir string
	var extraFD int
	settings := auction.DefaultSettings()
	cfg.Auction = &settings
	c := &cobra.Command{
		Use:   "bbs",
		Short: "Run real mode's BBS: the control plane behind an HTTP API, persisted in SQLite or PostgreSQL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Token, err = readTokenFile("token-file", tokenFile); err != nil {
				return err
			}
			if cfg.RepToken, err = readTokenFile("rep-token-file", repTokenFile); err != nil {
				return err
			}
			if routerTokenFile != "" {
				if cfg.RouterToken, err = readTokenFile("router-token-file", routerTokenFile); err != nil {
					return err
				}
			}
			if cfg.LogBound < 0 {
				return usagef("--log-bound must be >= 0")
			}
			if cfg.Dir == "" {
				return usagef("--dir is required")
			}
			if cfg.LockTTL < 300*time.Millisecond || cfg.LockTTL > 10*time.Minute {
				return usagef("--lock-ttl must be in [300ms, 10m], got %v", cfg.LockTTL)
			}
			if cfg.LockRetry <= 0 {
				return usagef("--lock-retry must be > 0, got %v", cfg.LockRetry)
			}
			if tlsDir != "" {
				if cfg.TLS, err = tlsconf.Server(tlsDir, "bbs"); err != nil {
					return usagef("--tls-dir: %v", err)
				}
				if cfg.RepTLS, err = tlsconf.Client(tlsDir, "bbs"); err != nil {
					return usagef("--tls-dir: %v", err)
				}
			}
			if extraFD > 0 {
				ln, err := inheritedListener("extra-listen-fd", extraFD)
				if err != nil {
					return err
				}
				cfg.Extra = append(cfg.Extra, ln)
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			s, err := bbsserver.New(cfg)
			if err != nil {
				return err
			}
			if addrFile != "" {
				if err := os.WriteFile(addrFile, []byte(s.Addr()+"\n"), 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bbs listening on %s\n", s.URL())
			ctx, cancel := signalContext()
			defer cancel()
			return s.Serve(ctx)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "state directory (bbs.db, blobs, events.jsonl)")
	f.StringVar(&cfg.DB, "db", "", "PostgreSQL URL (postgres://...; password from PGPASSWORD or ~/.pgpass) instead of SQLite in --dir")
	f.StringVar(&tlsDir, "tls-dir", "", "mutual TLS with the certificates made by diegolab certs (none: plain HTTP)")
	f.StringVar(&cfg.BlobsDir, "blobs-dir", "", "packages and droplets (default DIR/blobs; the BBSs of a pair on one machine share one)")
	f.StringVar(&cfg.ID, "id", "", "this BBS's name in the lock row of an active/passive pair (default: the absolute --dir)")
	f.DurationVar(&cfg.LockTTL, "lock-ttl", 15*time.Second, "TTL of the active BBS's lock (a passive takes over when it expires)")
	f.DurationVar(&cfg.LockRetry, "lock-retry", time.Second, "how often the lock is renewed or competed for (at most lock-ttl/3)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the client bearer token")
	f.StringVar(&repTokenFile, "rep-token-file", "", "file holding the reps' bearer token")
	f.StringVar(&routerTokenFile, "router-token-file", "", "file holding the router's bearer token (none: no router)")
	f.IntVar(&cfg.LogBound, "log-bound", 1000, "log lines kept per app (oldest dropped first)")
	f.IntVar(&extraFD, "extra-listen-fd", 0, "also serve this inherited listening socket (live up --hosts: a 127.0.0.1 socket of the root namespace)")
	f.StringVar(&addrFile, "addr-file", "", "write the listen address to this file once listening")
	f.DurationVar(&cfg.ConvergenceInterval, "convergence-interval", 30*time.Second, "convergence interval")
	f.DurationVar(&cfg.PresenceTTL, "presence-ttl", 15*time.Second, "cell presence TTL")
	f.DurationVar(&cfg.StaleUnclaimed, "stale-unclaimed", 30*time.Second, "re-auction UNCLAIMED instances older than this")
	f.StringVar(&cfg.Algorithm, "algorithm", "diego", "auction placement algorithm")
	f.DurationVar(&cfg.TickInterval, "tick-interval", time.Second, "how often presences and convergence are checked")
	f.Float64Var(&settings.StartingContainerWeight, "starting-container-weight", settings.StartingContainerWeight, "auction: weight of starting containers in a cell's score")
	f.Float64Var(&settings.BinPackFirstFitWeight, "bin-pack-first-fit-weight", settings.BinPackFirstFitWeight, "auction: weight of the cell index (bin packing)")
	f.IntVar(&settings.MaxStartingContainers, "max-starting-containers", settings.MaxStartingContainers, "auction: containers starting at once per cell (0 = unlimited)")
	f.IntVar(&settings.ProxyMemoryMB, "proxy-memory-mb", settings.ProxyMemoryMB, "auction: memory of each instance's proxy (MB)")
	limitFlags(f, &cfg.Limits)
	f.StringVar(&cfg.Docker.Upstream, "registry-upstream", "", "host:port of the upstream registry short Docker image names refer to")
	f.StringVar(&cfg.Docker.Cache, "registry-cache", "", "host:port of the private Docker registry cache (empty: none)")
	f.BoolVar(&cfg.Docker.CacheDefault, "docker-cache-default", false, "cache Docker images of apps that do not choose (push --docker-cache)")
	return c
}

// limitFlags binds the BBS's limits (each refusal names its flag).
func limitFlags(f *pflag.FlagSet, l *bbsserver.Limits) {
	d := bbsserver.DefaultLimits()
	*l = d
	f.IntVar(&l.MaxInstances, "max-instances", d.MaxInstances, "instances per app")
	f.IntVar(&l.MaxMemoryMB, "max-memory-mb", d.MaxMemoryMB, "memory per instance or task (MB)")
	f.IntVar(&l.MaxDiskMB, "max-disk-mb", d.MaxDiskMB, "disk per instance or task (MB)")
	f.IntVar(&l.MaxApps, "max-apps", d.MaxApps, "apps the BBS keeps")
	f.IntVar(&l.MaxTasks, "max-tasks", d.MaxTasks, "tasks not yet completed")
	f.IntVar(&l.MaxCommand, "max-command", d.MaxCommand, "bytes of a start or task command")
	f.IntVar(&l.MaxRoutes, "max-routes", d.MaxRoutes, "routes per app")
	f.IntVar(&l.MaxDrains, "max-drains", d.MaxDrains, "log drains per app")
	f.IntVar(&l.MaxFiles, "max-files", d.MaxFiles, "files per pushed package")
	f.IntVar(&l.MaxCells, "max-cells", d.MaxCells, "distinct cells the BBS tracks")
	f.IntVar(&l.MaxCellContainers, "max-cell-containers", d.MaxCellContainers, "containers a cell may advertise")
	f.IntVar(&l.MaxCellMemoryMB, "max-cell-memory-mb", d.MaxCellMemoryMB, "memory a cell may advertise (MB)")
	f.IntVar(&l.MaxCellDiskMB, "max-cell-disk-mb", d.MaxCellDiskMB, "disk a cell may advertise (MB)")
	f.IntVar(&l.MaxReason, "max-reason", d.MaxReason, "bytes of a crash or failure reason (longer ones are cut)")
	f.IntVar(&l.MaxResult, "max-result", d.MaxResult, "bytes of a task result (a longer one fails the task)")
	f.Float64Var(&l.RequestRate, "request-rate", d.RequestRate, "client requests a second (429 beyond)")
	f.IntVar(&l.RequestBurst, "request-burst", d.RequestBurst, "client requests allowed in a burst")
}
