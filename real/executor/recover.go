package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	gorunc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// Adopt decides about one running container a previous process of the executor
// left (Recover): ok takes it over, log then receives its output.
type Adopt func(id string, meta json.RawMessage) (log func(LogLine), ok bool)

// Recover takes over the containers a previous process of this executor left
// running in StateDir (a rep killed and restarted, as Diego's rep finds Garden's
// containers again): each one whose init and port proxy still run and that adopt
// accepts is returned RUNNING, with its port mappings unchanged (the proxy served
// them all along) and its output going to adopt's log from now on. Everything else
// a previous process left is cleaned up as Cleanup does. Containers of this process
// are left alone.
//
// An adopted container's init is not this process's child, so its exit status
// cannot be collected: its Exit says it ended, with Code -1 (and OOMKilled when the
// kernel killed it at its limit).
func (e *Executor) Recover(ctx context.Context, adopt Adopt) ([]*Container, error) {
	cdir := filepath.Join(e.cfg.StateDir, "containers")
	ents, err := os.ReadDir(cdir)
	if err != nil {
		return nil, fmt.Errorf("executor: recover: %w", err)
	}
	keep := map[string]bool{}
	var adopted []*Container
	for _, ent := range ents {
		id := ent.Name()
		if _, err := e.Get(id); err == nil {
			keep[id] = true // this process's own
			continue
		}
		c, why := e.adopt(ctx, id, adopt)
		if c == nil {
			e.log.Info("not re-adopting a previous container; cleaning it up", "container", id, "why", why)
			continue
		}
		e.mu.Lock()
		e.containers[id] = c
		e.mu.Unlock()
		keep[id] = true
		adopted = append(adopted, c)
		e.log.Info("re-adopted a running container", "container", id, "pid", c.pid, "ports", c.ports)
	}
	errs := e.cleanupLeftovers(ctx, keep)
	if len(errs) > 0 {
		return adopted, fmt.Errorf("executor: recover: %w", errors.Join(errs...))
	}
	return adopted, nil
}

// adopt builds the Container for a previous process's container id, or says why
// it cannot be taken over.
func (e *Executor) adopt(ctx context.Context, id string, adopt Adopt) (*Container, string) {
	bundle := e.bundleDir(id)
	rec, err := readContainerRecord(bundle)
	if err != nil {
		return nil, "no container record: " + err.Error()
	}
	if rec.ID != id {
		return nil, fmt.Sprintf("its record names %q", rec.ID)
	}
	st, err := e.runc.State(ctx, id)
	if err != nil {
		return nil, "runc state: " + err.Error()
	}
	if st.Status != "running" {
		return nil, "runc says " + st.Status
	}
	if rec.InitPid <= 0 || procStartTime(rec.InitPid) != rec.InitStart {
		return nil, "its init has exited"
	}
	if len(rec.Ports) > 0 && (rec.Proxy == nil || !rec.Proxy.alive()) {
		return nil, "its port proxy has exited"
	}
	log, ok := adopt(id, rec.Meta)
	if !ok {
		return nil, "refused by the caller"
	}
	c := &Container{
		ex: e,
		spec: ContainerSpec{ID: id, MemoryMB: rec.MemoryMB, DiskMB: rec.DiskMB, MaxPids: rec.MaxPids, Log: log,
			Meta: rec.Meta},
		bundle:     bundle,
		cgroupPath: e.cgroupParent + "/" + id,
		nsFD:       -1,
		state:      StateRunning,
		rootfs:     rec.Rootfs,
		pid:        rec.InitPid,
		ports:      rec.Ports,
		exitCh:     make(chan struct{}),
	}
	for _, p := range rec.Ports {
		c.spec.Ports = append(c.spec.Ports, p.ContainerPort)
	}
	exited, err := watchPid(rec.InitPid, rec.InitStart)
	if err != nil {
		return nil, err.Error()
	}
	if rec.Proxy != nil {
		if c.proxy, err = adoptPortProxy(*rec.Proxy, bundle); err != nil {
			return nil, err.Error()
		}
		// The output pipes, from the proxy that held them.
		for _, fd := range rec.Proxy.HeldFDs {
			f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/%d", rec.Proxy.Pid, fd), os.O_RDONLY, 0)
			if err != nil {
				for _, h := range c.held {
					h.Close()
				}
				return nil, "reopening its output pipe: " + err.Error()
			}
			c.held = append(c.held, f)
		}
	}
	var logsDone <-chan struct{}
	if len(c.held) == 2 {
		logsDone = c.startLogReaders(c.held[0], c.held[1])
	} else {
		done := make(chan struct{})
		close(done)
		logsDone = done
	}
	go func() {
		<-exited
		at := time.Now()
		select {
		case <-logsDone:
		case <-time.After(logDrainTimeout):
		}
		c.exited(Exit{At: at, Code: -1, Reason: "exited (status unknown: the container was re-adopted, its init is not this process's child)"})
	}()
	return c, ""
}

