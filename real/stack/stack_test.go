package stack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func needBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultBusybox); err != nil {
		t.Skipf("skipping: %s missing (apt-get install -y busybox-static): %v", DefaultBusybox, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: building a stack chowns /home/vcap to uid 2000 and needs root")
	}
}

// TestBuildLayout checks the files a container relies on and that a second
// Build is a no-op (the stamp's modification time does not change).
func TestBuildLayout(t *testing.T) {
	needBusybox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "stack")
	if err := Build(ctx, dir, ""); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode // permission and sticky bits expected
		uid  uint32
	}{
		{"tmp", os.ModeDir | os.ModeSticky | 0o777, 0},
		{"home/vcap", os.ModeDir | 0o755, VcapUID},
		{"home/vcap/app", os.ModeDir | 0o755, VcapUID},
		{"bin/busybox", 0o755, 0},
	} {
		t.Run(tc.path, func(t *testing.T) {
			fi, err := os.Lstat(filepath.Join(dir, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (os.ModeDir | os.ModeSticky | os.ModePerm); got != tc.mode {
				t.Errorf("mode = %v, want %v", got, tc.mode)
			}
			if uid := statUID(fi); uid != tc.uid {
				t.Errorf("uid = %d, want %d", uid, tc.uid)
			}
		})
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q (%v), want /bin/busybox", target, err)
	}
	passwd, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if err != nil || !strings.Contains(string(passwd), "vcap:x:2000:2000:") {
		t.Errorf("etc/passwd lacks vcap uid 2000: %q (%v)", passwd, err)
	}
	st1, _ := os.Stat(filepath.Join(dir, StampFile))
	if err := Build(ctx, dir, ""); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(dir, StampFile))
	if !st1.ModTime().Equal(st2.ModTime()) {
		t.Error("second Build rewrote an up-to-date stack")
	}
}

// TestScriptMatchesBuild checks that build-stack.sh writes the same stamp
// (so either builder accepts the other's stack) and the same entries.
func TestScriptMatchesBuild(t *testing.T) {
	needBusybox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := t.TempDir()
	goDir, shDir := filepath.Join(base, "go"), filepath.Join(base, "sh")
	if err := Build(ctx, goDir, ""); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "sh", "build-stack.sh", shDir).CombinedOutput()
	if err != nil {
		t.Fatalf("build-stack.sh: %v\n%s", err, out)
	}
	a, b := listTree(t, goDir), listTree(t, shDir)
	if len(a) != len(b) {
		t.Fatalf("Go stack has %d entries, script stack %d", len(a), len(b))
	}
	for p, m := range a {
		if b[p] != m {
			t.Errorf("%s: Go %v, script %v", p, m, b[p])
		}
	}
	// Build accepts the script's stack as up to date.
	st1, _ := os.Stat(filepath.Join(shDir, StampFile))
	if err := Build(ctx, shDir, ""); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(shDir, StampFile))
	if !st1.ModTime().Equal(st2.ModTime()) {
		t.Error("Build rebuilt a stack the script had just built")
	}
}

func listTree(t *testing.T, root string) map[string]os.FileMode {
	t.Helper()
	m := map[string]os.FileMode{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		m[rel] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
