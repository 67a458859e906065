package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/live"
)

func init() {
	for _, c := range []func() *cobra.Command{newPushCmd, newAppsCmd, newAppCmd, newScaleCmd, newStopCmd, newStartCmd,
		newDeleteCmd, newRunTaskCmd, newTasksCmd, newCellsCmd, newRestartCmd, newCancelTaskCmd, newTaskCmd} {
		register(c)
	}
}

// client reads the cluster's client config ($DIEGOLAB_HOME or ./.diegolab).
func client() (*api.Client, error) {
	cfg, err := live.LoadClientConfig(live.DefaultDir())
	if err != nil {
		return nil, err
	}
	return cfg.NewClient(30 * time.Second)
}

// parseMB reads 64M, 1G, 512 (MB).
func parseMB(flag, s string) (int, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := 1
	switch {
	case strings.HasSuffix(u, "G") || strings.HasSuffix(u, "GB"):
		mult, u = 1024, strings.TrimSuffix(strings.TrimSuffix(u, "B"), "G")
	case strings.HasSuffix(u, "M") || strings.HasSuffix(u, "MB"):
		u = strings.TrimSuffix(strings.TrimSuffix(u, "B"), "M")
	}
	n, err := strconv.Atoi(u)
	if err != nil || n < 0 {
		return 0, usagef("-%s %q: want a size such as 64M or 1G", flag, s)
	}
	return n * mult, nil
}

func newPushCmd() *cobra.Command {
	var path, mem, disk, bp, cmdline, hcType, hcPath string
	var routes, drains []string
	var hcInterval, startTimeout time.Duration
	var inst int
	var timeout time.Duration
	var wait bool
	var dk dockerFlags
	c := &cobra.Command{
		Use:   "push NAME (--path DIR | --docker-image REF)",
		Short: "Upload an app and stage it with a buildpack, or stage a Docker image, and run it on the live cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			docker, err := dk.push(cmd, path)
			if err != nil {
				return err
			}
			if path == "" && docker == nil {
				return usagef("--path or --docker-image is required")
			}
			if inst < 0 {
				return usagef("-i must be >= 0")
			}
			m, err := parseMB("m", mem)
			if err != nil {
				return err
			}
			k, err := parseMB("k", disk)
			if err != nil {
				return err
			}
			hc := api.HealthCheck{Type: hcType, Path: hcPath, Interval: hcInterval, StartTimeout: startTimeout}
			if err := hc.Validate(); err != nil {
				return usagef("%v", err)
			}
			cfg, err := live.LoadClientConfig(live.DefaultDir())
			if err != nil {
				return err
			}
			cl, err := cfg.NewClient(30 * time.Second)
			if err != nil {
				return err
			}
			d, err := live.Push(context.Background(), cl, args[0], path, live.PushOptions{Instances: inst, MemoryMB: m, DiskMB: k,
				Buildpack: bp, Command: cmdline, Timeout: timeout, Progress: cmd.OutOrStdout(), Routes: routes, HealthCheck: hc, Drains: drains,
				NoWait: !wait, Docker: docker})
			if d != nil {
				printApp(cmd, d)
			}
			if err == nil && cfg.RouterURL != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\nroute: curl -H 'Host: %s.localhost' %s/\n", args[0], cfg.RouterURL)
				for _, r := range routes {
					fmt.Fprintf(cmd.OutOrStdout(), "route: curl -H 'Host: %s' %s/\n", r, cfg.RouterURL)
				}
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&path, "path", "", "app directory")
	f.IntVarP(&inst, "instances", "i", 1, "instances")
	f.StringVarP(&mem, "memory", "m", "64M", "memory per instance")
	f.StringVarP(&disk, "disk", "k", "256M", "disk per instance")
	f.StringVarP(&bp, "buildpack", "b", "static", "buildpack: static or binary")
	f.StringVarP(&cmdline, "start-command", "c", "", "start command (overrides the buildpack's)")
	f.DurationVar(&timeout, "timeout", 3*time.Minute, "staging plus start timeout (with --wait)")
	f.BoolVar(&wait, "wait", true, "wait until staging is done and every instance is RUNNING (--wait=false: return once staging began)")
	f.StringArrayVar(&routes, "route", nil, "extra host routed to the app (repeatable; APP.localhost always is)")
	f.StringVarP(&hcType, "health-check-type", "u", "port", "health check: port, process or http")
	f.StringVar(&hcPath, "endpoint", "", "http health check path (default /)")
	f.DurationVar(&hcInterval, "health-check-interval", 0, "liveness check period (default: the rep's, 30 s)")
	f.DurationVarP(&startTimeout, "start-timeout", "t", 0, "time to the first passing health check (default 60 s)")
	f.StringArrayVar(&drains, "drain", nil, "forward the app's logs as syslog to syslog://127.0.0.1:PORT (repeatable)")
	dk.bind(f)
	return c
}

