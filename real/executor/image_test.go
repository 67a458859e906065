package executor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/real/image"
	"github.com/diegolab/diegolab/real/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A container made from a Docker image: the image's layers (whiteouts applied)
// are its root, WorkingDir and Env honoured, and the hardening of droplet
// containers holds (vcap user, user namespace, seccomp, disk quota).
func TestImageContainer(t *testing.T) {
	ex, state := newTestExecutor(t, RootfsAuto)
	reg, err := registry.Start(registry.Options{Name: "upstream"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	base, err := registry.LayerFromDir(sharedStack.dir)
	if err != nil {
		t.Fatal(err)
	}
	app, err := registry.LayerFromEntries([]registry.Entry{
		{Path: "etc/", Dir: true}, {Path: "etc/hosts", Whiteout: true},
		{Path: "srv/", Dir: true}, {Path: "srv/msg", Data: []byte("from the image\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := registry.Build([]v1.Layer{base, app}, v1.Config{Env: []string{"GREETING=hi"}, WorkingDir: "/srv"})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr() + "/test/app:1"
	if _, err := registry.Push(context.Background(), img, ref, "", ""); err != nil {
		t.Fatal(err)
	}
	store, err := image.New(image.Config{Dir: filepath.Join(state, "layers"), Shift: ex.HostID(0)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := store.Pull(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Release(p)
	x, l, _ := run(t, ex, ContainerSpec{ID: "image", MemoryMB: 64, DiskMB: 16, Layers: p.Layers, WorkingDir: p.Config.WorkingDir,
		Env: p.Config.Env, Command: `id -u; pwd; cat msg; echo "$GREETING"; test -e /etc/hosts || echo hosts-whited-out; ` +
			`grep '^Seccomp:' /proc/self/status; dd if=/dev/zero of=/tmp/fill bs=1M count=32 2>&1 | grep -c 'No space left'`})
	if x.Code != 0 {
		t.Fatalf("exit %+v, output %q", x, l.all())
	}
	for _, want := range []string{"OUT 2000", "OUT /srv", "OUT from the image", "OUT hi", "OUT hosts-whited-out", "OUT Seccomp:\t2", "OUT 1"} {
		if !l.has(want) {
			t.Errorf("output %q lacks %q", l.all(), want)
		}
	}
	// The copy root file system cannot apply whiteouts: refused with a clear error.
	exCopy, _ := newTestExecutor(t, RootfsCopy)
	if _, err := exCopy.Create(context.Background(), ContainerSpec{ID: "copy", MemoryMB: 64, Layers: p.Layers, Command: "true"}); err == nil ||
		!strings.Contains(err.Error(), "overlay") {
		t.Errorf("an image container with the copy rootfs: %v, want an error naming overlay", err)
	}
}
