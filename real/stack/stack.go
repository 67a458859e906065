package stack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Layout constants shared with the executor and build-stack.sh.
const (
	// VcapUID and VcapGID are the unprivileged user that apps run as.
	VcapUID = 2000
	VcapGID = 2000
	// Version names the layout; bump it when Build changes what it writes.
	Version = "diegolab-stack-1"
	// StampFile is written last, at the top of a finished stack.
	StampFile = ".diegolab-stack"
	// DefaultBusybox is where Debian's busybox-static installs the binary.
	DefaultBusybox = "/bin/busybox"
)

// Files written into the stack's /etc.
var etcFiles = map[string]string{
	"etc/passwd":        "root:x:0:0:root:/root:/bin/sh\nvcap:x:2000:2000:vcap:/home/vcap:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
	"etc/group":         "root:x:0:\nvcap:x:2000:\nnogroup:x:65534:\n",
	"etc/hosts":         "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
	"etc/hostname":      "localhost\n",
	"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
	"etc/resolv.conf":   "",
}

// etcOrder lists etcFiles' keys in a fixed order (writing order is irrelevant
// to the result, but deterministic code is easier to reason about).
var etcOrder = []string{"etc/passwd", "etc/group", "etc/hosts", "etc/hostname", "etc/nsswitch.conf", "etc/resolv.conf"}

// Build makes dir a stack built from the busybox binary at busybox (empty
// means DefaultBusybox). It returns quickly when dir already holds a stack of
// the same Version built from the same binary. A directory at dir without a
// matching stamp is replaced.
func Build(ctx context.Context, dir, busybox string) error {
	if busybox == "" {
		busybox = DefaultBusybox
	}
	if dir == "" {
		return errors.New("stack: destination directory is empty")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("stack: destination %q: %w", dir, err)
	}
	sum, err := fileSHA256(busybox)
	if err != nil {
		return fmt.Errorf("stack: busybox binary (install Debian's busybox-static): %w", err)
	}
	want := stamp(sum)
	if got, err := os.ReadFile(filepath.Join(dir, StampFile)); err == nil && string(got) == want {
		return nil
	}
	applets, err := listApplets(ctx, busybox)
	if err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".build-")
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after a successful rename
	if err := populate(tmp, busybox, applets); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, StampFile), []byte(want), 0o644); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	// Replace a stale stack; if another builder won the race with the same
	// stamp, keep theirs.
	if got, err := os.ReadFile(filepath.Join(dir, StampFile)); err == nil && string(got) == want {
		return nil
	}
	if _, err := os.Lstat(dir); err == nil {
		old := dir + ".old-" + filepath.Base(tmp)
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("stack: moving stale stack aside: %w", err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if got, rerr := os.ReadFile(filepath.Join(dir, StampFile)); rerr == nil && string(got) == want {
			return nil
		}
		return fmt.Errorf("stack: installing %s: %w", dir, err)
	}
	return nil
}

// Check reports whether dir holds a finished stack, and what is missing if not.
func Check(dir string) error {
	if _, err := os.ReadFile(filepath.Join(dir, StampFile)); err != nil {
		return fmt.Errorf("stack %s: no stamp file %s (run build-stack.sh or stack.Build): %w", dir, StampFile, err)
	}
	for _, p := range []string{"bin/sh", "bin/busybox", "etc/passwd", "home/vcap/app", "tmp"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return fmt.Errorf("stack %s: missing %s: %w", dir, p, err)
		}
	}
	return nil
}

func stamp(busyboxSum string) string {
	return Version + " busybox-sha256=" + busyboxSum + "\n"
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// listApplets returns the applets' install paths relative to the root
// ("bin/sh", "usr/bin/wget", ...), as `busybox --list-full` prints them.
func listApplets(ctx context.Context, busybox string) ([]string, error) {
	out, err := exec.CommandContext(ctx, busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("stack: %s --list-full: %w", busybox, err)
	}
	var applets []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" {
			continue
		}
		clean := filepath.Clean(p)
		if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
			return nil, fmt.Errorf("stack: busybox applet path %q escapes the stack", p)
		}
		applets = append(applets, clean)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("stack: %s --list-full printed no applets", busybox)
	}
	return applets, nil
}

func populate(root, busybox string, applets []string) error {
	dirs := []struct {
		path string
		mode os.FileMode
		uid  int
	}{
		{"bin", 0o755, 0}, {"sbin", 0o755, 0}, {"usr/bin", 0o755, 0}, {"usr/sbin", 0o755, 0},
		{"etc", 0o755, 0}, {"root", 0o700, 0}, {"proc", 0o555, 0}, {"sys", 0o555, 0},
		{"dev", 0o755, 0}, {"var/tmp", os.ModeSticky | 0o777, 0}, {"tmp", os.ModeSticky | 0o777, 0},
		{"home", 0o755, 0}, {"home/vcap", 0o755, VcapUID}, {"home/vcap/app", 0o755, VcapUID},
	}
	for _, d := range dirs {
		p := filepath.Join(root, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		if err := os.Chmod(p, d.mode); err != nil { // MkdirAll's mode is masked by umask
			return fmt.Errorf("stack: %w", err)
		}
		if d.uid != 0 {
			if err := os.Chown(p, VcapUID, VcapGID); err != nil {
				return fmt.Errorf("stack: %w", err)
			}
		}
	}
	if err := copyFile(busybox, filepath.Join(root, "bin/busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		if a == "bin/busybox" {
			continue
		}
		dst := filepath.Join(root, a)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		// Absolute link target: it resolves inside the container's root.
		if err := os.Symlink("/bin/busybox", dst); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("stack: applet %s: %w", a, err)
		}
	}
	for _, name := range etcOrder {
		if err := os.WriteFile(filepath.Join(root, name), []byte(etcFiles[name]), 0o644); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("stack: copying %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	return os.Chmod(dst, mode)
}
