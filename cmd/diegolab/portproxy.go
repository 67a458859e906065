package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/executor"
)

func init() { register(newPortProxyCmd) }

// newPortProxyCmd is the process a rep's executor starts to serve one container's
// port mappings, so that they outlive the rep (docs/real-executor.md). Hidden: no one
// runs it by hand; its descriptors come from the executor.
func newPortProxyCmd() *cobra.Command {
	return &cobra.Command{
		Use:                executor.PortProxyCommand,
		Short:              "Serve a container's port mappings (started by a rep's executor)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := executor.PortProxyMain(args); code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
}