// cleanupLeftovers removes what previous processes left in StateDir, except the
// containers in keep: runc containers, port proxies, mounts, bundles and cgroups.
func (e *Executor) cleanupLeftovers(ctx context.Context, keep map[string]bool) []error {
	var errs []error
	gone := map[string]bool{}
	if listed, err := e.runc.List(ctx); err != nil {
		errs = append(errs, fmt.Errorf("runc list: %w", err))
	} else {
		for _, rc := range listed {
			if keep[rc.ID] {
				continue
			}
			if rc.Status == "running" || rc.Status == "created" || rc.Status == "paused" {
				_ = e.runc.Kill(ctx, rc.ID, int(syscall.SIGKILL), &gorunc.KillOpts{All: true})
			}
			if err := e.runc.Delete(ctx, rc.ID, &gorunc.DeleteOpts{Force: true}); err != nil {
				errs = append(errs, fmt.Errorf("runc delete %s: %w", rc.ID, err))
			}
			gone[rc.ID] = true
		}
	}
	cdir := filepath.Join(e.cfg.StateDir, "containers")
	ents, _ := os.ReadDir(cdir)
	for _, ent := range ents {
		if keep[ent.Name()] {
			continue
		}
		if err := killRecordedProxy(filepath.Join(cdir, ent.Name())); err != nil {
			errs = append(errs, err)
		}
		gone[ent.Name()] = true
	}
	// Proxies whose record was never written (a process killed in Create).
	for _, p := range e.proxiesUnder() {
		if !keep[filepath.Base(p.bundle)] {
			_ = unix.Kill(p.pid, unix.SIGKILL)
		}
	}
	if len(keep) == 0 {
		if err := unmountAll(cdir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ent := range ents {
		if keep[ent.Name()] {
			continue
		}
		b := filepath.Join(cdir, ent.Name())
		if err := unmountAll(b); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(b); err != nil {
			errs = append(errs, err)
		}
	}
	if len(keep) == 0 {
		if err := removeCgroupTree(e.cgroups, e.cgroupParent); err != nil {
			errs = append(errs, err)
		}
		e.mu.Lock()
		e.parentPidsSet = false // the next Create makes the parent again
		e.mu.Unlock()
		// The shared /diegolab parent goes when the last executor leaves it.
		for _, d := range cgroupDirs(e.cgroups, "/diegolab") {
			_ = unix.Rmdir(d)
		}
	} else {
		ids := make([]string, 0, len(gone))
		for id := range gone {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if len(cgroupExists(e.cgroups, e.cgroupParent+"/"+id)) > 0 {
				if err := removeCgroupTree(e.cgroups, e.cgroupParent+"/"+id); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errs
}

// runningProxy is a port proxy process found in /proc.
type runningProxy struct {
	pid    int
	bundle string
}

// proxiesUnder lists the port proxy processes serving containers of this
// executor's StateDir (by their --container argument), sorted by pid.
func (e *Executor) proxiesUnder() []runningProxy {
	prefix := filepath.Join(e.cfg.StateDir, "containers") + "/"
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []runningProxy
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		f, err := os.Open("/proc/" + ent.Name() + "/cmdline")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(f, 8192))
		f.Close()
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if len(args) < 4 || args[1] != PortProxyCommand || args[2] != "--container" || !strings.HasPrefix(args[3], prefix) {
			continue
		}
		if procStartTime(pid) == 0 {
			continue // a zombie
		}
		out = append(out, runningProxy{pid: pid, bundle: args[3]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}