func printApp(cmd *cobra.Command, d *api.AppDetail) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\nstate:\t%s\ninstances:\t%d/%d\nmemory:\t%dM\nbuildpack:\t%s\ncommand:\t%s\n", d.Name, d.State,
		d.Running, d.Instances, d.MemoryMB, d.Buildpack, d.Command)
	if d.Docker != nil {
		fmt.Fprintf(w, "docker image:\t%s (cache %v)\n", d.Docker.Image, d.Docker.Cache)
		if d.Docker.Digest != "" {
			fmt.Fprintf(w, "staged digest:\t%s\nruns:\t%s\n", d.Docker.Digest, d.Docker.RunImage)
		}
	}
	if d.StagingError != "" {
		fmt.Fprintf(w, "staging error:\t%s\n", d.StagingError)
	}
	fmt.Fprintln(w, "\n#\tstate\tcell\taddress\tsince\tcrashes\tdetails")
	for _, in := range d.InstancesDetail {
		details := in.PlacementError
		if details == "" {
			details = in.CrashReason
		}
		switch {
		case in.NeverRestarts:
			details = strings.TrimSpace("not restarted again (crashed 200 times); " + details)
		case in.RestartIn != nil:
			details = strings.TrimSpace(fmt.Sprintf("restarts in %.0fs (then at the next convergence pass); %s", *in.RestartIn, details))
		}
		if in.Presence != "ORDINARY" {
			details = strings.TrimSpace(strings.ToLower(in.Presence) + " " + details)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%.1fs\t%d\t%s\n", in.Index, in.State, in.CellID, in.Address, in.Since, in.CrashCount, details)
	}
	w.Flush()
}

func simple(use, short string, nargs int, run func(cmd *cobra.Command, cl *api.Client, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := client()
			if err != nil {
				return err
			}
			return run(cmd, cl, args)
		},
	}
}

func newAppsCmd() *cobra.Command {
	return simple("apps", "List the apps of the live cluster", 0, func(cmd *cobra.Command, cl *api.Client, _ []string) error {
		var apps []api.App
		if err := cl.Do(context.Background(), http.MethodGet, "/v1/apps", nil, &apps); err != nil {
			return err
		}
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "name\tstate\tinstances\tmemory\tbuildpack")
		for _, a := range apps {
			fmt.Fprintf(w, "%s\t%s\t%d/%d\t%dM\t%s\n", a.Name, a.State, a.Running, a.Instances, a.MemoryMB, a.Buildpack)
		}
		return w.Flush()
	})
}

func newAppCmd() *cobra.Command {
	return simple("app NAME", "Show an app and each of its instances", 1, func(cmd *cobra.Command, cl *api.Client, args []string) error {
		var d api.AppDetail
		if err := cl.Do(context.Background(), http.MethodGet, "/v1/apps/"+args[0], nil, &d); err != nil {
			return err
		}
		printApp(cmd, &d)
		return nil
	})
}

