package executor

import (
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/diegolab/diegolab/model"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCPUWeight(t *testing.T) {
	for _, tc := range []struct {
		memMB, weight int
		shares        uint64
	}{
		{64, 1, 10},        // clamped up to 128: 100×128/8192 = 1.5625 → 1; shares 1024×1/100 = 10.24 → 10
		{128, 1, 10},       // same as above
		{256, 3, 30},       // 100×256/8192 = 3.125 → 3; 1024×3/100 = 30.72 → 30
		{1024, 12, 122},    // 100×1024/8192 = 12.5 → 12; 1024×12/100 = 122.88 → 122
		{4096, 50, 512},    // 100×4096/8192 = 50; 1024×50/100 = 512
		{8192, 100, 1024},  // 100×8192/8192 = 100
		{16384, 100, 1024}, // above 8192 → 100
	} {
		t.Run(strconv.Itoa(tc.memMB)+"MB", func(t *testing.T) {
			if got := CPUWeight(tc.memMB); got != tc.weight {
				t.Errorf("CPUWeight(%d) = %d, want %d", tc.memMB, got, tc.weight)
			}
			if got := CPUShares(CPUWeight(tc.memMB)); got != tc.shares {
				t.Errorf("CPUShares = %d, want %d", got, tc.shares)
			}
		})
	}
	if got := CPUShares(0); got != 2 {
		t.Errorf("CPUShares(0) = %d, want the kernel minimum 2", got)
	}
}

func TestValidate(t *testing.T) {
	good := ContainerSpec{ID: "app-0", MemoryMB: 64, Command: "true", Ports: []int{8080}, Env: []string{"INSTANCE_INDEX=0"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid spec rejected: %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*ContainerSpec)
		field string
	}{
		{"empty id", func(s *ContainerSpec) { s.ID = "" }, "ID"},
		{"slash in id", func(s *ContainerSpec) { s.ID = "a/b" }, "ID"},
		{"zero memory", func(s *ContainerSpec) { s.MemoryMB = 0 }, "MemoryMB"},
		{"negative disk", func(s *ContainerSpec) { s.DiskMB = -1 }, "DiskMB"},
		{"negative pids", func(s *ContainerSpec) { s.MaxPids = -5 }, "MaxPids"},
		{"no command", func(s *ContainerSpec) { s.Command = "  " }, "Command"},
		{"root user", func(s *ContainerSpec) { s.User = "root" }, "User"},
		{"relative app dir", func(s *ContainerSpec) { s.AppDir = "app" }, "AppDir"},
		{"port 0", func(s *ContainerSpec) { s.Ports = []int{0} }, "Ports[0]"},
		{"port twice", func(s *ContainerSpec) { s.Ports = []int{8080, 8080} }, "Ports[1]"},
		{"bad env", func(s *ContainerSpec) { s.Env = []string{"1X=2"} }, "Env[0]"},
		{"env without =", func(s *ContainerSpec) { s.Env = []string{"PORT"} }, "Env[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			s.Ports = slices.Clone(good.Ports)
			tc.edit(&s)
			err := s.Validate()
			var ve *model.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("Validate() = %v, want a ValidationError on %s", err, tc.field)
			}
		})
	}
}

// TestBuildSpec checks the security-relevant parts of config.json.
func TestBuildSpec(t *testing.T) {
	s := ContainerSpec{ID: "web-1", MemoryMB: 256, MaxPids: 64, AppDir: "/srv/droplet", Command: "exec httpd -f -p $PORT",
		Ports: []int{8080}, Env: []string{"INSTANCE_INDEX=1", "HOME=/override"}}
	sp := buildSpec(&s, "/state/containers/web-1/rootfs", "/diegolab/x/web-1", true)
	p := sp.Process
	if p.User.UID != 2000 || p.User.GID != 2000 {
		t.Errorf("user = %d:%d, want 2000:2000", p.User.UID, p.User.GID)
	}
	if !p.NoNewPrivileges {
		t.Error("NoNewPrivileges not set")
	}
	c := p.Capabilities
	if c == nil || len(c.Bounding)+len(c.Effective)+len(c.Permitted)+len(c.Inheritable)+len(c.Ambient) != 0 {
		t.Errorf("capabilities = %+v, want none", c)
	}
	if got := p.Args[len(p.Args)-1]; got != s.Command {
		t.Errorf("last arg = %q, want the start command", got)
	}
	for _, want := range []string{"PORT=8080", "INSTANCE_INDEX=1", "HOME=/override", "USER=vcap"} {
		if !slices.Contains(p.Env, want) {
			t.Errorf("env %v lacks %s", p.Env, want)
		}
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range sp.Linux.Namespaces {
		if n.Path != "" {
			t.Errorf("namespace %s joins %s; want a new one", n.Type, n.Path)
		}
		ns = append(ns, n.Type)
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
		if !slices.Contains(ns, want) {
			t.Errorf("namespaces %v lack %s", ns, want)
		}
	}
	r := sp.Linux.Resources
	if *r.Memory.Limit != 256<<20 || *r.Memory.Swap != 256<<20 {
		t.Errorf("memory limit/swap = %d/%d, want %d", *r.Memory.Limit, *r.Memory.Swap, 256<<20)
	}
	if *r.Pids.Limit != 64 {
		t.Errorf("pids = %d, want 64", *r.Pids.Limit)
	}
	if *r.CPU.Shares != 30 { // weight 100×256/8192 = 3 → 1024×3/100 = 30
		t.Errorf("cpu shares = %d, want 30", *r.CPU.Shares)
	}
	var app *specs.Mount
	for i := range sp.Mounts {
		if sp.Mounts[i].Destination == AppDir {
			app = &sp.Mounts[i]
		}
	}
	if app == nil || app.Source != s.AppDir || !slices.Contains(app.Options, "ro") {
		t.Errorf("app mount = %+v, want a read-only bind of %s", app, s.AppDir)
	}
	// Without swap accounting no swap limit is set (runc would reject it).
	if sp2 := buildSpec(&s, "/r", "/c", false); sp2.Linux.Resources.Memory.Swap != nil {
		t.Error("swap limit set without swap accounting")
	}
	// Default pids limit.
	s.MaxPids = 0
	if sp3 := buildSpec(&s, "/r", "/c", false); *sp3.Linux.Resources.Pids.Limit != DefaultMaxPids {
		t.Errorf("default pids = %d, want %d", *sp3.Linux.Resources.Pids.Limit, DefaultMaxPids)
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/x\134y`: `/x\y`, `/t\04`: `/t\04`} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
