package executor

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// buildProbe builds testdata/sysprobe (static) into a fresh app directory.
func buildProbe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "sysprobe"), "./testdata/sysprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	return dir
}

// TestHardening: the isolation table's second half. Seccomp is active in filter
// mode; a new user namespace (the way in to namespaced-root kernel surface) is
// refused both by busybox's unshare and by the raw syscall, and so are io_uring and
// keyctl; the kernel's keys file is masked and /proc/sys read-only.
func TestHardening(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	app := buildProbe(t)
	script := strings.Join([]string{
		`grep '^Seccomp:' /proc/self/status | tr -s '\t ' ' '`,
		`unshare -U id >/dev/null 2>&1 && echo unshare-U=allowed || echo unshare-U=refused`,
		`unshare -Ur id >/dev/null 2>&1 && echo unshare-Ur=allowed || echo unshare-Ur=refused`,
		`unshare -n true >/dev/null 2>&1 && echo unshare-n=allowed || echo unshare-n=refused`,
		`/home/vcap/app/sysprobe`,
		`test -s /proc/keys && echo keys=visible || echo keys=masked`,
		`(echo 1 > /proc/sys/kernel/sysrq) 2>/dev/null && echo procsys=writable || echo procsys=readonly`,
		`hostname other 2>/dev/null && echo sethostname=allowed || echo sethostname=refused`,
	}, "\n")
	x, l, _ := run(t, ex, ContainerSpec{ID: "hard", MemoryMB: 64, AppDir: app, Command: script})
	if x.Code != 0 {
		t.Fatalf("exit = %+v, output %q", x, l.all())
	}
	for _, want := range []string{
		"OUT Seccomp: 2",
		"OUT unshare-U=refused", "OUT unshare-Ur=refused", "OUT unshare-n=refused",
		"OUT keys=masked", "OUT procsys=readonly", "OUT sethostname=refused",
	} {
		if !l.has(want) {
			t.Errorf("missing %q in %q", want, l.all())
		}
	}
	for _, p := range []string{"io_uring_setup", "keyctl", "unshare_user", "unshare_net"} {
		found := false
		for _, line := range l.all() {
			if strings.HasPrefix(line, "OUT "+p+"=") {
				found = true
				if !strings.HasPrefix(line, "OUT "+p+"=refused") {
					t.Errorf("%s", line)
				}
			}
		}
		if !found {
			t.Errorf("probe %s did not report (output %q)", p, l.all())
		}
	}
}

// allocatedBytes is the disk space allocated to the files under dir on dir's own file
// system, not entering the mounts below it (the quota's loop mount, the rootfs): what
// the host gives the directory, whatever other tests write to the same file system
// meanwhile (its free space moved by tens of MiB under CI's parallel packages).
func allocatedBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var root unix.Stat_t
	if err := unix.Stat(dir, &root); err != nil {
		t.Fatal(err)
	}
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		if st.Dev != root.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		n += st.Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDiskQuota: a container with DiskMB 16 sees a 16 MB root; writing 64 MiB
// fails with ENOSPC inside; the state dir took at most the quota from the host file
// system (plus a little file system metadata), and the loop device and its mount go
// with the container.
func TestDiskQuota(t *testing.T) {
	for _, mode := range []RootfsMode{RootfsAuto, RootfsCopy} {
		t.Run(string(mode), func(t *testing.T) {
			ex, state := newTestExecutor(t, mode)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			before := allocatedBytes(t, state)
			l := newLogs()
			c, err := ex.Create(ctx, ContainerSpec{ID: "quota", MemoryMB: 64, DiskMB: 16, Log: l.fn, Command: strings.Join([]string{
				`echo "size=$(df -k / | awk 'NR==2 {print $2}')"`,
				`dd if=/dev/zero of=/home/vcap/fill bs=1M count=64 2>/tmp/dd.err; echo "dd=$?"`,
				`grep -q 'No space left on device' /tmp/dd.err && echo enospc=yes`,
				`echo "wrote=$(du -m /home/vcap/fill | cut -f1)"`,
				`sleep 600`,
			}, "\n")})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := l.waitLine(ctx, "OUT enospc=yes"); err != nil {
				t.Fatal(err)
			}
			lost := (allocatedBytes(t, state) - before) >> 20
			t.Logf("output %q; the state dir took %d MiB more of the host's disk", l.all(), lost)
			if lost > 16+8 {
				t.Errorf("the host lost %d MiB for a 16 MB quota", lost)
			}
			for _, line := range l.all() {
				var kb, mb int
				if n, _ := parseAfter(line, "OUT size="); n >= 0 {
					kb = n
					if kb > 16<<10 || kb < 8<<10 {
						t.Errorf("df inside shows %d KiB, want about 16 MiB", kb)
					}
				}
				if n, _ := parseAfter(line, "OUT wrote="); n >= 0 {
					mb = n
					if mb > 16 {
						t.Errorf("wrote %d MiB past a 16 MB quota", mb)
					}
				}
			}
			if err := c.Destroy(ctx); err != nil {
				t.Fatal(err)
			}
			if mps, err := mountsUnder(state); err != nil || len(mps) > 0 {
				t.Fatalf("mounts left after Destroy: %v %v", mps, err)
			}
			if out, _ := exec.Command("losetup", "-j", filepath.Join(c.bundle, "disk.img")).CombinedOutput(); len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("loop device left: %s", out)
			}
		})
	}
}