func newScaleCmd() *cobra.Command {
	var n int
	var mem, disk string
	var wait waitFlags
	var req api.ScaleRequest
	c := simple("scale NAME [-i N] [-m MEM] [-k DISK]", "Change an app's instance count, memory or disk (memory or disk restart it)", 1,
		func(cmd *cobra.Command, cl *api.Client, args []string) error {
			var a api.App
			if err := cl.Do(context.Background(), http.MethodPost, "/v1/apps/"+args[0]+"/scale", req, &a); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d instances, %dM memory, %dM disk\n", a.Name, a.Instances, a.MemoryMB, a.DiskMB)
			return wait.run(cmd, cl, a)
		})
	// The flags are checked before the cluster is looked up: usage errors.
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		f := cmd.Flags()
		if f.Changed("instances") {
			if n < 0 {
				return usagef("-i must be >= 0")
			}
			req.Instances = &n
		}
		if f.Changed("memory") {
			m, err := parseMB("m", mem)
			if err != nil {
				return err
			}
			req.MemoryMB = &m
		}
		if f.Changed("disk") {
			k, err := parseMB("k", disk)
			if err != nil {
				return err
			}
			req.DiskMB = &k
		}
		if req.Instances == nil && req.MemoryMB == nil && req.DiskMB == nil {
			return usagef("scale %s: say what to change: -i INSTANCES, -m MEMORY or -k DISK", args[0])
		}
		return nil
	}
	c.Flags().IntVarP(&n, "instances", "i", 0, "instances")
	c.Flags().StringVarP(&mem, "memory", "m", "", "memory per instance (64M, 1G); restarts the instances")
	c.Flags().StringVarP(&disk, "disk", "k", "", "disk per instance (256M, 1G); restarts the instances")
	wait.bind(c, false)
	return c
}

// waitFlags are --wait and --wait-timeout of the commands that change an app.
type waitFlags struct {
	on      bool
	timeout time.Duration
}

func (w *waitFlags) bind(c *cobra.Command, def bool) {
	c.Flags().BoolVar(&w.on, "wait", def, "wait until every instance is RUNNING (or the app is stopped), then show it")
	c.Flags().DurationVar(&w.timeout, "wait-timeout", 2*time.Minute, "how long --wait waits")
}

// run waits (when asked) for the app's version a to settle and shows the result.
func (w *waitFlags) run(cmd *cobra.Command, cl *api.Client, a api.App) error {
	if !w.on {
		return nil
	}
	d, err := live.WaitRunning(context.Background(), cl, a.Name, a.Version, w.timeout)
	if d != nil {
		fmt.Fprintln(cmd.OutOrStdout())
		printApp(cmd, d)
	}
	return err
}

