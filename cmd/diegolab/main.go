// Command diegolab runs Diego-style container orchestration experiments: deterministic
// simulations of Cloud Foundry's auction, convergence and staging, and (in real mode) a
// live cluster on this machine. Each subcommand lives in its own file and registers
// itself with register, so main stays a few lines long.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands holds the constructors of every subcommand, registered from init functions.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

// usageError marks errors caused by bad input (flags, scenario files): exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns an error that makes diegolab exit with status 2.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "diegolab",
		Short: "A research platform for Cloud Foundry Diego-style container orchestration",
		Long: `diegolab runs Diego's auction, convergence and staging logic two ways:
as a deterministic discrete-event simulation of thousands of cells (the default),
and against live cells that run work in real containers.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	cmds := make([]*cobra.Command, 0, len(commands))
	for _, c := range commands {
		cmds = append(cmds, c())
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	return root
}

func main() {
	os.Exit(execute(os.Args[1:]))
}

// execute runs the CLI with args and returns the process exit status.
func execute(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "diegolab:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
