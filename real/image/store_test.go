package image

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/diegolab/diegolab/real/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

func startRegistry(t *testing.T) *registry.Server {
	t.Helper()
	s, err := registry.Start(registry.Options{Name: "upstream"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func push(t *testing.T, ref string, layers ...[]registry.Entry) string {
	t.Helper()
	var ls []v1.Layer
	for _, es := range layers {
		l, err := registry.LayerFromEntries(es)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := registry.Build(ls, v1.Config{Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := registry.Push(context.Background(), img, ref, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newStore(t *testing.T, max int64, shift int) *Store {
	t.Helper()
	s, err := New(Config{Dir: filepath.Join(t.TempDir(), "layers"), MaxBytes: max, Shift: shift})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test unpacks whiteouts (mknod, trusted xattrs) and mounts overlayfs: run it as root (CI does)")
	}
}

// The OCI image spec's whiteouts and hard links, unpacked per layer and seen
// through a real overlay mount.
func TestWhiteoutsAndHardLinksThroughOverlay(t *testing.T) {
	needRoot(t)
	reg := startRegistry(t)
	ref := reg.Addr() + "/crafted/layers:1"
	base := []registry.Entry{
		{Path: "a/", Dir: true}, {Path: "a/keep", Data: []byte("keep")}, {Path: "a/gone", Data: []byte("gone")},
		{Path: "b/", Dir: true}, {Path: "b/old", Data: []byte("old")}, {Path: "b/sub/", Dir: true}, {Path: "b/sub/deep", Data: []byte("deep")},
		{Path: "bin/", Dir: true}, {Path: "bin/tool", Data: []byte("#!tool"), Mode: 0o755}, {Path: "bin/alias", Hardlink: "bin/tool"},
		{Path: "bin/sym", Symlink: "tool"},
	}
	top := []registry.Entry{
		{Path: "a/", Dir: true}, {Path: "a/gone", Whiteout: true},
		{Path: "b/", Dir: true}, {Path: "b", Opaque: true}, {Path: "b/new", Data: []byte("new")},
		{Path: "c/", Dir: true}, {Path: "c/one", Data: []byte("1")}, {Path: "c/two", Hardlink: "c/one"},
	}
	digest := push(t, ref, base, top)
	s := newStore(t, 0, 0)
	p, err := s.Pull(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release(p)
	if p.Digest != digest || len(p.Layers) != 2 || p.PulledBytes <= 0 || p.CachedBytes != 0 {
		t.Fatalf("pull = %+v, want digest %s, 2 layers, all fetched", p, digest)
	}
	// The top layer holds overlayfs's whiteout forms.
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(p.Layers[1], "a/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("a/gone in the top layer: %v, mode %o rdev %d; want a 0/0 character device", err, st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(p.Layers[1], "b"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("b's trusted.overlay.opaque = %q, %v; want y", buf[:n], err)
	}
	for _, pair := range [][2]string{{filepath.Join(p.Layers[0], "bin/tool"), filepath.Join(p.Layers[0], "bin/alias")},
		{filepath.Join(p.Layers[1], "c/one"), filepath.Join(p.Layers[1], "c/two")}} {
		a, errA := os.Stat(pair[0])
		b, errB := os.Stat(pair[1])
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			t.Errorf("%s and %s are not one inode (%v, %v)", pair[0], pair[1], errA, errB)
		}
	}
	// Through overlayfs the container sees the merged tree.
	mnt := t.TempDir()
	work := t.TempDir()
	upper, wd := filepath.Join(work, "upper"), filepath.Join(work, "work")
	_ = os.Mkdir(upper, 0o755)
	_ = os.Mkdir(wd, 0o755)
	opts := "lowerdir=" + p.Layers[1] + ":" + p.Layers[0] + ",upperdir=" + upper + ",workdir=" + wd
	if err := unix.Mount("overlay", mnt, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	want := map[string]string{"a/keep": "keep", "b/new": "new", "bin/tool": "#!tool", "bin/alias": "#!tool", "bin/sym": "#!tool", "c/two": "1"}
	for f, w := range want {
		if b, err := os.ReadFile(filepath.Join(mnt, f)); err != nil || string(b) != w {
			t.Errorf("%s = %q, %v; want %q", f, b, err, w)
		}
	}
	for _, f := range []string{"a/gone", "b/old", "b/sub/deep", "b/sub"} {
		if _, err := os.Lstat(filepath.Join(mnt, f)); !os.IsNotExist(err) {
			t.Errorf("%s is visible (%v): the whiteout did not hide it", f, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(mnt, "bin/tool")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/tool mode = %v, %v; want 0755", fi.Mode(), err)
	}
}

// A second pull of the same image downloads nothing; a pull of an image sharing
// the base downloads only its own layer.
func TestLayerCacheSharedByPulls(t *testing.T) {
	needRoot(t)
	reg := startRegistry(t)
	base := []registry.Entry{{Path: "base", Data: []byte(strings.Repeat("b", 4096))}}
	push(t, reg.Addr()+"/app/one:1", base, []registry.Entry{{Path: "one", Data: []byte("1")}})
	push(t, reg.Addr()+"/app/two:1", base, []registry.Entry{{Path: "two", Data: []byte("2")}})
	s := newStore(t, 0, 0)
	ctx := context.Background()
	p1, err := s.Pull(ctx, reg.Addr()+"/app/one:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.Pull(ctx, reg.Addr()+"/app/one:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p2.PulledBytes != 0 || p2.CachedBytes != p1.PulledBytes {
		t.Errorf("second pull fetched %d bytes and found %d cached, want 0 and %d", p2.PulledBytes, p2.CachedBytes, p1.PulledBytes)
	}
	p3, err := s.Pull(ctx, reg.Addr()+"/app/two:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p3.Layers[0] != p1.Layers[0] || p3.CachedBytes == 0 || p3.PulledBytes == 0 || p3.PulledBytes >= p1.PulledBytes {
		t.Errorf("image two: layers %v (one's %v), pulled %d, cached %d; want the base shared", p3.Layers, p1.Layers, p3.PulledBytes, p3.CachedBytes)
	}
	if u := s.Usage(); u.Layers != 3 || u.InUse != 3 {
		t.Errorf("usage = %+v, want 3 layers all in use", u)
	}
	// A restarted rep adopts the complete layers.
	s2, err := New(Config{Dir: s.cfg.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if u := s2.Usage(); u.Layers != 3 || u.Bytes != s.Usage().Bytes {
		t.Errorf("reopened usage = %+v, want the 3 layers (%d bytes)", u, s.Usage().Bytes)
	}
}

// Eviction by size: least recently used idle layers go first, layers in use
// never.
func TestEvictionLRUNeverInUse(t *testing.T) {
	needRoot(t)
	reg := startRegistry(t)
	ctx := context.Background()
	big := func(c string) []registry.Entry {
		return []registry.Entry{{Path: "f" + c, Data: []byte(strings.Repeat(c, 100_000))}}
	}
	for _, n := range []string{"a", "b", "c"} {
		push(t, reg.Addr()+"/img/"+n+":1", big(n))
	}
	// Room for two of the three layers (each ~100 kB unpacked).
	s := newStore(t, 250_000, 0)
	pa, err := s.Pull(ctx, reg.Addr()+"/img/a:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := s.Pull(ctx, reg.Addr()+"/img/b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Release(pa)
	s.Release(pb)
	// Touch a again so that b is the least recently used.
	pa2, err := s.Pull(ctx, reg.Addr()+"/img/a:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Release(pa2)
	pc, err := s.Pull(ctx, reg.Addr()+"/img/c:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pb.Layers[0]); !os.IsNotExist(err) {
		t.Errorf("b's layer still on disk (%v): it was the least recently used", err)
	}
	for _, d := range []string{pa.Layers[0], pc.Layers[0]} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s evicted: %v", d, err)
		}
	}
	// With c in use and the bound below one layer, only a goes.
	s.cfg.MaxBytes = 1
	s.evict()
	if _, err := os.Stat(pc.Layers[0]); err != nil {
		t.Errorf("the layer in use was evicted: %v", err)
	}
	if u := s.Usage(); u.Layers != 1 || u.InUse != 1 {
		t.Errorf("usage = %+v, want only the layer in use", u)
	}
	s.Release(pc)
	if u := s.Usage(); u.Layers != 0 || u.Bytes != 0 {
		t.Errorf("after the last release usage = %+v, want empty", u)
	}
}

// Under a user namespace the owners are shifted while unpacking.
func TestShiftedOwners(t *testing.T) {
	needRoot(t)
	reg := startRegistry(t)
	push(t, reg.Addr()+"/img/owned:1", []registry.Entry{{Path: "home/", Dir: true, UID: 0}, {Path: "home/f", Data: []byte("x"), UID: 2000, GID: 2000}})
	s := newStore(t, 0, 100000)
	p, err := s.Pull(context.Background(), reg.Addr()+"/img/owned:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]uint32{"home": 100000, "home/f": 102000} {
		fi, err := os.Lstat(filepath.Join(p.Layers[0], f))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != want || st.Gid != want {
			t.Errorf("%s owned by %d:%d, want %d:%d", f, st.Uid, st.Gid, want, want)
		}
	}
}

// A pull from a registry that is down fails with a clear error and leaves
// nothing behind.
func TestPullDuringOutage(t *testing.T) {
	needRoot(t)
	reg := startRegistry(t)
	push(t, reg.Addr()+"/img/x:1", []registry.Entry{{Path: "x", Data: []byte("x")}})
	reg.SetOutage(true)
	s := newStore(t, 0, 0)
	_, err := s.Pull(context.Background(), reg.Addr()+"/img/x:1", nil)
	if err == nil || !strings.Contains(err.Error(), "failed to pull image") || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("pull during the outage: %v", err)
	}
	if u := s.Usage(); u.Layers != 0 {
		t.Errorf("usage after a failed pull = %+v", u)
	}
}

// A layer whose bytes do not match its digest (a registry serving corrupt
// data) fails the pull and is not kept.
func TestTamperedLayerRefused(t *testing.T) {
	needRoot(t)
	blobs := t.TempDir()
	reg, err := registry.Start(registry.Options{Name: "upstream", BlobDir: blobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	l, err := registry.LayerFromEntries([]registry.Entry{{Path: "f", Data: []byte(strings.Repeat("a", 10000))}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := registry.Build([]v1.Layer{l}, v1.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr() + "/img/tampered:1"
	if _, err := registry.Push(context.Background(), img, ref, "", ""); err != nil {
		t.Fatal(err)
	}
	// Replace the layer blob with another valid gzip tar of the same size.
	d, _ := l.Digest()
	other, err := registry.LayerFromEntries([]registry.Entry{{Path: "f", Data: []byte(strings.Repeat("b", 10000))}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := other.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := new(strings.Builder)
	if _, err := io.Copy(buf, rc); err != nil {
		t.Fatal(err)
	}
	size, _ := l.Size()
	if int64(buf.Len()) != size {
		t.Skipf("the substitute layer is %d bytes, the original %d: cannot keep the size", buf.Len(), size)
	}
	if err := os.WriteFile(filepath.Join(blobs, d.Algorithm, d.Hex), []byte(buf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, 0, 0)
	if _, err := s.Pull(context.Background(), ref, nil); err == nil || !strings.Contains(err.Error(), "error verifying sha256") {
		t.Fatalf("pull of a tampered layer: %v, want a digest mismatch", err)
	}
	if s.Has(d.String()) || s.Usage().Layers != 0 {
		t.Errorf("the tampered layer was kept: %+v", s.Usage())
	}
}

// TestHoldAdoptedLayers: a restarted cell's store adopts the layers on disk with no
// reference; a container it re-adopts holds its image's layers with Hold, and they
// survive an eviction to nothing until released. Hold of a layer the cache no longer
// has holds nothing.
func TestHoldAdoptedLayers(t *testing.T) {
	needRoot(t)
	reg := startRegistry(t)
	ctx := context.Background()
	push(t, reg.Addr()+"/img/a:1", []registry.Entry{{Path: "fa", Data: []byte(strings.Repeat("a", 50_000))}})
	push(t, reg.Addr()+"/img/b:1", []registry.Entry{{Path: "fb", Data: []byte(strings.Repeat("b", 50_000))}})
	s := newStore(t, 0, 0)
	pa, err := s.Pull(ctx, reg.Addr()+"/img/a:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := s.Pull(ctx, reg.Addr()+"/img/b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The rep dies; a new one opens the cache and re-adopts a's container only.
	s2, err := New(Config{Dir: s.cfg.Dir, MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	held, ok := s2.Hold(pa.Digest, pa.Layers)
	if !ok || held.Digest != pa.Digest {
		t.Fatalf("Hold(a) = %+v, %v; want a's layers held", held, ok)
	}
	s2.evict()
	if _, err := os.Stat(pa.Layers[0]); err != nil {
		t.Errorf("a held, yet evicted: %v", err)
	}
	if _, err := os.Stat(pb.Layers[0]); !os.IsNotExist(err) {
		t.Errorf("b not held, yet still on disk (%v)", err)
	}
	if _, ok := s2.Hold(pb.Digest, pb.Layers); ok {
		t.Error("Hold(b) after b was evicted: ok, want not ok")
	}
	if _, ok := s2.Hold(pa.Digest, []string{filepath.Join(t.TempDir(), filepath.Base(pa.Layers[0]))}); ok {
		t.Error("Hold of a layer outside the cache's directory: ok, want not ok")
	}
	s2.Release(held)
	if _, err := os.Stat(pa.Layers[0]); !os.IsNotExist(err) {
		t.Errorf("a released above the bound, yet still on disk (%v)", err)
	}
}