func parseAfter(line, prefix string) (int, bool) {
	v, ok := strings.CutPrefix(line, prefix)
	if !ok {
		return -1, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return -1, false
	}
	return n, true
}

// TestParentPidsCeiling: two containers, each allowed 30 pids, under a parent
// ceiling of 40: together they never hold more than 40, and the parent refuses
// forks although neither child reached its own limit.
func TestParentPidsCeiling(t *testing.T) {
	requireHost(t)
	ex0, _ := newTestExecutor(t, RootfsAuto)
	ex, err := New(Config{StateDir: t.TempDir(), StackDir: ex0.cfg.StackDir, ParentMaxPids: 40})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := ex.Cleanup(ctx); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cs []*Container
	var ls []*logs
	defer func() {
		for _, l := range ls {
			t.Logf("output %q", l.all())
		}
	}()
	for _, id := range []string{"bomb-a", "bomb-b"} {
		l := newLogs()
		ls = append(ls, l)
		c, err := ex.Create(ctx, ContainerSpec{ID: id, MemoryMB: 64, MaxPids: 30, Log: l.fn,
			Command: `i=0; while [ $i -lt 25 ]; do sleep 600 & i=$((i+1)); done; echo forked; sleep 600`})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		time.Sleep(300 * time.Millisecond)
	}
	parent := filepath.Join(cgroupRoot, "pids", ex.cgroupParent)
	if ex.CgroupVersion() == CgroupV2 {
		parent = filepath.Join(cgroupRoot, ex.cgroupParent)
	}
	if b, err := os.ReadFile(filepath.Join(parent, "pids.max")); err != nil || strings.TrimSpace(string(b)) != "40" {
		t.Fatalf("parent pids.max = %q, %v; want 40", b, err)
	}
	// Each child wants 27 pids (25 sleepers, the shell, the init), below its own
	// limit of 30: any refused fork is the parent's ceiling at work. Where the
	// kernel counts it (the parent's pids.events on v2, the forking child's on
	// v1) differs, so the refusals of all three are summed.
	deadline := time.Now().Add(10 * time.Second)
	var refused int64
	for time.Now().Before(deadline) && refused == 0 {
		refused = 0
		for _, p := range []string{ex.cgroupParent, cs[0].cgroupPath, cs[1].cgroupPath} {
			n, err := pidsMaxEvents(ex.CgroupVersion(), p)
			if err != nil {
				t.Fatal(err)
			}
			refused += n
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(parent, "pids.current"))
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Logf("parent pids.current %d, forks refused under the ceiling %d", cur, refused)
	if cur > 40 {
		t.Errorf("parent holds %d pids, ceiling 40", cur)
	}
	if refused == 0 {
		t.Errorf("the parent ceiling never refused a fork (50 sleepers wanted, 40 allowed)")
	}
	for _, c := range cs {
		if err := c.Destroy(ctx); err != nil {
			t.Error(err)
		}
	}
}

func TestParentPidsLimit(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		pidMax int
		want   int
	}{
		{Config{}, 32768, 8192},                           // unknown cell size: a quarter of the host
		{Config{MaxContainers: 4}, 32768, 4 * 1024},       // a full small cell at the default per-container limit
		{Config{MaxContainers: 249}, 4194304, 249 * 1024}, // Garden's default cell on a large pid_max
		{Config{MaxContainers: 249}, 32768, 8192},         // ... capped at a quarter of a small one
		{Config{ParentMaxPids: 40}, 32768, 40},
	} {
		if got := parentPidsLimit(&tc.cfg, tc.pidMax); got != tc.want {
			t.Errorf("parentPidsLimit(%+v, %d) = %d, want %d", tc.cfg, tc.pidMax, got, tc.want)
		}
	}
}

// TestUserNamespace: where the kernel allows it, the app's uid 2000 is host uid
// 102000 and its root is no host root; files it writes in its output directory
// belong to the shifted ids on the host.
func TestUserNamespace(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	if !userNSSupported() {
		t.Skip("skipping: the kernel does not allow user namespaces (/proc/sys/user/max_user_namespaces)")
	}
	if !ex.UserNamespace() {
		t.Fatal("the kernel allows user namespaces but the executor did not use one")
	}
	out := searchableTempDir(t)
	app := searchableTempDir(t)
	if err := os.WriteFile(filepath.Join(app, "droplet.txt"), []byte("droplet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := newLogs()
	c, err := ex.Create(ctx, ContainerSpec{ID: "userns", MemoryMB: 64, AppDir: app, OutputDir: out, Log: l.fn,
		Command: `id -u; cat /home/vcap/app/droplet.txt; touch /home/vcap/output/made && touch /home/vcap/own && echo wrote; sleep 600`})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.waitLine(ctx, "OUT wrote"); err != nil {
		t.Fatal(err)
	}
	if !l.has("OUT 2000") || !l.has("OUT droplet") {
		t.Errorf("inside: %q, want uid 2000 and the droplet", l.all())
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Info().Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] != strconv.Itoa(userNSBase+2000) {
			t.Errorf("host view of the container's init: %q, want uid %d", line, userNSBase+2000)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(out, "made"), &st); err != nil || st.Uid != userNSBase+2000 {
		t.Errorf("output file owner on the host: %d (%v), want %d", st.Uid, err, userNSBase+2000)
	}
	if err := c.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
}