func appAction(use, short string, actions ...string) func() *cobra.Command {
	return func() *cobra.Command {
		var wait waitFlags
		c := simple(use, short, 1, func(cmd *cobra.Command, cl *api.Client, args []string) error {
			var a api.App
			for _, action := range actions {
				if err := cl.Do(context.Background(), http.MethodPost, "/v1/apps/"+args[0]+"/"+action, nil, &a); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", a.Name, a.State)
			return wait.run(cmd, cl, a)
		})
		wait.bind(c, false)
		return c
	}
}

var (
	newStopCmd    = appAction("stop NAME", "Stop an app (its instances go, its instance count stays)", "stop")
	newStartCmd   = appAction("start NAME", "Start a stopped app", "start")
	newRestartCmd = appAction("restart NAME", "Stop and start an app (every instance restarts)", "stop", "start")
)

func newDeleteCmd() *cobra.Command {
	return simple("delete NAME", "Delete an app and its instances", 1, func(cmd *cobra.Command, cl *api.Client, args []string) error {
		if err := cl.Do(context.Background(), http.MethodDelete, "/v1/apps/"+args[0], nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s deleted\n", args[0])
		return nil
	})
}

func newRunTaskCmd() *cobra.Command {
	var command, mem string
	var wait waitFlags
	c := simple("run-task NAME --command CMD", "Run a one-off task in an app's droplet", 1, func(cmd *cobra.Command, cl *api.Client, args []string) error {
		if strings.TrimSpace(command) == "" {
			return usagef("--command is required")
		}
		m := 0
		if mem != "" {
			var err error
			if m, err = parseMB("m", mem); err != nil {
				return err
			}
		}
		var t api.TaskInfo
		if err := cl.Do(context.Background(), http.MethodPost, "/v1/apps/"+args[0]+"/tasks", api.TaskRequest{Command: command, MemoryMB: m}, &t); err != nil {
			return err
		}
		if !wait.on {
			fmt.Fprintf(cmd.OutOrStdout(), "task %s: %s (see `diegolab task %s`; cancel with `diegolab cancel-task %s`)\n", t.GUID, t.State, t.GUID, t.GUID)
			return nil
		}
		fmt.Fprintf(cmd.OutOrStdout(), "task %s: %s, waiting (up to %v)\n", t.GUID, t.State, wait.timeout)
		done, err := waitTask(cl, t.GUID, wait.timeout)
		if err != nil {
			return err
		}
		return printTaskOutcome(cmd, done)
	})
	c.Flags().StringVar(&command, "command", "", "command to run")
	c.Flags().StringVarP(&mem, "memory", "m", "", "memory (default: the app's)")
	wait.bind(c, false)
	return c
}

// waitTask polls a task until it completed.
func waitTask(cl *api.Client, guid string, timeout time.Duration) (api.TaskInfo, error) {
	deadline := time.Now().Add(timeout)
	for {
		var t api.TaskInfo
		if err := cl.Do(context.Background(), http.MethodGet, "/v1/tasks/"+guid, nil, &t); err != nil {
			return t, err
		}
		if t.State == "COMPLETED" || t.State == "RESOLVING" {
			return t, nil
		}
		if time.Now().After(deadline) {
			return t, fmt.Errorf("task %s still %s after %v", guid, t.State, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// printTaskOutcome says how a completed task ended; a failed task is an error.
func printTaskOutcome(cmd *cobra.Command, t api.TaskInfo) error {
	if t.Failed {
		return fmt.Errorf("task %s failed on %s: %s", t.GUID, orDash(t.CellID), t.FailureReason)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "task %s succeeded on %s\n", t.GUID, orDash(t.CellID))
	if t.Result != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "result: %s\n", api.Printable(t.Result))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newTasksCmd() *cobra.Command {
	return simple("tasks", "List tasks: pending, running, and those completed in the last 2 minutes", 0, func(cmd *cobra.Command, cl *api.Client, _ []string) error {
		var ts []api.TaskInfo
		if err := cl.Do(context.Background(), http.MethodGet, "/v1/tasks", nil, &ts); err != nil {
			return err
		}
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "task\tapp\tstate\tcell\tfailed\tdetails")
		for _, t := range ts {
			details := t.FailureReason
			if !t.Failed && t.Result != "" {
				details = "result: " + t.Result
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\n", t.GUID, t.App, t.State, orDash(t.CellID), t.Failed, api.Printable(details))
		}
		return w.Flush()
	})
}

func newTaskCmd() *cobra.Command {
	return simple("task GUID", "Show one task: its state, cell, and result or failure reason", 1, func(cmd *cobra.Command, cl *api.Client, args []string) error {
		var t api.TaskInfo
		if err := cl.Do(context.Background(), http.MethodGet, "/v1/tasks/"+args[0], nil, &t); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "task %s (app %s): %s on %s\ncommand: %s\n", t.GUID, t.App, t.State, orDash(t.CellID), api.Printable(t.Command))
		if t.State == "COMPLETED" || t.State == "RESOLVING" {
			return printTaskOutcome(cmd, t)
		}
		return nil
	})
}

func newCancelTaskCmd() *cobra.Command {
	return simple("cancel-task GUID", "Cancel a pending or running task", 1, func(cmd *cobra.Command, cl *api.Client, args []string) error {
		if err := cl.Do(context.Background(), http.MethodDelete, "/v1/tasks/"+args[0], nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "task %s cancelled\n", args[0])
		return nil
	})
}

func newCellsCmd() *cobra.Command {
	return simple("cells", "List the live cluster's cells", 0, func(cmd *cobra.Command, cl *api.Client, _ []string) error {
		var cs []api.CellInfo
		if err := cl.Do(context.Background(), http.MethodGet, "/v1/cells", nil, &cs); err != nil {
			return err
		}
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "cell\tzone\tpresent\tmemory used/total (free)\tdisk used/total (free)\tcontainers used/total (free)\trep")
		for _, c := range cs {
			u, t := c.Used, c.Capacity
			fmt.Fprintf(w, "%s\t%s\t%v\t%dM/%dM (%dM)\t%dM/%dM (%dM)\t%d/%d (%d)\t%s\n", c.CellID, c.Zone, c.Present,
				u.MemoryMB, t.MemoryMB, t.MemoryMB-u.MemoryMB, u.DiskMB, t.DiskMB, t.DiskMB-u.DiskMB,
				u.Containers, t.Containers, t.Containers-u.Containers, c.RepURL)
		}
		return w.Flush()
	})
}
