package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/logs"
	"github.com/diegolab/diegolab/real/router"
	"github.com/diegolab/diegolab/real/tlsconf"
)

func init() { register(newRouterCmd) }

func newRouterCmd() *cobra.Command {
	var listen, bbsURL, tokenFile, addrFile, tlsDir string
	var syncInterval time.Duration
	var listenFD int
	c := &cobra.Command{
		Use:   "router",
		Short: "Run real mode's HTTP router and route emitter (routes APP.localhost to RUNNING instances)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A proxy's live heap is a few MB while it allocates per request, so at the
			// default GOGC=100 it collects many times a second; 800 trades a few tens
			// of MB for ~25 % more requests per second (docs/real-mode.md). A GOGC
			// the user set wins.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(800)
			}
			tok, err := readTokenFile("token-file", tokenFile)
			if err != nil {
				return err
			}
			if bbsURL == "" {
				return usagef("--bbs is required")
			}
			if syncInterval <= 0 {
				return usagef("--sync-interval must be > 0")
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			var ln net.Listener
			if listenFD > 0 {
				// An inherited socket: a multi-host cluster's router runs in the hub
				// namespace and serves a 127.0.0.1 socket of the root namespace.
				if ln, err = inheritedListener("listen-fd", listenFD); err != nil {
					return err
				}
			} else if ln, err = router.Listen(listen); err != nil {
				return usagef("--listen: %v", err)
			}
			bbs := api.NewClient(bbsURL, tok, 10*time.Second)
			if tlsDir != "" {
				cfg, err := tlsconf.Client(tlsDir, "router")
				if err != nil {
					return usagef("--tls-dir: %v", err)
				}
				bbs.WithTLS(cfg)
			}
			ship := logs.NewShipper(bbs, log)
			defer ship.Close()
			tab := router.NewTable()
			rt := router.New(tab, ship.Send, log)
			em := &router.Emitter{BBS: bbs, Table: tab, SyncInterval: syncInterval, Logger: log}
			ctx, cancel := signalContext()
			defer cancel()
			go em.Run(ctx)
			srv := rt.Server()
			if addrFile != "" {
				if err := os.WriteFile(addrFile, []byte(ln.Addr().String()+"\n"), 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "router listening on http://%s\n", ln.Addr())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case <-ctx.Done():
			case err = <-errc:
			}
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&tlsDir, "tls-dir", "", "mutual TLS to the BBS with the certificates made by diegolab certs (none: plain HTTP)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "listen address (127.0.0.1 only)")
	f.StringVar(&bbsURL, "bbs", "", "BBS URL (http://127.0.0.1:PORT); an active/passive pair: both URLs, comma-separated")
	f.StringVar(&tokenFile, "token-file", "", "file holding the router's bearer token")
	f.IntVar(&listenFD, "listen-fd", 0, "serve this inherited listening socket (a 127.0.0.1 socket opened by live up) instead of --listen")
	f.StringVar(&addrFile, "addr-file", "", "write the listen address to this file once listening")
	f.DurationVar(&syncInterval, "sync-interval", router.DefaultSyncInterval, "route emitter full sync period")
	return c
}
