package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/tlsconf"
)

func init() { register(newCertsCmd) }

func newCertsCmd() *cobra.Command {
	var hosts string
	var validity time.Duration
	c := &cobra.Command{
		Use:   "certs DIR",
		Short: "Make the cluster's CA and the mutual-TLS certificates of the BBS, reps, router and CLI",
		Long: "certs writes DIR/ca.crt and ca.key and, for bbs, rep, router and client, NAME.crt and NAME.key\n" +
			"(SANs: 127.0.0.1, ::1, localhost and --hosts). Files already in DIR are kept, so a second run\n" +
			"only adds what is missing. Components take the directory with --tls-dir.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if validity < time.Hour || validity > 10*365*24*time.Hour {
				return usagef("--validity must be in [1h, 87600h], got %v", validity)
			}
			var hs []string
			for _, h := range strings.Split(hosts, ",") {
				if h = strings.TrimSpace(h); h != "" {
					hs = append(hs, h)
				}
			}
			if err := tlsconf.Generate(args[0], tlsconf.Options{Hosts: hs, Validity: validity}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "certificates in %s: ca, %s\n", args[0], strings.Join(tlsconf.Components, ", "))
			return nil
		},
	}
	c.Flags().StringVar(&hosts, "hosts", "", "extra addresses or names for the certificates, comma-separated (the hosts' addresses)")
	c.Flags().DurationVar(&validity, "validity", 365*24*time.Hour, "how long the certificates are valid")
	return c
}
