// Command workload is real mode's app for scenarios (`diegolab run SCENARIO --real`):
// one binary, pushed with the binary buildpack next to a workload.json that names the
// scenario's seed, the app's process guid in the scenario and its group's behaviour. An
// instance draws its plan from the run seed and its identity (scenarios/behave, the
// functions the simulator draws through): it waits its drawn start time, then either
// exits 1 (a failed start) or listens on $PORT, and exits 1 after its drawn crash time
// when its group crashes. SIGTERM stops it with status 0.
//
//	workload [-config FILE]             an LRP instance ($INSTANCE_INDEX, $INSTANCE_GUID)
//	workload -task GUID [-config FILE]  a task: runs its drawn duration, exits 1 when drawn to fail
//
// Build it statically (it runs in the busybox stack): make workload.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/diegolab/diegolab/scenarios/behave"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout))
}

func run(args []string, getenv func(string) string, out *os.File) int {
	fs := flag.NewFlagSet("workload", flag.ContinueOnError)
	config := fs.String("config", "", "configuration file (default workload.json next to the binary)")
	task := fs.String("task", "", "run as this task (guid <group>-<n>) instead of an LRP instance")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *config == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "workload:", err)
			return 2
		}
		*config = filepath.Join(filepath.Dir(exe), behave.ConfigFile)
	}
	w, err := behave.ReadWorkload(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "workload:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *task != "" {
		return runTask(ctx, w, *task, out)
	}
	return runInstance(ctx, w, getenv, out)
}

func runTask(ctx context.Context, w behave.Workload, guid string, out *os.File) int {
	d, failed, err := w.TaskPlan(guid)
	if err != nil {
		fmt.Fprintln(os.Stderr, "workload:", err)
		return 2
	}
	fmt.Fprintf(out, "workload: task %s runs %v (fails: %v)\n", guid, d, failed)
	if !sleep(ctx, d) {
		return 0
	}
	if failed {
		return 1
	}
	return 0
}

func runInstance(ctx context.Context, w behave.Workload, getenv func(string) string, out *os.File) int {
	index, err := strconv.Atoi(getenv("INSTANCE_INDEX"))
	if err != nil || index < 0 {
		fmt.Fprintf(os.Stderr, "workload: INSTANCE_INDEX %q: want an integer >= 0\n", getenv("INSTANCE_INDEX"))
		return 2
	}
	guid := getenv("INSTANCE_GUID")
	if guid == "" {
		fmt.Fprintln(os.Stderr, "workload: INSTANCE_GUID is not set")
		return 2
	}
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		fmt.Fprintf(os.Stderr, "workload: PORT %q: want a port number\n", port)
		return 2
	}
	plan := w.Plan(index, guid)
	wait := max(plan.StartAfter-w.StartOverhead, 0)
	fmt.Fprintf(out, "workload: %s index %d instance %s: start after %v (waits %v), start fails %v, crashes %v after %v\n",
		w.ProcessGUID, index, guid, plan.StartAfter, wait, plan.StartFails, plan.Crashes, plan.CrashAfter)
	if !sleep(ctx, wait) {
		return 0
	}
	if plan.StartFails {
		fmt.Fprintln(out, "workload: start failed (drawn)")
		return 1
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "workload:", err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%s/%d\n", w.ProcessGUID, index)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	if !plan.Crashes {
		<-ctx.Done()
		return 0
	}
	if !sleep(ctx, plan.CrashAfter) {
		return 0
	}
	fmt.Fprintln(out, "workload: crashing (drawn)")
	return 1
}

// sleep waits d and reports false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
