package executor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// RootfsMode says how a container's writable root file system is made.
type RootfsMode string

const (
	// RootfsAuto tries overlay and falls back to a copy when the overlay
	// mount fails (for example when the state directory is itself on an
	// overlay file system).
	RootfsAuto RootfsMode = "auto"
	// RootfsOverlay mounts overlayfs: the stack is the read-only lower
	// layer, a per-container directory the writable upper layer.
	RootfsOverlay RootfsMode = "overlay"
	// RootfsCopy copies the stack into a per-container directory.
	RootfsCopy RootfsMode = "copy"
)

// prepareRootfs makes bundle/rootfs from stack and returns the mode used. The
// writable part (the overlay's upper and work directories, or the copy) lives in
// layer: the bundle, or the container's quota file system.
func prepareRootfs(mode RootfsMode, stack, bundle, layer string) (RootfsMode, error) {
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return "", err
	}
	if mode == RootfsAuto || mode == RootfsOverlay {
		err := mountOverlay(stack, layer, rootfs)
		if err == nil {
			return RootfsOverlay, nil
		}
		if mode == RootfsOverlay {
			return "", err
		}
	}
	if layer != bundle {
		// The copy goes on the quota file system, seen as the root.
		if err := unix.Mount(filepath.Join(layer), rootfs, "", unix.MS_BIND, ""); err != nil {
			return "", fmt.Errorf("rootfs: bind %s: %w", layer, err)
		}
		if err := os.Chmod(rootfs, 0o755); err != nil {
			return "", err
		}
	}
	if err := copyTree(stack, rootfs); err != nil {
		return "", fmt.Errorf("rootfs: copying stack %s: %w", stack, err)
	}
	return RootfsCopy, nil
}

func mountOverlay(stack, layer, rootfs string) error {
	upper, work := filepath.Join(layer, "upper"), filepath.Join(layer, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", stack, upper, work)
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return fmt.Errorf("rootfs: mount overlay on %s (%s): %w", rootfs, opts, err)
	}
	return nil
}

// copyTree copies the directory src into dst (which exists), keeping
// modes, ownership and symlinks; it handles the file types a stack holds.
func copyTree(src, dst string) error { return copyTreeShifted(src, dst, 0) }

// copyTreeShifted is copyTree with every owner uid and gid moved by shift.
func copyTreeShifted(src, dst string, shift int) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		st, _ := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case fi.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(target, fi.Mode()&(os.ModePerm|os.ModeSticky|os.ModeSetuid|os.ModeSetgid)); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyRegular(p, target, fi.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, fi.Mode().Type())
		}
		if st != nil {
			if err := os.Lchown(target, int(st.Uid)+shift, int(st.Gid)+shift); err != nil {
				return err
			}
		}
		return nil
	})
}

func copyRegular(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, perm)
}

// mountsUnder lists the mount points at or below dir from
// /proc/self/mountinfo, last mounted first (the order to unmount them in: an
// overlay goes before the quota file system that holds its upper layer).
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

// unescapeMountinfo undoes the octal escapes (\040 for a space, ...) that
// mountinfo uses in paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll unmounts every mount at or below dir, deepest first.
func unmountAll(dir string) error {
	mps, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, mp := range mps {
		if err := unix.Unmount(mp, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			// Busy: detach it so the directory can go; the kernel frees it
			// when the last user leaves.
			if err2 := unix.Unmount(mp, unix.MNT_DETACH); err2 != nil && !errors.Is(err2, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err2))
			}
		}
	}
	return errors.Join(errs...)
}
